"""G.711 µ-law and A-law for the simulated phone caller and the test helpers, from the
maintained ``audioop``.

``audioop`` is in the standard library up to Python 3.12 (deprecated there) and comes from
the ``audioop-lts`` port on 3.13 and later; both install with ``liveloop-twilio``.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["SILENCE", "from_pcm16", "pcm16_to_ulaw", "to_pcm16", "ulaw_to_pcm16"]

SILENCE = 0xFF
"""The µ-law byte for a zero sample."""


def ulaw_to_pcm16(data: bytes) -> bytes:
    """µ-law bytes to PCM16 mono little-endian (same rate)."""
    return audioop.ulaw2lin(data, 2)


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    """PCM16 mono little-endian to µ-law bytes (same rate)."""
    return audioop.lin2ulaw(pcm[: len(pcm) // 2 * 2], 2)


def from_pcm16(pcm: bytes, encoding: str) -> bytes:
    """PCM16 mono little-endian to ``encoding`` (``pcm16``, ``g711_ulaw``, ``g711_alaw``)."""
    whole = pcm[: len(pcm) // 2 * 2]
    if encoding == "g711_ulaw":
        return audioop.lin2ulaw(whole, 2)
    if encoding == "g711_alaw":
        return audioop.lin2alaw(whole, 2)
    return whole


def to_pcm16(data: bytes, encoding: str) -> bytes:
    """Audio in ``encoding`` to PCM16 mono little-endian (same rate)."""
    if encoding == "g711_ulaw":
        return audioop.ulaw2lin(data, 2)
    if encoding == "g711_alaw":
        return audioop.alaw2lin(data, 2)
    return data[: len(data) // 2 * 2]
