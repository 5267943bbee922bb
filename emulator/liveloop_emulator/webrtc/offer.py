"""The offer side of a WebRTC call: checking an SDP offer before answering it, and ICE on
loopback.

ICE: no STUN or TURN server is contacted. aioice leaves ``127.0.0.1`` out of the host addresses
it gathers, so on a machine with only a loopback interface two peers would find no candidate
pair. :func:`offer_loopback_candidates` adds a loopback host candidate to one peer connection's
gathering (per connection: nothing global changes); the emulator applies it to its own peer
when it serves on a loopback or wildcard address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.sdp import SessionDescription

__all__ = ["check_offer", "loopback_addresses", "offer_loopback_candidates"]


def check_offer(text: str) -> str | None:
    """Why an SDP offer cannot be answered (None when it looks answerable).

    The checks run before any peer connection exists: the session line, at least one audio or
    data-channel section, ICE credentials and a DTLS fingerprint for each section in use, and
    Opus in each audio section.
    """
    if not text.lstrip().startswith("v=0"):
        return "Invalid SDP offer: expected a session description starting with 'v=0'."
    try:
        parsed = SessionDescription.parse(text)
    except Exception as exc:  # the parser raises assorted errors on garbage
        return f"Invalid SDP offer: {exc or type(exc).__name__}."
    sections = [m for m in parsed.media if m.kind in ("audio", "application") and m.port != 0]
    if not sections:
        return "Invalid SDP offer: it has no audio or data channel section."
    for media in sections:
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            return f"Invalid SDP offer: the {media.kind} section has no ICE credentials."
        if media.dtls is None or not media.dtls.fingerprints:
            return f"Invalid SDP offer: the {media.kind} section has no DTLS fingerprint."
        if media.kind == "audio" and not any(
            codec.mimeType.lower() == "audio/opus" for codec in media.rtp.codecs
        ):
            return "Invalid SDP offer: the audio section does not offer Opus."
    return None


# ------------------------------------------------------------------------------ loopback ICE


def loopback_addresses(host: str) -> list[str]:
    """The loopback addresses a peer serving on ``host`` should offer as ICE candidates."""
    if host in ("", "0.0.0.0", "localhost"):
        return ["127.0.0.1"]
    if host == "::":
        return ["127.0.0.1", "::1"]
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return []
    return [str(address)] if address.is_loopback else []


def offer_loopback_candidates(pc: RTCPeerConnection, addresses: list[str] | None = None) -> None:
    """Make ``pc`` gather a host candidate on each loopback address too.

    aioice's host-address discovery skips ``127.0.0.1`` (and ``::1``), so on a machine with
    only a loopback interface ICE finds no pair. This wraps the candidate gathering of this
    one connection's ICE gatherers; it touches no module state, so other peer connections in
    the process are unaffected. Call it after the connection's transports exist (after
    ``setRemoteDescription`` on the answering side, after ``addTrack``/``createDataChannel`` on
    the offering side) and before ``setLocalDescription``. It relies on aiortc's
    ``RTCIceGatherer._connection`` and aioice's ``Connection`` internals (aiortc 1.16, aioice
    0.13); the emulator's tests check the answer carries the loopback candidate.
    """
    wanted = list(addresses) if addresses is not None else ["127.0.0.1"]
    gatherers: list[Any] = []
    for transceiver in pc.getTransceivers():
        transport = transceiver.sender.transport
        if transport is not None:
            gatherers.append(transport.transport.iceGatherer)
    if pc.sctp is not None:
        gatherers.append(pc.sctp.transport.transport.iceGatherer)
    seen: set[int] = set()
    for gatherer in gatherers:
        connection = gatherer._connection
        if id(connection) in seen or getattr(connection, "_liveloop_loopback", False):
            continue
        seen.add(id(connection))
        connection._liveloop_loopback = True
        connection.gather_candidates = _gather_with_loopback(
            connection, connection.gather_candidates, wanted
        )


def _gather_with_loopback(
    connection: Any, original: Callable[[], Awaitable[None]], addresses: list[str]
) -> Callable[[], Awaitable[None]]:
    async def gather() -> None:
        await original()
        have = {candidate.host for candidate in connection.local_candidates}
        missing = [address for address in addresses if address not in have]
        if missing:
            extra = await connection.get_component_candidates(component=1, addresses=missing)
            connection._local_candidates.extend(extra)

    return gather
