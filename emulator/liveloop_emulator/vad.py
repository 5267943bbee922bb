"""Energy voice activity detection for the emulator's ``server_vad`` turn detection.

The audio is cut into 10 ms frames; a frame is *speech* when its RMS level reaches the level
that ``threshold`` maps to:

    level_dbfs = -80 + 80 * threshold        (0.0 -> -80 dBFS, 0.5 -> -40 dBFS, 1.0 -> 0 dBFS)

so the default 0.5 accepts tone speech (about -10 dBFS) even 20 dB quieter, and rejects digital
silence and a quiet room or microphone hiss (-50 dBFS and below). A higher threshold needs louder
audio, as with OpenAI's ``server_vad``.

Speech starts after ``MIN_SPEECH_FRAMES`` consecutive speech frames (a lone click is ignored).
Like OpenAI, ``SpeechStarted.audio_start_ms`` includes the prefix padding: it is the start of the
first speech frame minus ``prefix_padding_ms`` (never below 0). Speech stops once
``silence_duration_ms`` of continuous non-speech has followed it; ``SpeechStopped.audio_end_ms``
is the moment that silence was complete, so it includes the silence duration. All times are
milliseconds of audio since the detector was created or reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["FRAME_MS", "MIN_SPEECH_FRAMES", "EnergyVAD", "SpeechStarted", "SpeechStopped"]

_PCM16 = np.dtype("<i2")

#: Analysis frame length in milliseconds.
FRAME_MS: int = 10
#: Consecutive speech frames needed before speech is declared.
MIN_SPEECH_FRAMES: int = 2


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began; ``audio_start_ms`` includes the prefix padding."""

    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    """Speech ended; ``audio_end_ms`` includes the trailing silence duration."""

    audio_end_ms: int


def threshold_dbfs(threshold: float) -> float:
    """The RMS level in dBFS that a frame must reach to count as speech."""
    return -80.0 + 80.0 * threshold


class EnergyVAD:
    """Incremental energy VAD: feed PCM16 mono little-endian audio, get speech events."""

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        prefix_padding_ms: int = 300,
        silence_duration_ms: int = 500,
        sample_rate: int = 24000,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if prefix_padding_ms < 0 or silence_duration_ms < 0:
            raise ValueError("prefix_padding_ms and silence_duration_ms must be >= 0")
        if sample_rate <= 0 or sample_rate * FRAME_MS % 1000:
            raise ValueError(f"sample_rate must be a positive multiple of 100, got {sample_rate}")
        self.threshold = threshold
        self.prefix_padding_ms = prefix_padding_ms
        self.silence_duration_ms = silence_duration_ms
        self.sample_rate = sample_rate
        self._frame_samples = sample_rate * FRAME_MS // 1000
        # mean square (of samples scaled to +-1) that a speech frame reaches
        self._min_power = 10 ** (threshold_dbfs(threshold) / 10)
        # the same bound on a frame's sum of squared raw samples (exact integers, no scaling)
        self._min_energy = self._min_power * self._frame_samples * 32768.0**2
        self._silence_frames = max(1, math.ceil(silence_duration_ms / FRAME_MS))
        self.reset()

    def reset(self) -> None:
        """Forget all audio and state; times restart at 0."""
        self._pending = b""
        self._samples = 0  # complete samples fed
        self._frames = 0  # frames analysed
        self._in_speech = False
        self._speech_run = 0  # consecutive speech frames while not in speech
        self._silence_run = 0  # consecutive silent frames while in speech

    @property
    def in_speech(self) -> bool:
        """Whether the detector is between a start and a stop."""
        return self._in_speech

    @property
    def position_ms(self) -> int:
        """Milliseconds of audio fed so far (complete samples only)."""
        return self._samples * 1000 // self.sample_rate

    def feed(self, pcm: bytes) -> list[SpeechStarted | SpeechStopped]:
        """Feed more audio, in chunks of any size; returns the events it completed, in order."""
        pending = self._pending
        data = pending + pcm if pending else pcm
        self._samples += len(data) // 2 - len(pending) // 2
        frame_bytes = 2 * self._frame_samples
        n_frames = len(data) // frame_bytes
        used = n_frames * frame_bytes
        self._pending = data[used:]
        if n_frames == 0:
            return []
        if used == len(data) and data == bytes(used):
            # Digital silence (a muted microphone, a paced sender's padding): no energy at
            # all, known from one comparison.
            if self._quiet(n_frames):
                return []
            samples = np.zeros(used // 2)
        else:
            # Float64 holds every square and every frame's sum exactly (below 2**53): the
            # same verdicts as integer sums, at a fraction of the cost of an int64 einsum.
            samples = np.frombuffer(data, dtype=_PCM16, count=used // 2).astype(np.float64)
            # Less energy in the whole chunk than one speech frame needs: no frame is speech.
            if float(samples.dot(samples)) < self._min_energy and self._quiet(n_frames):
                return []
        frames = samples.reshape(n_frames, -1)
        energy = np.einsum("ij,ij->i", frames, frames)
        events: list[SpeechStarted | SpeechStopped] = []
        for is_speech in (energy >= self._min_energy).tolist():
            event = self._step(bool(is_speech))
            if event is not None:
                events.append(event)
        return events

    def _quiet(self, n_frames: int) -> bool:
        """Account for ``n_frames`` frames without speech if that completes no event; False
        if it would end speech (the frames then go through :meth:`_step` one by one)."""
        if self._in_speech:
            if self._silence_run + n_frames >= self._silence_frames:
                return False
            self._silence_run += n_frames
        else:
            self._speech_run = 0
        self._frames += n_frames
        return True

    def _step(self, is_speech: bool) -> SpeechStarted | SpeechStopped | None:
        index = self._frames
        self._frames += 1
        if not self._in_speech:
            self._speech_run = self._speech_run + 1 if is_speech else 0
            if self._speech_run < MIN_SPEECH_FRAMES:
                return None
            self._in_speech = True
            self._silence_run = 0
            onset_ms = (index + 1 - self._speech_run) * FRAME_MS
            self._speech_run = 0
            return SpeechStarted(max(0, onset_ms - self.prefix_padding_ms))
        self._silence_run = 0 if is_speech else self._silence_run + 1
        if self._silence_run < self._silence_frames:
            return None
        self._in_speech = False
        self._silence_run = 0
        return SpeechStopped((index + 1) * FRAME_MS)
