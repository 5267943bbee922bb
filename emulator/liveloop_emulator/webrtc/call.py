"""One WebRTC call: its peer connection, ``oai-events`` data channel, audio tracks and
sideband WebSockets, all on one Realtime front end.

A headless call (``Emulator.open_headless_call``) is the same call without a peer: no data
channel and no tracks, its playout buffer drained in real time by a
:class:`~.playout.HeadlessPlayout`, the user's microphone replaced by :meth:`WebRTCCall.speak`
(PCM fed straight to the engine). Tests of sideband clients use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import av
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from starlette.websockets import WebSocket

from ..engine import events as ev
from ..engine import new_id
from ..realtime import RealtimeFrontEnd
from ..records import EmulatorSession
from .offer import offer_loopback_candidates
from .playout import FRAME_MS, HeadlessPlayout, PlayoutBuffer, SpeechTrack, frame_bytes

__all__ = [
    "CLOSE_TIMEOUT",
    "DATA_CHANNEL_LABEL",
    "GATHER_TIMEOUT",
    "TextHandler",
    "WebRTCCall",
    "answer",
    "new_call_id",
    "peer_connection",
]

DATA_CHANNEL_LABEL = "oai-events"
GATHER_TIMEOUT = 5.0
CLOSE_TIMEOUT = 0.3


def new_call_id() -> str:
    """A call id in OpenAI's style (``rtc_`` and hex)."""
    return "rtc_" + new_id("x")[2:] + new_id("x")[2:12]


TextHandler = Callable[[EmulatorSession, RealtimeFrontEnd, str], Awaitable[None]]


