"""Speaking to a session the way a test's simulated user does: tone speech, then silence."""

from __future__ import annotations

import asyncio

from ..config import AudioFormat
from ..session import Session
from ._emulator import tones_module

__all__ = ["silence", "speak", "utterance"]


END_OF_TURN_MS = 1000
"""Silence after an utterance: longer than any VAD silence duration liveloop configures."""


def silence(ms: int, sample_rate: int = 24000) -> bytes:
    """``ms`` of PCM16 silence."""
    return b"\x00\x00" * (sample_rate * ms // 1000)


def utterance(text: str, sample_rate: int = 24000, *, silence_ms: int = END_OF_TURN_MS) -> bytes:
    """``text`` as tone speech followed by ``silence_ms`` of silence, so a VAD ends the turn."""
    speech: bytes = tones_module().encode(text, sample_rate)
    return speech + silence(silence_ms, sample_rate)


async def speak(
    session: Session,
    text: str,
    *,
    silence_ms: int = END_OF_TURN_MS,
    chunk_ms: int = 40,
    pace: float | None = None,
) -> None:
    """Send ``text`` to ``session`` as a spoken user turn (tone speech plus silence).

    The audio goes out in ``chunk_ms`` chunks through ``session.send_audio``. With
    ``pace`` set, chunks are spaced like a microphone at ``pace`` times real time
    (``pace=1.0`` is real time); by default they are sent as fast as the session takes
    them. The speech is in the session's input format (PCM16, or G.711 µ-law / A-law).
    """
    fmt = session.config.input_audio
    audio = _in_format(utterance(text, fmt.rate, silence_ms=silence_ms), fmt)
    width = 2 if fmt.encoding == "pcm16" else 1
    step = max(width, int(fmt.bytes_per_ms * chunk_ms) // width * width)
    for start in range(0, len(audio), step):
        await session.send_audio(audio[start : start + step])
        if pace:
            await asyncio.sleep(chunk_ms / 1000 / pace)


def _in_format(pcm: bytes, fmt: AudioFormat) -> bytes:
    if fmt.encoding == "pcm16":
        return pcm
    from ._g711 import from_pcm16

    return from_pcm16(pcm, fmt.encoding)
