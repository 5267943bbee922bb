"""User audio: the uncommitted input buffer on an audio timeline, and turn detection on it."""

from __future__ import annotations

from dataclasses import dataclass

from ..vad import EnergyVAD
from ..vad import SpeechStarted as _Started
from .settings import TurnDetection

__all__ = ["InputAudio", "VoiceChange"]

BYTES_PER_MS = 48
"""PCM16 mono at 24 kHz."""
MANUAL_KEEP_MS = 300_000.0
"""The most uncommitted audio a session without turn detection keeps (five minutes)."""


@dataclass(frozen=True, slots=True)
class VoiceChange:
    """Turn detection's verdict: speech ``started`` (or stopped) at ``ms`` of the timeline."""

    started: bool
    ms: float


class InputAudio:
    """The input buffer: PCM16 24 kHz not yet committed, positioned on the session's timeline
    of all user audio (milliseconds since the session started), with an :class:`EnergyVAD`
    when turn detection is on.

    While nobody speaks, only the last second (plus the prefix padding) is kept, so a session
    that streams silence for an hour holds no more than that.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._start_ms = 0.0  # timeline position of _buffer[0]
        self.received_ms = 0.0  # all input audio, in ms
        self._vad: EnergyVAD | None = None
        self._vad_offset_ms = 0.0
        self._config: TurnDetection | None = None
        self.speech_item_id: str | None = None
        self.speech_start_ms = 0.0

    @property
    def buffered_ms(self) -> float:
        return len(self._buffer) / BYTES_PER_MS

    def configure(self, detection: TurnDetection | None) -> None:
        """Turn detection on (with these parameters) or off; unchanged parameters keep the
        detector's state."""
        if detection is None:
            self._vad = None
            self._config = None
            self.speech_item_id = None
            return
        same = self._config is not None and (
            self._config.threshold,
            self._config.prefix_padding_ms,
            self._config.silence_duration_ms,
        ) == (detection.threshold, detection.prefix_padding_ms, detection.silence_duration_ms)
        self._config = detection
        if same and self._vad is not None:
            return
        self._vad = EnergyVAD(
            threshold=float(detection.threshold),
            prefix_padding_ms=int(detection.prefix_padding_ms),
            silence_duration_ms=int(detection.silence_duration_ms),
        )
        self._vad_offset_ms = self.received_ms
        self.speech_item_id = None

    def feed(self, pcm: bytes) -> list[VoiceChange]:
        """Buffer ``pcm``; returns what turn detection made of it (nothing when it is off)."""
        self._buffer += pcm
        self.received_ms += len(pcm) / BYTES_PER_MS
        if self._vad is None:
            return []
        offset = self._vad_offset_ms
        return [
            VoiceChange(True, c.audio_start_ms + offset)
            if isinstance(c, _Started)
            else VoiceChange(False, c.audio_end_ms + offset)
            for c in self._vad.feed(pcm)
        ]

    def trim(self) -> None:
        """Forget old audio nobody is speaking in (keeps a second plus the prefix padding).
        Without turn detection the buffer is the turn being spoken: kept until committed
        or cleared (its last :data:`MANUAL_KEEP_MS`)."""
        if self._config is None:
            keep_ms = MANUAL_KEEP_MS
        else:
            keep_ms = 1000.0 + float(self._config.prefix_padding_ms)
        excess = len(self._buffer) - int(keep_ms * BYTES_PER_MS)
        if excess > BYTES_PER_MS * 500:
            excess -= excess % 2
            del self._buffer[:excess]
            self._start_ms += excess / BYTES_PER_MS

    def take_until(self, start_ms: float, end_ms: float) -> bytes:
        """The audio between two timeline positions; everything before ``end_ms`` is dropped."""
        start = max(0, int((start_ms - self._start_ms) * BYTES_PER_MS))
        end = max(start, int((end_ms - self._start_ms) * BYTES_PER_MS))
        start -= start % 2
        end -= end % 2
        pcm = bytes(self._buffer[start:end])
        cut = max(0, int((end_ms - self._start_ms) * BYTES_PER_MS))
        cut -= cut % 2
        del self._buffer[:cut]
        self._start_ms += cut / BYTES_PER_MS
        return pcm

    def take_all(self) -> bytes:
        """Everything buffered; the buffer and turn detection start over."""
        pcm = bytes(self._buffer)
        self.reset()
        return pcm

    def reset(self) -> None:
        self._buffer.clear()
        self._start_ms = self.received_ms
        self.speech_item_id = None
        if self._vad is not None:
            self._vad.reset()
            self._vad_offset_ms = self.received_ms
