"""Audio over WebRTC tracks: PCM16 in and out, resampled, paced in real time."""

from __future__ import annotations

import asyncio
import collections
import fractions
import time
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from liveloop import ConnectionLost, get_logger
from liveloop.events import AssistantAudio

from .attribution import TrackAttribution, is_quiet

__all__ = ["OutgoingAudioTrack", "PcmResampler", "WebRTCMedia"]

_log = get_logger("liveloop.openai_webrtc")

TRACK_RATE = 48000
"""Opus on WebRTC runs at 48 kHz."""
FRAME_MS = 20
"""One RTP packet of audio."""
MAX_BUFFERED_MS = 1000
"""How much user audio may wait for the outgoing track before ``send_audio`` waits."""
MAX_RECEIVED_FRAMES = 500
"""Assistant audio (20 ms frames) kept for ``receive_audio`` before the oldest is dropped."""
PREROLL_FRAMES = 3
"""Frames kept from before ``output_audio_buffer.started`` (RTP may outrun the event)."""
TAIL_SECONDS = 0.3
"""Audio still taken after ``output_audio_buffer.stopped`` (the event may outrun RTP)."""
MAX_TAIL_SECONDS = 1.0
"""After :data:`TAIL_SECONDS`, sound (not silence) is still taken up to this long: on a
loaded machine the track lags the event by more than the usual tail."""


