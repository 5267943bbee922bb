"""Helpers for the ``liveloop serve`` tests: a counting fake provider, real SDP offers, and
an aiortc peer that plays the browser."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from liveloop_emulator import tones
from liveloop_openai_webrtc import OutgoingAudioTrack, PcmResampler, host_addresses

KEY = "sk-serve-test-0123456789abcdef"
"""The server's provider key in these tests: it must never reach a response or a log line."""

FAKE_ANSWER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
)


@dataclass
class FakeProvider:
    """A Starlette stand-in for OpenAI that records every request it gets."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    calls_status: int = 201
    error_message: str = f"Incorrect API key provided: {KEY}."

    def app(self) -> Starlette:
        async def calls(request: Request) -> Response:
            self.requests.append(("POST", request.url.path))
            self.bodies.append(await request.body())
            if self.calls_status >= 300:
                return JSONResponse(
                    {"error": {"message": self.error_message, "code": "invalid_api_key"}},
                    status_code=self.calls_status,
                )
            n = len(self.requests)
            return Response(
                FAKE_ANSWER,
                status_code=201,
                media_type="application/sdp",
                headers={"Location": f"/v1/realtime/calls/rtc_fake{n}"},
            )

        async def hangup(request: Request) -> Response:
            self.requests.append(("POST", request.url.path))
            return Response(status_code=200)

        async def client_secrets(request: Request) -> Response:
            self.requests.append(("POST", request.url.path))
            self.bodies.append(await request.body())
            return JSONResponse(
                {"value": "ek_fake_secret_1234", "expires_at": 1_900_000_000, "session": {}}
            )

        return Starlette(
            routes=[
                Route("/v1/realtime/calls", calls, methods=["POST"]),
                Route("/v1/realtime/calls/{id}/hangup", hangup, methods=["POST"]),
                Route("/v1/realtime/client_secrets", client_secrets, methods=["POST"]),
            ]
        )

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app()))

    @property
    def calls_made(self) -> int:
        return len(self.requests)


@pytest.fixture
def fake_provider() -> FakeProvider:
    return FakeProvider()


async def real_offer() -> str:
    """A real WebRTC offer (audio + the oai-events data channel), as a browser makes it."""
    pc = RTCPeerConnection()
    try:
        pc.createDataChannel("oai-events")
        pc.addTrack(OutgoingAudioTrack())
        offer = await pc.createOffer()
        with host_addresses(["127.0.0.1"]):
            await pc.setLocalDescription(offer)
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


class Browser:
    """An aiortc peer that does what the browser example does: microphone track out,
    ``oai-events`` data channel, remote audio in (kept as 24 kHz PCM16)."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.mic = OutgoingAudioTrack()
        self.channel = self.pc.createDataChannel("oai-events")
        self.events: list[dict[str, Any]] = []
        self.heard = bytearray()
        self._resampler = PcmResampler(24000)
        self._reader: asyncio.Task[None] | None = None
        self.pc.addTrack(self.mic)

        @self.channel.on("message")
        def on_message(message: str | bytes) -> None:
            import json

            with contextlib.suppress(ValueError):
                self.events.append(json.loads(message))

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self._reader = asyncio.ensure_future(self._read(track))

    async def offer(self) -> str:
        offer = await self.pc.createOffer()
        with host_addresses(["127.0.0.1"]):
            await self.pc.setLocalDescription(offer)
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def speak(self, text: str, silence_ms: int = 1200) -> None:
        pcm = tones.encode(text, 48000) + b"\x00\x00" * (48 * silence_ms)
        self.mic.write(pcm)

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                self.heard += self._resampler.frame(frame)

    def heard_text(self) -> str:
        return tones.decode(bytes(self.heard), 24000)

    def loud(self) -> bool:
        samples = np.frombuffer(bytes(self.heard), dtype=np.int16)
        return bool(samples.size) and int(np.abs(samples).max()) > 3000

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        self.mic.stop()
        await self.pc.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    peer = Browser()
    try:
        yield peer
    finally:
        await peer.close()
