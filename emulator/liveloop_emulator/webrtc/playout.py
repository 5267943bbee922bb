"""Output audio of a call: the server-side playout buffer (the engine's sink for WebRTC),
the real-time track that plays it, and the headless playout of a call without a peer."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ..engine import AudioTarget, ClearedAudio
from ..engine import events as ev

__all__ = [
    "BYTES_PER_MS",
    "FRAME_MS",
    "FRAME_SAMPLES",
    "PREBUFFER_MS",
    "SAMPLE_RATE",
    "HeadlessPlayout",
    "Notify",
    "PlayoutBuffer",
    "SpeechTrack",
    "frame_bytes",
]

SAMPLE_RATE = 48000
"""The media tracks' sample rate (Opus)."""
FRAME_SAMPLES = 960  # 20 ms at 48 kHz
FRAME_BYTES = FRAME_SAMPLES * 2
FRAME_MS = 20
BYTES_PER_MS = SAMPLE_RATE * 2 // 1000  # PCM16 mono at 48 kHz
PREBUFFER_MS = 100
"""Audio an item must have queued before its playout starts, so playout never starves."""
MAX_LATE_S = 1.0
"""How long playout waits for the audio of a playing item that the engine has not
generated yet (see :meth:`PlayoutBuffer.wait_fed`)."""

Notify = Callable[[ev.EngineEvent], None]


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


def frame_bytes(frames: list[av.AudioFrame]) -> bytes:
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
        self._fed = asyncio.Event()  # set whenever audio is added, ended or cleared

    @property
    def playing(self) -> str | None:
        """The id of the response whose audio is playing, if any."""
        return self._playing

    def queued_ms(self) -> float:
        """Audio waiting to be played, in ms."""
        return sum(len(s.pcm) - s.read for s in self._queue) / BYTES_PER_MS

    def starved(self) -> bool:
        """Whether an item is playing and its next 20 ms are not generated yet."""
        if not self._queue:
            return False
        segment = self._queue[0]
        return (
            segment.started and not segment.ended and len(segment.pcm) - segment.read < FRAME_BYTES
        )

    async def wait_fed(self) -> None:
        """Wait while :meth:`starved` (at most :data:`MAX_LATE_S`).

        The engine's generation is simulated and runs ahead of real time; when it is late
        all the same, the machine is loaded, and a provider would not have paused mid-word.
        So the track waits for the audio (it plays it late, in one piece) instead of
        playing a gap into the middle of a reply, which would stretch its tone speech.
        """
        if not self.starved():
            return  # the usual case: no timer per frame
        try:
            async with asyncio.timeout(MAX_LATE_S):
                while self.starved():
                    self._fed.clear()
                    await self._fed.wait()
        except TimeoutError:
            pass  # the engine stalled: play what there is

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
        segment.pcm += frame_bytes(segment.resampler.resample(_pcm_frame(pcm, 24000)))
        self._fed.set()

    async def end(self, target: AudioTarget) -> None:
        segment = self._segment(target)
        if segment is None:
            return
        with contextlib.suppress(Exception):
            segment.pcm += frame_bytes(segment.resampler.resample(None))
        segment.ended = True
        self._fed.set()

    async def clear(self) -> ClearedAudio:
        playing = self._playing
        cut = tuple((segment.target, segment.read // BYTES_PER_MS) for segment in self._queue)
        for segment in self._queue:
            self._muted.add(segment.target.item_id)
        self._queue.clear()
        self._playing = None
        self._fed.set()
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
        await self._buffer.wait_fed()
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
            await self._buffer.wait_fed()
            frame = self._buffer.next_frame()
            frames += 1
            self.played_ms += FRAME_MS
            if any(frame):
                self.speech_ms += FRAME_MS
            wait = start + frames * FRAME_MS / 1000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
