"""The call's audio (G.711 µ-law, 8 kHz) and the provider's, when they differ.

µ-law passes through untouched to a provider that takes it. For one that does not, the
bridge transcodes with maintained code: ``audioop`` for G.711 (the standard library up to
Python 3.12, the ``audioop-lts`` port after) and ``soxr`` streaming resamplers for the rate.
"""

from __future__ import annotations

import warnings

import numpy as np
import soxr

from liveloop import AudioFormat

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["CALL_FORMAT", "FRAME_BYTES", "FRAME_MS", "SILENCE", "Transcoder", "is_loud"]

CALL_FORMAT = AudioFormat(encoding="g711_ulaw", rate=8000)
"""The call's audio on a Twilio Media Stream."""
FRAME_MS = 20
FRAME_BYTES = 160  # 20 ms of µ-law at 8 kHz
SILENCE = b"\xff"  # µ-law zero
LOUD_RMS = 164
"""A frame's RMS level (PCM16) from which it may be speech: -46 dBFS, under a quiet
talker on a phone line and over a line's idle noise."""


def is_loud(ulaw: bytes) -> bool:
    """Whether a µ-law frame's level may be speech (see :data:`LOUD_RMS`)."""
    return audioop.rms(audioop.ulaw2lin(ulaw, 2), 2) >= LOUD_RMS


class _Direction:
    """One direction of transcoding, streaming (resampler state kept between chunks)."""

    def __init__(self, source: AudioFormat, target: AudioFormat) -> None:
        self.source, self.target = source, target
        self._resampler = (
            soxr.ResampleStream(source.rate, target.rate, 1, dtype="int16", quality="HQ")
            if source.rate != target.rate
            else None
        )
        self._odd = b""

    def __call__(self, data: bytes) -> bytes:
        pcm = _to_pcm16(data, self.source.encoding)
        pcm, self._odd = self._odd + pcm, b""
        if len(pcm) % 2:
            pcm, self._odd = pcm[:-1], pcm[-1:]
        if self._resampler is not None and pcm:
            samples = np.frombuffer(pcm, dtype="<i2")
            pcm = self._resampler.resample_chunk(samples).astype("<i2").tobytes()
        return _from_pcm16(pcm, self.target.encoding)


def _to_pcm16(data: bytes, encoding: str) -> bytes:
    if encoding == "g711_ulaw":
        return audioop.ulaw2lin(data, 2)
    if encoding == "g711_alaw":
        return audioop.alaw2lin(data, 2)
    return data


def _from_pcm16(pcm: bytes, encoding: str) -> bytes:
    if encoding == "g711_ulaw":
        return audioop.lin2ulaw(pcm, 2)
    if encoding == "g711_alaw":
        return audioop.lin2alaw(pcm, 2)
    return pcm


class Transcoder:
    """Converts the call's µ-law to the provider's input format and its output back.

    ``passthrough`` is true when the provider takes µ-law both ways: nothing is converted.
    """

    def __init__(self, provider_in: AudioFormat, provider_out: AudioFormat) -> None:
        self.passthrough = provider_in == CALL_FORMAT and provider_out == CALL_FORMAT
        self._inbound = None if provider_in == CALL_FORMAT else _Direction(CALL_FORMAT, provider_in)
        self._outbound = (
            None if provider_out == CALL_FORMAT else _Direction(provider_out, CALL_FORMAT)
        )

    def to_provider(self, ulaw: bytes) -> bytes:
        """Caller audio (µ-law) in the provider's input format."""
        return ulaw if self._inbound is None else self._inbound(ulaw)

    def to_call(self, audio: bytes) -> bytes:
        """Provider audio (its output format) as µ-law for the call."""
        return audio if self._outbound is None else self._outbound(audio)
