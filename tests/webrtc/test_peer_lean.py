"""The per-call memory openai/webrtc spares aiortc (``lean.py``), on a real call."""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.rtcdtlstransport import SRTP_PROFILES
from OpenSSL import SSL

from liveloop import SessionConfig
from liveloop_emulator import Emulator
from liveloop_openai_webrtc import WebRTCConnector
from liveloop_openai_webrtc.lean import drop_rtp_history, release_dtls_buffers


async def test_dtls_contexts_release_their_buffers() -> None:
    pc = RTCPeerConnection()
    release_dtls_buffers(pc)
    [certificate] = pc._RTCPeerConnection__certificates  # type: ignore[attr-defined]
    context = certificate._create_ssl_context(SRTP_PROFILES)
    assert context.set_mode(0) & SSL.MODE_RELEASE_BUFFERS
    await pc.close()


async def test_a_call_keeps_no_sent_packets_and_still_carries_audio() -> None:
    async with Emulator(speed=4.0) as emu:
        config = SessionConfig(
            provider="openai", transport="webrtc", api_key="sk-test", base_url=emu.base_url
        )
        connection = await WebRTCConnector().open(config)
        try:
            [sender] = connection._pc.getSenders()
            history = sender._RTCRtpSender__rtp_history  # type: ignore[attr-defined]
            await connection.audio.send_audio(b"\x00\x01" * 4800)  # 200 ms
            await connection.audio.track.wait_for_room(0)  # all of it taken by the encoder
            await asyncio.wait_for(_packets_sent(sender, 20), 10)
            assert connection._pc.connectionState == "connected"
            assert len(history) == 0
        finally:
            await connection.close()


async def _packets_sent(sender: RTCRtpSender, count: int) -> None:
    # aiortc reports sends only through its stats: poll them until ``count`` went out.
    while True:
        stats = [s for s in (await sender.getStats()).values() if s.type == "outbound-rtp"]
        if stats and stats[0].packetsSent >= count:
            return
        await asyncio.sleep(0.02)


def test_nothing_to_change_is_harmless() -> None:
    class Bare:
        pass

    release_dtls_buffers(Bare())  # type: ignore[arg-type]
    drop_rtp_history(Bare())  # type: ignore[arg-type]
