"""The WebRTC floor: a raw aiortc peer doing the media liveloop's ``openai/webrtc`` does.

Per session: one ``RTCPeerConnection`` (DTLS/SRTP, Opus both ways by aiortc), the offer
posted to ``/v1/realtime/calls`` with the same session as every contender (``httpx``
multipart, as OpenAI takes it), the ``oai-events`` data channel parsed with ``json``.
The app's side is the same as liveloop's: 24 kHz PCM16 in (40 ms every 40 ms, played out
in 20 ms frames at 24 kHz: aiortc's Opus encoder resamples them to 48 kHz itself) and
24 kHz PCM16 out (each received 48 kHz stereo frame resampled with PyAV).
Nothing else: no session logic, no events for the app beyond the audio, no recovery.
"""

from __future__ import annotations

import asyncio
import fractions
import functools
import json
import time
from typing import Any

from _clients import SESSION, LagProbe, paced_sender, say_response
from _common import KEY, SAMPLE_RATE, Emulator

FRAME_SAMPLES = SAMPLE_RATE // 50  # 20 ms


def _track_class() -> Any:
    import av
    from aiortc import MediaStreamTrack

    class PacedTrack(MediaStreamTrack):  # type: ignore[misc]
        """Queued 24 kHz PCM played out in 20 ms frames at real-time pace (silence when
        nothing is queued), as a microphone track does."""

        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.buffer = bytearray()
            self._start: float | None = None
            self._pts = 0

        async def recv(self) -> Any:
            now = time.monotonic()
            if self._start is None:
                self._start = now
            else:
                self._pts += FRAME_SAMPLES
                wait = self._start + self._pts / SAMPLE_RATE - now
                if wait > 0:
                    await asyncio.sleep(wait)
            size = FRAME_SAMPLES * 2
            chunk = bytes(self.buffer[:size]).ljust(size, b"\x00")
            del self.buffer[:size]
            frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
            frame.planes[0].update(chunk)
            frame.pts = self._pts
            frame.sample_rate = SAMPLE_RATE
            frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
            return frame

    return PacedTrack


@functools.cache
def _tls() -> Any:
    """One TLS context for every call's offer, as a careful httpx user keeps one: a fresh
    ``httpx.AsyncClient()`` loads the CA bundle again (about 800 KB and 20 ms per call)."""
    import httpx

    return httpx.create_ssl_context()


def _loopback_only(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


class AiortcPeerClient:
    """One raw aiortc call against the emulator (``open``, ``active``, ``close``)."""

    name = "aiortc"

    async def open(self, emu: Emulator) -> None:
        import aioice.ice
        import av
        import httpx
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        # As liveloop does for a provider on 127.0.0.1: no STUN server, one host candidate.
        aioice.ice.get_host_addresses = _loopback_only
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.track = _track_class()()
        self.pc.addTrack(self.track)
        self.channel = self.pc.createDataChannel("oai-events")
        opened = asyncio.Event()
        self.channel.on("open", opened.set)
        self.remote: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        @self.pc.on("track")  # type: ignore[untyped-decorator]
        def on_track(track: Any) -> None:
            if not self.remote.done():
                self.remote.set_result(track)

        self.down = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        files = {
            "sdp": (None, self.pc.localDescription.sdp.encode(), "application/sdp"),
            "session": (None, json.dumps(SESSION).encode(), "application/json"),
        }
        async with httpx.AsyncClient(verify=_tls()) as client:
            reply = await client.post(
                f"{emu.base_url}/realtime/calls",
                files=files,
                headers={"Authorization": f"Bearer {KEY}"},
            )
        reply.raise_for_status()
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=reply.text, type="answer"))
        await asyncio.wait_for(opened.wait(), 10)
        self.incoming = await asyncio.wait_for(self.remote, 10)
        # Read the remote track from the start, as a client must (frames would pile up).
        self.probe: LagProbe | None = None
        self.responses = 0
        self.reader = asyncio.create_task(self._receive())

    async def _receive(self) -> None:
        while True:
            pcm = self._resample(await self.incoming.recv())
            if self.probe is not None:
                self.probe.audio(f"r{self.responses}", len(pcm))

    def _resample(self, frame: Any) -> bytes:
        """A received 48 kHz stereo frame as 24 kHz PCM16 mono."""
        return b"".join(memoryview(o.planes[0])[: o.samples * 2] for o in self.down.resample(frame))

    def _send_pcm(self, pcm24: bytes) -> None:
        self.track.buffer += pcm24

    async def active(self, until: float, probe: LagProbe, text: str) -> None:
        def on_message(message: str | bytes) -> None:
            event = json.loads(message)
            if event.get("type") == "response.done":
                self.responses += 1
                if time.perf_counter() < until:
                    self._create(text)

        async def send(pcm: bytes) -> None:
            self._send_pcm(pcm)

        self.channel.on("message", on_message)
        self.probe = probe
        self._create(text)
        try:
            await paced_sender(send, until, probe)
        finally:
            self.probe = None
            self.channel.remove_all_listeners("message")

    def _create(self, text: str) -> None:
        self.channel.send(
            json.dumps({"type": "response.create", "response": say_response(text, "a")})
        )

    async def close(self) -> None:
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)
        await self.pc.close()
