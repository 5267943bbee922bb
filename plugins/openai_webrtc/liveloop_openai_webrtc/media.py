"""Audio over WebRTC tracks: PCM16 in and out, resampled, paced in real time."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Awaitable, Callable
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError

from liveloop import ConnectionLost, get_logger
from liveloop.events import AssistantAudio

from .attribution import TrackAttribution

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
    (``output_audio_buffer.started`` until ``stopped`` / ``cleared``, placed on the track's
    RTP clock): between responses the track carries only silence, which is not assistant
    speech. Each chunk comes as an :class:`~liveloop.events.AssistantAudio` with the
    provider's response and item ids (see :mod:`liveloop_openai_webrtc.attribution`).
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
        self.attribution = TrackAttribution()
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

    def attach_remote(self, track: MediaStreamTrack, receiver: RTCRtpReceiver | None) -> None:
        """Start reading the provider's audio track (``receiver``: the track's RTP
        receiver, whose packet arrivals place the provider's events on the track)."""
        if self._reader is None and track.kind == "audio":
            if receiver is not None:
                _follow_arrivals(receiver, self.attribution.arrived)
            self._reader = asyncio.create_task(self._read(track), name="liveloop-webrtc-audio")

    def on_event(self, event: dict[str, Any]) -> None:
        """Follow the provider's playback and output item events (from the data channel,
        in order with the track's packets)."""
        for chunk in self.attribution.on_event(event):
            self._queue(chunk)
        if event.get("type") == "output_audio_buffer.cleared":
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
                position = frame.pts  # the RTP timestamp it was sent with
                pcm = self._from_track.frame(frame)
                if pcm:
                    chunk = self.attribution.attribute(pcm, position)
                    if chunk is not None:
                        self._queue(chunk)
        except MediaStreamError:
            self.lose(ConnectionLost("the provider's audio track ended"))
        except Exception as exc:  # a codec failure must not go unnoticed
            _log.warning("reading the provider's audio failed", error=str(exc))
            self.lose(ConnectionLost("reading the provider's audio failed", exc))

    def _queue(self, chunk: AssistantAudio) -> None:
        if self._received.qsize() >= MAX_RECEIVED_FRAMES:
            self._received.get_nowait()
            self.received_dropped_frames += 1
        self._received.put_nowait(chunk)
        self._ready.set()


def _follow_arrivals(receiver: RTCRtpReceiver, arrived: Callable[[int], None]) -> None:
    """Call ``arrived`` with each RTP packet's timestamp as the receiver takes it in.

    aiortc hands packets and data-channel messages over one after the other from the
    same DTLS transport, so at each event ``arrived`` has seen exactly the packets that
    came before it. aiortc has no public hook for this; without its packet handler the
    events fall back to taking effect at the next decoded frame.
    """
    handle: Callable[..., Awaitable[None]] | None = getattr(receiver, "_handle_rtp_packet", None)
    if handle is None:
        _log.warning("aiortc has no RTP packet handler to follow; attribution is coarser")
        return

    async def observed(packet: Any, *args: Any, **kwargs: Any) -> None:
        arrived(packet.timestamp)
        await handle(packet, *args, **kwargs)

    receiver._handle_rtp_packet = observed  # type: ignore[method-assign]
