"""The WebRTC side of the emulator: calls answered with aiortc.

A call is one :class:`~liveloop_emulator.engine.RealtimeFrontEnd` reached three ways: the client's
``oai-events`` data channel (JSON events both ways), its audio track (48 kHz Opus in, resampled
to 24 kHz for turn detection and transcription), and any number of sideband WebSockets attached
with ``/v1/realtime?call_id=``. The model's speech goes out on a real-time audio track
(:class:`SpeechTrack`) fed by a :class:`PlayoutBuffer`, the engine's ``OutputAudio`` sink for
WebRTC, which also emits ``output_audio_buffer.started/stopped`` and reports what a clear cut.

A headless call (``Emulator.open_headless_call``) is the same call without a peer: no data
channel and no tracks, its playout buffer drained in real time by a :class:`HeadlessPlayout`
(the audio is counted and discarded), the user's microphone replaced by
:meth:`WebRTCCall.speak` (PCM fed straight to the engine). Tests of sideband clients use it.

ICE: no STUN or TURN server is contacted. aioice leaves ``127.0.0.1`` out of the host addresses
it gathers, so on a machine with only a loopback interface two peers would find no candidate
pair. :func:`offer_loopback_candidates` adds a loopback host candidate to one peer connection's
gathering (per connection: nothing global changes); the emulator applies it to its own peer
when it serves on a loopback or wildcard address.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import ipaddress
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import av
import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription

from .engine import AudioTarget, ClearedAudio, new_id
from .engine import events as ev
from .realtime import RealtimeFrontEnd

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

    from .server import EmulatorSession

__all__ = [
    "DATA_CHANNEL_LABEL",
    "MAX_SDP_BYTES",
    "PREBUFFER_MS",
    "SAMPLE_RATE",
    "HeadlessPlayout",
    "PlayoutBuffer",
    "SpeechTrack",
    "WebRTCCall",
    "check_offer",
    "loopback_addresses",
    "new_call_id",
    "offer_loopback_candidates",
]

SAMPLE_RATE = 48000
"""The media tracks' sample rate (Opus)."""
FRAME_SAMPLES = 960  # 20 ms at 48 kHz
FRAME_BYTES = FRAME_SAMPLES * 2
FRAME_MS = 20
BYTES_PER_MS = SAMPLE_RATE * 2 // 1000  # PCM16 mono at 48 kHz
PREBUFFER_MS = 100
"""Audio an item must have queued before its playout starts, so playout never starves."""
MAX_SDP_BYTES = 64 * 1024
"""Largest accepted SDP offer."""
DATA_CHANNEL_LABEL = "oai-events"
GATHER_TIMEOUT = 5.0
CLOSE_TIMEOUT = 0.3

Notify = Callable[[ev.EngineEvent], None]


def new_call_id() -> str:
    """A call id in OpenAI's style (``rtc_`` and hex)."""
    return "rtc_" + new_id("x")[2:] + new_id("x")[2:12]


# ------------------------------------------------------------------------------- the offer


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


# --------------------------------------------------------------------------- output audio


@dataclass
class _Segment:
    target: AudioTarget
    resampler: av.AudioResampler
    pcm: bytearray = field(default_factory=bytearray)  # PCM16 48 kHz mono
    read: int = 0
    ended: bool = False
    started: bool = False


def _pcm_frame(pcm: bytes, rate: int) -> av.AudioFrame:
    samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = rate
    return frame


def _frame_bytes(frames: list[av.AudioFrame]) -> bytes:
    return b"".join(f.to_ndarray().astype("<i2").tobytes() for f in frames)