class WebRTCCall:
    """One live WebRTC call: its peer connection, data channel, tracks and sideband sockets.

    ``session`` is the call's record in ``Emulator.sessions`` (client and server events from
    the data channel and every sideband, in order). A headless call has no peer connection
    (``pc`` is None) and plays its output through ``headless``.
    """

    def __init__(
        self,
        call_id: str,
        session: EmulatorSession,
        engine: RealtimeFrontEnd,
        buffer: PlayoutBuffer,
        pc: RTCPeerConnection | None,
        on_text: TextHandler,
    ) -> None:
        self.id = call_id
        self.session = session
        self.engine = engine
        self.buffer = buffer
        self.pc = pc
        self.channel: RTCDataChannel | None = None
        self.sidebands: set[WebSocket] = set()
        self.closed = asyncio.Event()
        self.created_at = time.time()
        self.headless: HeadlessPlayout | None = None
        """The playout of a headless call (None for a call with a peer)."""
        self._on_text = on_text
        self._inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._spawn(self._consume())

    # -- plumbing

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run ``coro`` for the call's lifetime (cancelled when the call ends)."""
        return self._spawn(coro)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def send(self, event: dict[str, Any]) -> None:
        """The engine's ``send``: record the event and deliver it to every attached client."""
        if self.session.closed:
            return
        self.session.server_events.append(event)
        text = json.dumps(event)
        channel = self.channel
        if channel is not None and channel.readyState == "open":
            with contextlib.suppress(Exception):
                channel.send(text)
        for ws in list(self.sidebands):
            try:
                await asyncio.wait_for(ws.send_text(text), 1.0)
            except Exception:
                self.sidebands.discard(ws)

    def notify(self, event: ev.EngineEvent) -> None:
        """Emit an engine event from synchronous code (the playout buffer)."""
        if not self.session.closed:
            self._spawn(self.engine.on_event(event))

    def session_created(self) -> dict[str, Any]:
        """A ``session.created`` event for one newly attached client (recorded)."""
        event = self.engine.session_created()
        self.session.server_events.append(event)
        return event

    # -- data channel

    def attach_channel(self, channel: RTCDataChannel) -> None:
        """Serve the protocol on the client's ``oai-events`` channel."""
        if channel.label != DATA_CHANNEL_LABEL or self.channel is not None:
            return
        self.channel = channel

        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            self._inbox.put_nowait(message)

        @channel.on("close")
        def on_close() -> None:
            self._spawn(self.hangup())

        if channel.readyState == "open":
            self._channel_open()
        else:
            channel.on("open", self._channel_open)

    def _channel_open(self) -> None:
        channel = self.channel
        if channel is not None and not self.session.closed:
            with contextlib.suppress(Exception):
                channel.send(json.dumps(self.session_created()))

    async def _consume(self) -> None:
        while True:
            message = await self._inbox.get()
            if self.session.closed:
                return
            if isinstance(message, str):
                await self._on_text(self.session, self.engine, message)
            else:
                await self.engine.error(
                    "Binary messages are not supported: send each event as a JSON text message.",
                    code="invalid_value",
                )

    # -- audio in

    def attach_track(self, track: MediaStreamTrack) -> None:
        """Feed the client's audio track to the engine (turn detection, transcription)."""
        if track.kind == "audio":
            self._spawn(self._pump(track))

    async def _pump(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=24000)
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while not self.session.closed:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                pcm = frame_bytes(resampler.resample(frame))
                if pcm:
                    await self.engine.feed_audio(pcm)

    async def speak(self, pcm: bytes, *, pace: float | None = None) -> None:
        """Feed user audio (PCM16 24 kHz mono) to the engine, as the caller's microphone would.

        It goes in 20 ms chunks; with ``pace`` set they are spaced at ``pace`` times real time,
        else they go as fast as the engine takes them. Returns once all of it was fed (or the
        call ended).
        """
        step = 24000 * FRAME_MS // 1000 * 2
        start = time.monotonic()
        for index, offset in enumerate(range(0, len(pcm), step)):
            if self.session.closed:
                return
            await self.engine.feed_audio(pcm[offset : offset + step])
            if pace:
                wait = start + (index + 1) * FRAME_MS / 1000 / pace - time.monotonic()
                await asyncio.sleep(max(0.0, wait))
            else:
                await asyncio.sleep(0)

    def play_headless(self) -> HeadlessPlayout:
        """Drain the playout buffer in real time, with no peer (a headless call)."""
        if self.headless is None:
            self.headless = HeadlessPlayout(self.buffer)
            self._spawn(self.headless.run())
        return self.headless

    # -- closing

    async def hangup(self) -> None:
        """End the call: closes the session record, the peer connection and the sidebands."""
        await self.session.close(1000)

    async def teardown(self) -> None:
        """Release everything (called by the session record's ``close``; bounded)."""
        if self.closed.is_set():
            return
        self.closed.set()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        channel = self.channel
        if channel is not None:
            with contextlib.suppress(Exception):
                channel.close()
        if self.pc is not None:
            # Never cancel pc.close(): aiortc closes itself when the remote ends DTLS, and a
            # cancelled second close() would cancel the future the first one resolves.
            closing = asyncio.ensure_future(self.pc.close())
            closing.add_done_callback(_quiet)
            await asyncio.wait({closing}, timeout=CLOSE_TIMEOUT)
        for ws in list(self.sidebands):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1000, reason="call ended"), 0.2)
        self.sidebands.clear()


def _quiet(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def answer(
    pc: RTCPeerConnection, offer_sdp: str, track: SpeechTrack, loopback: list[str]
) -> str:
    """Answer ``offer_sdp`` on ``pc`` (adding ``track``); returns the answer SDP with all its
    candidates (gathering bounded by ``GATHER_TIMEOUT``)."""
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    if any(t.kind == "audio" for t in pc.getTransceivers()):
        pc.addTrack(track)
    answer_description = await pc.createAnswer()
    if loopback:
        offer_loopback_candidates(pc, loopback)
    await asyncio.wait_for(pc.setLocalDescription(answer_description), GATHER_TIMEOUT)
    return str(pc.localDescription.sdp)


def peer_connection() -> RTCPeerConnection:
    """The emulator's peer: no STUN or TURN server."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))
