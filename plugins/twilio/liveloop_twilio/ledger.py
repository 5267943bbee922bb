"""What the caller heard: a playback ledger fed by Twilio's mark echoes.

Assistant audio goes to Twilio in whole 20 ms frames, each followed by a mark. Twilio
echoes a mark once the audio queued before it has played, so the newest echo of an item
says how many of its milliseconds the caller heard. Mark names carry a generation; a
``clear`` starts a new one, and the echoes Twilio returns for the cleared marks (they look
exactly like played ones) are ignored.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass, field

from .audio import FRAME_BYTES, SILENCE

__all__ = ["Frame", "PlaybackLedger"]

_BYTES_PER_MS = 8  # µ-law at 8 kHz
_REMEMBERED_ITEMS = 64


@dataclass(frozen=True)
class Frame:
    """One 20 ms frame to send, then the mark to send after it."""

    audio: bytes
    mark: str


@dataclass
class _Item:
    item_id: str
    response_id: str
    sent: int = 0  # bytes of the item's audio forwarded (padding excluded)
    held: bytearray = field(default_factory=bytearray)  # under a frame, waiting for more


class PlaybackLedger:
    """Frames and marks out, echoes in: per assistant item, what was sent and heard."""

    def __init__(self) -> None:
        self.generation = 1
        self._numbers = itertools.count(1)
        self._marks: dict[str, tuple[str, int]] = {}  # pending mark -> (item id, end ms)
        self._items: OrderedDict[str, _Item] = OrderedDict()
        self._cleared: OrderedDict[str, None] = OrderedDict()  # items whose audio was cut
        self.heard_ms: dict[str, int] = {}
        """Milliseconds of each item the caller heard (by acknowledged marks)."""

    @property
    def pending(self) -> bool:
        """Whether audio sent to Twilio may still be unplayed (marks not yet echoed)."""
        return bool(self._marks)

    def is_cleared(self, item_id: str) -> bool:
        """Whether ``item_id``'s audio was cut off (its late audio is dropped)."""
        return item_id in self._cleared

    def sent_ms(self, item_id: str) -> int:
        """Milliseconds of ``item_id`` forwarded to Twilio."""
        item = self._items.get(item_id)
        return 0 if item is None else item.sent // _BYTES_PER_MS

    def audio(self, item_id: str, response_id: str, ulaw: bytes) -> list[Frame]:
        """An assistant audio chunk in; the whole frames to send now (the rest is held)."""
        if item_id in self._cleared:
            return []  # late audio of a response the caller cut off
        item = self._items.get(item_id)
        if item is None:
            item = self._items[item_id] = _Item(item_id, response_id)
            while len(self._items) > _REMEMBERED_ITEMS:
                self._items.popitem(last=False)
        item.held += ulaw
        frames = []
        while len(item.held) >= FRAME_BYTES:
            frames.append(self._frame(item, bytes(item.held[:FRAME_BYTES]), FRAME_BYTES))
            del item.held[:FRAME_BYTES]
        return frames

    def finish(self, response_id: str) -> list[Frame]:
        """The response ended: its held audio goes out, padded with silence to a frame."""
        frames = []
        for item in self._items.values():
            if item.response_id == response_id and item.held:
                real = len(item.held)
                audio = bytes(item.held) + SILENCE * (FRAME_BYTES - real)
                item.held.clear()
                frames.append(self._frame(item, audio, real))
        return frames

    def _frame(self, item: _Item, audio: bytes, real: int) -> Frame:
        item.sent += real
        name = f"g{self.generation}.{next(self._numbers)}"
        self._marks[name] = (item.item_id, item.sent // _BYTES_PER_MS)
        return Frame(audio, name)

    def ack(self, name: str) -> tuple[str, int] | None:
        """A mark echoed: ``(item id, ms heard)``, or ``None`` for a mark this ledger did
        not send or that a ``clear`` returned."""
        entry = self._marks.pop(name, None)
        if entry is None:
            return None
        item_id, end_ms = entry
        heard = max(self.heard_ms.get(item_id, 0), end_ms)
        self.heard_ms[item_id] = heard
        if len(self.heard_ms) > _REMEMBERED_ITEMS:
            del self.heard_ms[next(iter(self.heard_ms))]
        return item_id, heard

    def clear(self, item_ids: set[str]) -> None:
        """Twilio's buffer is being cleared: a new generation; ``item_ids`` (the items cut
        off) get no more audio, and nothing held or unacknowledged counts as heard."""
        self.generation += 1
        self._marks.clear()
        for item in self._items.values():
            item.held.clear()
        for item_id in item_ids:
            self._cleared[item_id] = None
        while len(self._cleared) > _REMEMBERED_ITEMS:
            self._cleared.popitem(last=False)