class PlayoutBuffer:
    """The engine's ``OutputAudio`` sink for WebRTC: a server-side playout buffer.

    The engine paces generation itself (``paced = False``: real time divided by its speed
    factor); the buffer keeps what was generated until :class:`SpeechTrack` plays it, 20 ms at
    a time in real time. An item starts playing once :data:`PREBUFFER_MS` of it is queued (or
    it is complete). ``notify`` gets ``output_audio_buffer.started`` when a response's audio
    starts playing and ``.stopped`` when the buffer has drained; :meth:`clear` drops what is
    queued and reports how much of each item was played.
    """

    paced = False

    def __init__(self, notify: Notify) -> None:
        self._notify = notify
        self._queue: deque[_Segment] = deque()
        self._muted: set[str] = set()
        self._playing: str | None = None  # the response whose audio is being played

    @property
    def playing(self) -> str | None:
        """The id of the response whose audio is playing, if any."""
        return self._playing

    def queued_ms(self) -> float:
        """Audio waiting to be played, in ms."""
        return sum(len(s.pcm) - s.read for s in self._queue) / BYTES_PER_MS

    def _segment(self, target: AudioTarget) -> _Segment | None:
        for segment in self._queue:
            if segment.target == target:
                return segment
        return None

    async def write(self, pcm: bytes, target: AudioTarget) -> None:
        if target.item_id in self._muted:
            return
        segment = self._segment(target)
        if segment is None:
            segment = _Segment(
                target, av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            )
            self._queue.append(segment)
        segment.pcm += _frame_bytes(segment.resampler.resample(_pcm_frame(pcm, 24000)))

    async def end(self, target: AudioTarget) -> None:
        segment = self._segment(target)
        if segment is None:
            return
        with contextlib.suppress(Exception):
            segment.pcm += _frame_bytes(segment.resampler.resample(None))
        segment.ended = True

    async def clear(self) -> ClearedAudio:
        playing = self._playing
        cut = tuple((segment.target, segment.read // BYTES_PER_MS) for segment in self._queue)
        for segment in self._queue:
            self._muted.add(segment.target.item_id)
        self._queue.clear()
        self._playing = None
        return ClearedAudio(response_id=playing, cut=cut)

    def next_frame(self) -> bytes:
        """The next 20 ms to play (PCM16 48 kHz mono; silence when nothing plays)."""
        out = bytearray()
        while len(out) < FRAME_BYTES and self._queue:
            segment = self._queue[0]
            available = len(segment.pcm) - segment.read
            if not segment.started:
                if available < PREBUFFER_MS * BYTES_PER_MS and not segment.ended:
                    break
                segment.started = True
                response_id = segment.target.response_id
                if self._playing != response_id:
                    if self._playing is not None:
                        self._notify(ev.PlayoutStopped(self._playing))
                    self._playing = response_id
                    self._notify(ev.PlayoutStarted(response_id))
            take = min(FRAME_BYTES - len(out), available)
            out += segment.pcm[segment.read : segment.read + take]
            segment.read += take
            if segment.read >= len(segment.pcm):
                if not segment.ended:
                    break  # generation is behind: fill with silence
                self._queue.popleft()
                self._muted.discard(segment.target.item_id)
        if not self._queue and self._playing is not None:
            self._notify(ev.PlayoutStopped(self._playing))
            self._playing = None
        if len(out) < FRAME_BYTES:
            out += bytes(FRAME_BYTES - len(out))
        return bytes(out)


class SpeechTrack(MediaStreamTrack):
    """An audio track playing a :class:`PlayoutBuffer` in real time: 20 ms frames at 48 kHz,
    silence when nothing is playing."""

    kind = "audio"

    def __init__(self, buffer: PlayoutBuffer) -> None:
        super().__init__()
        self._buffer = buffer
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._pts += FRAME_SAMPLES
            wait = self._start + self._pts / SAMPLE_RATE - now
            if wait > 0:
                await asyncio.sleep(wait)
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(self._buffer.next_frame())
        frame.pts = self._pts
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


class HeadlessPlayout:
    """Plays a :class:`PlayoutBuffer` into the void: 20 ms frames in real time, as a
    :class:`SpeechTrack` would, for a call without a peer. ``played_ms`` counts the time
    it has played (silence included); ``speech_ms`` the frames that carried audio."""

    def __init__(self, buffer: PlayoutBuffer) -> None:
        self._buffer = buffer
        self.played_ms = 0
        self.speech_ms = 0

    async def run(self) -> None:
        """Drain the buffer until cancelled."""
        start = time.monotonic()
        frames = 0
        while True:
            frame = self._buffer.next_frame()
            frames += 1
            self.played_ms += FRAME_MS
            if any(frame):
                self.speech_ms += FRAME_MS
            wait = start + frames * FRAME_MS / 1000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)


# --------------------------------------------------------------------------------- the call


TextHandler = Callable[["EmulatorSession", RealtimeFrontEnd, str], Awaitable[None]]


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
                pcm = _frame_bytes(resampler.resample(frame))
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
