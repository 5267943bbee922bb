"""Audio formats of the Realtime API: PCM16 at 24 kHz, and G.711 µ-law / A-law at 8 kHz.

Everything inside the emulator works on PCM16 mono little-endian at 24 kHz; these helpers
convert at the edges.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "G711_RATE",
    "PCM_RATE",
    "alaw_decode",
    "alaw_encode",
    "bytes_per_ms",
    "format_type",
    "from_format",
    "resample",
    "to_format",
    "ulaw_decode",
    "ulaw_encode",
]

PCM_RATE = 24000
G711_RATE = 8000

Int16Array = npt.NDArray[np.int16]


def _ulaw_table() -> Int16Array:
    table = np.zeros(256, dtype=np.int16)
    for byte in range(256):
        u = ~byte & 0xFF
        exponent = (u >> 4) & 0x07
        mantissa = u & 0x0F
        magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
        table[byte] = -magnitude if u & 0x80 else magnitude
    return table


def _alaw_table() -> Int16Array:
    table = np.zeros(256, dtype=np.int16)
    for byte in range(256):
        a = byte ^ 0x55
        exponent = (a >> 4) & 0x07
        mantissa = a & 0x0F
        step = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
        magnitude = step
        table[byte] = magnitude if a & 0x80 else -magnitude
    return table


_ULAW = _ulaw_table()
_ALAW = _alaw_table()


def _exponent(values: npt.NDArray[np.int64], base: int) -> npt.NDArray[np.int64]:
    """Segment number: position of the highest set bit above ``base`` (0..7)."""
    exp = np.zeros_like(values)
    for segment in range(1, 8):
        exp = np.where(values >= (base << segment), segment, exp)
    return exp


def ulaw_encode(pcm: bytes) -> bytes:
    """PCM16 LE samples to G.711 µ-law bytes (same sample rate)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int64)
    sign = np.where(samples < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(samples), 32635) + 0x84
    exponent = _exponent(magnitude, 0x80)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encoded = ~(sign | (exponent << 4) | mantissa) & 0xFF
    return bytes(encoded.astype(np.uint8).tobytes())


def ulaw_decode(data: bytes) -> bytes:
    """G.711 µ-law bytes to PCM16 LE samples (same sample rate)."""
    return _ULAW[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def alaw_encode(pcm: bytes) -> bytes:
    """PCM16 LE samples to G.711 A-law bytes (same sample rate)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int64)
    sign = np.where(samples >= 0, 0x80, 0)
    magnitude = np.minimum(np.where(samples >= 0, samples, -samples - 1), 32767)
    exponent = _exponent(magnitude, 0x80)
    mantissa = np.where(exponent == 0, magnitude >> 4, (magnitude >> (exponent + 3)) & 0x0F)
    encoded = (sign | (exponent << 4) | mantissa) ^ 0x55
    return bytes(encoded.astype(np.uint8).tobytes())


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law bytes to PCM16 LE samples (same sample rate)."""
    return _ALAW[np.frombuffer(data, dtype=np.uint8)].astype("<i2").tobytes()


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample PCM16 LE mono by linear interpolation (with a box filter when downsampling)."""
    if from_rate == to_rate or not pcm:
        return pcm[: len(pcm) // 2 * 2]
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    if to_rate < from_rate:
        width = max(1, round(from_rate / to_rate))
        if width > 1:
            kernel = np.ones(width) / width
            samples = np.convolve(samples, kernel, mode="same")
    count = round(len(samples) * to_rate / from_rate)
    if count == 0:
        return b""
    positions = np.arange(count) * (from_rate / to_rate)
    out = np.interp(positions, np.arange(len(samples)), samples)
    return bytes(np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes())


def format_type(fmt: Any) -> str:
    """The ``type`` of a session audio format (``audio/pcm`` when it names none)."""
    if isinstance(fmt, dict):
        kind = fmt.get("type")
        if isinstance(kind, str):
            return kind
    return "audio/pcm"


def from_format(data: bytes, fmt: Any) -> bytes:
    """Audio in a session format (``{"type": "audio/pcm"|"audio/pcmu"|"audio/pcma"}``) to PCM16
    at 24 kHz."""
    kind = format_type(fmt)
    if kind == "audio/pcmu":
        return resample(ulaw_decode(data), G711_RATE, PCM_RATE)
    if kind == "audio/pcma":
        return resample(alaw_decode(data), G711_RATE, PCM_RATE)
    return data[: len(data) // 2 * 2]


def to_format(pcm: bytes, fmt: Any) -> bytes:
    """PCM16 at 24 kHz to audio in a session format."""
    kind = format_type(fmt)
    if kind == "audio/pcmu":
        return ulaw_encode(resample(pcm, PCM_RATE, G711_RATE))
    if kind == "audio/pcma":
        return alaw_encode(resample(pcm, PCM_RATE, G711_RATE))
    return pcm


def bytes_per_ms(fmt: Any) -> int:
    """Bytes of audio per millisecond in a session format."""
    return 8 if format_type(fmt) in ("audio/pcmu", "audio/pcma") else 48
