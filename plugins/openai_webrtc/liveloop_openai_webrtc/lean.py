"""Per-call memory aiortc spends that an audio call to the provider never uses.

aiortc offers no setting for either, so both reach into its internals and do nothing
(a debug line) when an aiortc version no longer has them; the call works the same.
Measured in bench/FIXES.md (WebRTC): about 50 KB and 70 KB per call.
"""

from __future__ import annotations

from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender
from OpenSSL import SSL

from liveloop import get_logger

__all__ = ["drop_rtp_history", "release_dtls_buffers"]

_log = get_logger("liveloop.openai_webrtc")


def release_dtls_buffers(pc: RTCPeerConnection) -> None:
    """Have OpenSSL free each DTLS connection's read and write buffers (16 and 32 KB)
    while no record is in flight: after the handshake DTLS only carries the data
    channel's few events a second (the media goes through SRTP)."""
    certificates = getattr(pc, "_RTCPeerConnection__certificates", None)
    if not isinstance(certificates, list):
        _log.debug("aiortc keeps no certificates to set DTLS options on")
        return
    for certificate in certificates:
        create = getattr(certificate, "_create_ssl_context", None)
        if create is None:
            _log.debug("aiortc creates no DTLS context to set options on")
            return
        certificate._create_ssl_context = _lean_context(create)


def _lean_context(create: Any) -> Any:
    def lean(*args: Any, **kwargs: Any) -> Any:
        context = create(*args, **kwargs)
        context.set_mode(SSL.MODE_RELEASE_BUFFERS)
        return context

    return lean


class _NoHistory(dict[int, Any]):
    """An RTP history that keeps nothing."""

    def __setitem__(self, key: int, value: Any) -> None:
        pass


def drop_rtp_history(sender: RTCRtpSender) -> None:
    """Keep no copies of sent audio packets: aiortc stores the last 128 for
    retransmission, which WebRTC negotiates for video only (Opus offers no NACK)."""
    if isinstance(getattr(sender, "_RTCRtpSender__rtp_history", None), dict):
        sender._RTCRtpSender__rtp_history = _NoHistory()  # type: ignore[attr-defined]
    else:
        _log.debug("aiortc keeps no RTP history to drop")