class PcmResampler:
    """Streaming PCM16 conversion between sample rates (and from stereo frames to mono)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)

    def pcm(self, pcm: bytes, rate: int) -> bytes:
        """Convert PCM16 mono at ``rate`` to PCM16 mono at :attr:`rate`."""
        if rate == self.rate:
            return pcm
        return self.frame(pcm_frame(pcm, rate))

    def frame(self, frame: av.AudioFrame) -> bytes:
        """Convert a decoded frame (any layout, any rate) to PCM16 mono at :attr:`rate`."""
        frame.pts = None
        # The first plane holds the samples (padded past them): no numpy array per frame.
        return b"".join(
            memoryview(out.planes[0])[: out.samples * 2] for out in self._resampler.resample(frame)
        )


def pcm_frame(pcm: bytes, rate: int, pts: int | None = None) -> av.AudioFrame:
    """A PCM16 mono frame holding ``pcm`` at ``rate`` (time base ``1/rate``)."""
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.planes[0].update(pcm)
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, rate)
    return frame


class OutgoingAudioTrack(MediaStreamTrack):
    """The user's audio as a WebRTC track: 20 ms frames at ``rate``, paced in real time.

    :meth:`write` appends PCM16 mono at ``rate``; the track plays it out at real-time speed
    and sends silence whenever nothing is queued (a live microphone never stops). aiortc's
    Opus encoder takes frames at any rate (it resamples to 48 kHz stereo itself), so audio
    at the session's own rate needs no resampling of ours on the way out.
    """

    kind = "audio"

    def __init__(self, rate: int = TRACK_RATE) -> None:
        super().__init__()
        self.rate = rate
        self._frame_samples = rate * FRAME_MS // 1000
        self._buffer = bytearray()
        self._drained = asyncio.Event()
        self._start: float | None = None
        self._pts = 0

    @property
    def buffered_ms(self) -> float:
        """User audio queued and not yet sent."""
        return len(self._buffer) / 2 / self.rate * 1000

    def write(self, pcm: bytes) -> None:
        """Queue PCM16 mono audio at :attr:`rate` for sending."""
        self._buffer += pcm

    async def wait_for_room(self, limit_ms: float) -> None:
        """Wait until at most ``limit_ms`` of audio is queued (or the track ended)."""
        while self.buffered_ms > limit_ms and self.readyState == "live":
            self._drained.clear()
            await self._drained.wait()

    def stop(self) -> None:
        super().stop()
        self._drained.set()

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._pts += self._frame_samples
            wait = self._start + self._pts / self.rate - now
            if wait > 0:
                await asyncio.sleep(wait)
        size = self._frame_samples * 2
        chunk = bytes(self._buffer[:size])
        del self._buffer[:size]
        self._drained.set()
        return pcm_frame(chunk.ljust(size, b"\x00"), self.rate, self._pts)


class WebRTCMedia:
    """The :class:`~liveloop.transport.MediaChannel` of a WebRTC peer connection.

    ``send_audio`` takes PCM16 mono at the session's input rate (any chunk size) and
    queues it on :class:`OutgoingAudioTrack` (aiortc's encoder resamples it to 48 kHz).
    Backpressure, not loss: when more than :data:`MAX_BUFFERED_MS` is queued (a producer
    faster than real time), ``send_audio`` waits until the track has sent enough, so audio
    is never dropped and never lags more than that bound. After the connection is lost,
    ``send_audio`` drops audio (counted in :attr:`dropped_ms`) and returns at once.

    ``receive_audio`` returns the remote track's audio as PCM16 mono at the session's
    output rate, while the provider says its output audio buffer is playing
    (``output_audio_buffer.started`` until ``stopped`` / ``cleared``): between responses
    the track carries only silence, which is not assistant speech. Each chunk comes as an
    :class:`~liveloop.events.AssistantAudio` with the provider's response and item ids
    (see :mod:`liveloop_openai_webrtc.attribution`).
    """

    def __init__(self, *, input_rate: int, output_rate: int) -> None:
        self.input_rate = input_rate
        self.output_rate = output_rate
        self.track = OutgoingAudioTrack(input_rate)
        self.dropped_ms = 0.0
        """User audio dropped because the connection was gone."""
        self.received_dropped_frames = 0
        """Assistant frames dropped because nobody read them in time."""
        self._from_track = PcmResampler(output_rate)
        self._received: asyncio.Queue[AssistantAudio] = asyncio.Queue()
        self.attribution = TrackAttribution(output_rate * 2 / 1000)
        self._preroll: collections.deque[bytes] = collections.deque(maxlen=PREROLL_FRAMES)
        self._playing = False
        self._tail_until = 0.0
        self._tail_max = 0.0
        self._lost: ConnectionLost | None = None
        self._ready = asyncio.Event()
        """Set when a chunk is queued or the connection is lost."""
        self._reader: asyncio.Task[None] | None = None

    # -- MediaChannel ---------------------------------------------------------------------

    async def send_audio(self, pcm: bytes) -> None:
        """Queue user audio for the outgoing track (waits while the queue is full)."""
        if self._lost is not None or self.track.readyState != "live":
            self.dropped_ms += len(pcm) / 2 / self.input_rate * 1000
            return
        self.track.write(pcm)
        await self.track.wait_for_room(MAX_BUFFERED_MS)

    async def receive_audio(self) -> AssistantAudio:
        """The next chunk of assistant audio; :class:`ConnectionLost` once media ended."""
        # One event for "a chunk or the loss": no task per chunk (50 chunks a second).
        while self._received.empty():
            if self._lost is not None:
                raise self._lost
            self._ready.clear()
            await self._ready.wait()
        return self._received.get_nowait()

    # -- wiring ---------------------------------------------------------------------------

    def attach_remote(self, track: MediaStreamTrack) -> None:
        """Start reading the provider's audio track."""
        if self._reader is None and track.kind == "audio":
            self._reader = asyncio.create_task(self._read(track), name="liveloop-webrtc-audio")

    def on_event(self, event: dict[str, Any]) -> None:
        """Follow the provider's playback and output item events (from the data channel)."""
        for chunk in self.attribution.on_event(event):
            self._queue(chunk)
        event_type = event.get("type")
        if event_type == "output_audio_buffer.started":
            self._playing = True
            for pcm in self._preroll:
                self._deliver(pcm)
            self._preroll.clear()
        elif event_type == "output_audio_buffer.stopped":
            self._playing = False
            self._tail_until = time.monotonic() + TAIL_SECONDS
            self._tail_max = time.monotonic() + MAX_TAIL_SECONDS
        elif event_type == "output_audio_buffer.cleared":
            self._playing = False
            self._tail_until = self._tail_max = 0.0
            while not self._received.empty():
                self._received.get_nowait()

    def lose(self, error: ConnectionLost) -> None:
        """The connection is gone: end ``receive_audio`` and stop the outgoing track."""
        if self._lost is None:
            self._lost = error
            self._ready.set()
        self.track.stop()

    async def stop(self) -> None:
        """Stop both directions (the remote reader is cancelled)."""
        self.lose(ConnectionLost("the WebRTC connection was closed"))
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                pcm = self._from_track.frame(frame)
                if self._playing or self._in_tail(pcm):
                    self._deliver(pcm)
                else:
                    self._preroll.append(pcm)
        except MediaStreamError:
            self.lose(ConnectionLost("the provider's audio track ended"))
        except Exception as exc:  # a codec failure must not go unnoticed
            _log.warning("reading the provider's audio failed", error=str(exc))
            self.lose(ConnectionLost("reading the provider's audio failed", exc))

    def _in_tail(self, pcm: bytes) -> bool:
        now = time.monotonic()
        return now < self._tail_until or (now < self._tail_max and not is_quiet(pcm))

    def _deliver(self, pcm: bytes) -> None:
        if not pcm:
            return
        chunk = self.attribution.attribute(pcm)
        if chunk is not None:
            self._queue(chunk)

    def _queue(self, chunk: AssistantAudio) -> None:
        if self._received.qsize() >= MAX_RECEIVED_FRAMES:
            self._received.get_nowait()
            self.received_dropped_frames += 1
        self._received.put_nowait(chunk)
        self._ready.set()
