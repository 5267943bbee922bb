"""The input recorder: user audio sent through this process, kept just long enough to
attach to the turns it makes, and the timing of manual turns.

Offsets are absolute bytes since the session began; the provider's milliseconds count
from the start of the current connection (``epoch``). Audio is kept from the oldest of:
the preroll before now, what was sent in the last moments, a pinned speech start,
(manual turns) the start of a segment not yet taken by its turn, or (untimed speech) the
end of the last spoken turn.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from ..turns import SessionTurn

_PREROLL_MS = 1000  # user audio kept before speech starts, for turn.audio
_PIN_LATENCY_S = 2.0  # how long after sending audio the provider may still pin a turn in it
_MAX_RECORDED_MS = 300_000
_MAX_COMMITS = 64
_TRIM_BYTES = 64 * 1024  # drop old audio in steps this large: each drop moves the buffer


def _even(n: int) -> int:
    return n - (n % 2)


@dataclass
class InputRecorder:
    """User audio and manual-turn segments of one session.

    Manual turns (no turn detection) are timed here, and only here: a commit closes the
    segment since the previous commit (or clear), and the next spoken turn takes the
    oldest closed segment as its audio and its ``started_ms`` / ``ended_ms``.

    Untimed speech (the provider detects turns but gives no offsets) is cut at turn
    boundaries: a spoken turn takes what was sent since the previous spoken turn ended,
    up to where its speech was known to have stopped (:meth:`stopped`), at most
    ``_MAX_RECORDED_MS`` of it.
    """

    bytes_per_ms: float
    manual: bool = False  # turns end by commit_audio(), not by the provider's VAD
    untimed: bool = False  # the provider's speech events carry no audio offsets
    boundary: int = 0  # absolute offset where the last spoken turn ended
    stops: dict[str, int] = field(default_factory=dict)  # untimed: item -> where it stopped
    buf: bytearray = field(default_factory=bytearray)
    start: int = 0  # absolute byte offset of buf[0]
    epoch: int = 0  # absolute byte offset where the current connection's audio began
    pins: dict[str, int] = field(default_factory=dict)  # item -> absolute start offset
    segment: int = 0  # absolute start of the manual segment being spoken
    commits: deque[tuple[str | None, int, int]] = field(default_factory=deque)  # closed ones
    sent_at: deque[tuple[float, int]] = field(default_factory=deque)  # (when, offset) sent

    @property
    def total(self) -> int:
        return self.start + len(self.buf)

    def append(self, pcm: bytes, *, keep: bool = True) -> None:
        """Record ``pcm``; ``keep=False``: only count it (audio on a media track, which no
        turn takes from here: the provider's clock still advances by it)."""
        if not keep:
            self.start = self.total + len(pcm)
            self.buf.clear()
            self.sent_at.clear()
            return
        # Audio sent in the last moments is kept too: a fast sender (a file, a test) is far
        # ahead of the provider's speech_started, which pins where a turn began.
        now = time.monotonic()
        self.sent_at.append((now, self.total))
        while self.sent_at and self.sent_at[0][0] < now - _PIN_LATENCY_S:
            self.sent_at.popleft()
        self.buf += pcm
        recent = self.sent_at[0][1]
        keep_from = min(
            [self.total - int(_PREROLL_MS * self.bytes_per_ms), recent, *self.pins.values()]
        )
        if self.manual:
            keep_from = min(keep_from, self.commits[0][1] if self.commits else self.segment)
        if self.untimed:
            keep_from = min(keep_from, self.boundary)
        keep_from = max(keep_from, self.total - int(_MAX_RECORDED_MS * self.bytes_per_ms))
        drop = _even(keep_from - self.start)
        if drop >= _TRIM_BYTES:
            del self.buf[:drop]
            self.start += drop

    def _offset(self, ms: int) -> int:
        return self.epoch + _even(int(ms * self.bytes_per_ms))

    def _ms(self, offset: int) -> int:
        return int((offset - self.epoch) / self.bytes_per_ms)

    def new_connection(self) -> None:
        """The provider's clock restarts: its 0 ms is what is sent from now on."""
        self.epoch = self.total
        self.pins.clear()
        self.commits.clear()
        self.stops.clear()
        self.segment = self.boundary = self.total

    def commit(self, event_id: str | None = None) -> None:
        """A manual commit (sent with ``event_id``): what follows is the next turn's."""
        self.commits.append((event_id, self.segment, self.total))
        while len(self.commits) > _MAX_COMMITS:
            self.commits.popleft()
        self.segment = self.total

    def refused(self, event_id: str) -> bool:
        """The provider refused the commit sent with ``event_id`` (too little audio): it
        makes no turn."""
        for index, (sent_with, _, _) in enumerate(self.commits):
            if sent_with == event_id:
                del self.commits[index]
                return True
        return False

    def clear(self) -> None:
        """Uncommitted audio was discarded: the current segment starts again now."""
        self.segment = self.total

    def pin(self, item_id: str, start_ms: int) -> None:
        self.pins[item_id] = self._offset(start_ms)

    def stopped(self, item_id: str) -> None:
        """Untimed speech: the user's speech in ``item_id`` has ended by what is sent now."""
        if not self.untimed or item_id in self.stops:
            return
        self.stops[item_id] = self.total
        while len(self.stops) > _MAX_COMMITS:  # utterances that never became turns
            del self.stops[next(iter(self.stops))]

    def _untimed_span(self, item_id: str | None) -> tuple[int, int]:
        """Where an untimed turn's audio lies: from the previous turn's end to its stop."""
        end = self.total
        if item_id is not None:
            end = self.stops.pop(item_id, end)
        # Speech that stopped before this turn's end and made no turn of its own is part of
        # this turn's span: its stop is no boundary any more.
        self.stops = {item: at for item, at in self.stops.items() if at > end}
        start = max(self.boundary, end - _even(int(_MAX_RECORDED_MS * self.bytes_per_ms)))
        return min(start, end), end

    def take(self, item_id: str | None, start_ms: int | None, end_ms: int | None) -> bytes | None:
        """The audio of a finished turn (``None`` if none of it is kept)."""
        if item_id is not None:
            self.pins.pop(item_id, None)
        if start_ms is None or end_ms is None or end_ms <= start_ms:
            return None
        return self._slice(self._offset(start_ms), self._offset(end_ms))

    def _slice(self, lo: int, hi: int) -> bytes | None:
        """The kept audio between absolute offsets ``lo`` and ``hi``."""
        lo, hi = max(lo - self.start, 0), min(hi - self.start, len(self.buf))
        return bytes(self.buf[lo:hi]) if hi > lo else None

    def complete(self, turn: SessionTurn, *, keeps_audio: bool) -> SessionTurn:
        """``turn`` with its timing (manual and untimed turns) and audio (``keeps_audio``:
        the user's audio went through this process) filled in."""
        if turn.channel != "audio":
            return turn
        start, end = turn.started_ms, turn.ended_ms
        span: tuple[int, int] | None = None
        if self.manual and self.commits:
            _, lo, hi = self.commits.popleft()
            span = lo, hi
        elif self.untimed and start is None and end is None:
            span = self._untimed_span(turn.item_id)
        if span is not None:
            start, end = self._ms(span[0]), self._ms(span[1])
            self.boundary = max(self.boundary, span[1])
        if turn.item_id is not None:
            self.pins.pop(turn.item_id, None)
        audio = None
        if keeps_audio:
            audio = self._slice(*span) if span is not None else self.take(None, start, end)
        if (start, end) == (turn.started_ms, turn.ended_ms) and audio is None:
            return turn
        return turn.model_copy(
            update={
                "started_ms": start,
                "ended_ms": end,
                "audio": audio if audio is not None else turn.audio,
            }
        )
