"""G.711 µ-law for the simulated phone caller, from the maintained ``audioop``.

``audioop`` is in the standard library up to Python 3.12 (deprecated there) and comes from
the ``audioop-lts`` port on 3.13 and later; both install with ``liveloop-twilio``.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["SILENCE", "pcm16_to_ulaw", "ulaw_to_pcm16"]

SILENCE = 0xFF
"""The µ-law byte for a zero sample."""


def ulaw_to_pcm16(data: bytes) -> bytes:
    """µ-law bytes to PCM16 mono little-endian (same rate)."""
    return audioop.ulaw2lin(data, 2)


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    """PCM16 mono little-endian to µ-law bytes (same rate)."""
    return audioop.lin2ulaw(pcm[: len(pcm) // 2 * 2], 2)
