"""Where the model's speech goes: the output-audio sink a front end or transport provides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .events import Position

__all__ = ["AudioTarget", "ClearedAudio", "OutputAudio"]

AudioTarget = Position
"""Where a chunk of output audio belongs (the response, item and content part)."""


@dataclass(frozen=True)
class ClearedAudio:
    """What :meth:`OutputAudio.clear` cut short.

    ``response_id`` is the response whose audio was playing (None: nothing was playing);
    ``cut`` lists each item whose audio was dropped, with the milliseconds of it actually
    played, which the engine truncates the item to.
    """

    response_id: str | None = None
    cut: tuple[tuple[AudioTarget, int], ...] = ()


class OutputAudio(Protocol):
    """Where the model's speech goes.

    ``paced`` tells the engine whether the sink plays audio out in real time by itself; if
    not, the engine paces the chunks (real time divided by its speed factor). ``clear`` drops
    audio not yet played (barge-in, a request); it returns None when the sink has no
    server-side playout buffer at all, else a :class:`ClearedAudio` saying what was cut.
    """

    paced: bool

    async def write(self, pcm: bytes, target: AudioTarget) -> None:
        """Play/send one chunk of PCM16 24 kHz mono audio."""
        ...

    async def end(self, target: AudioTarget) -> None:
        """The item's audio is complete (or was cut short)."""
        ...

    async def clear(self) -> ClearedAudio | None:
        """Drop unplayed audio; None if this sink has no server-side audio buffer."""
        ...
