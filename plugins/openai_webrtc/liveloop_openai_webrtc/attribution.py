"""Which assistant item the provider's audio track is playing.

A WebRTC track carries the assistant's audio without ids; the provider's events on the
data channel say when a response's audio starts and stops playing
(``output_audio_buffer.started`` / ``stopped`` / ``cleared``, with the response id) and
which item a response speaks (``response.output_item.added``).

The events and the audio travel in the same transport (one ICE/DTLS connection), so the
order in which they arrive is the order the provider sent them, whatever the load on
either side. Time of arrival is not: the receiver holds audio in a jitter buffer and a
decoder queue, and a busy event loop reads the track late. So each event is placed on
the track's own clock, the RTP timestamp: an event takes the *position* of the latest
RTP packet that arrived before it (:meth:`TrackAttribution.arrived`), and each decoded
frame carries the position it was sent at. A response announced at position ``p`` owns
the frames after ``p``; a response that stopped at ``p`` still owns the frames up to
``p`` plus :data:`STOP_SLACK` (its last frame may go out after the event, and the codec
delays audio by a few ms). Should the provider send an event a frame later than the audio
it announces, a silent frame within :data:`SWITCH_WINDOW` before the announced position
is taken as the switch.

Audio is only ever attributed to an item id the provider gave; audio of a response whose
item is not known yet waits for it (bounded).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

from liveloop.events import AssistantAudio

__all__ = ["STOP_SLACK", "SWITCH_WINDOW", "TrackAttribution", "is_quiet"]

CLOCK_RATE = 48000
"""RTP clock of Opus audio (positions count samples at this rate)."""
STOP_SLACK = 2 * 960
"""Positions after a ``stopped`` event that still belong to the response (two frames)."""
SWITCH_WINDOW = 2 * 960
"""How far before an announced start a silent frame may mark the switch (two frames)."""
QUIET_LEVEL = 100
"""PCM16 amplitude below which a chunk counts as silence (the pause between replies)."""
MAX_WAITING_CHUNKS = 500
"""Chunks kept while their response's item is not known yet; the oldest are dropped."""
MAX_PENDING = 64
"""Playback events kept while the track has not reached them; the oldest are applied."""
_KEPT_RESPONSES = 64
_WRAP = 1 << 32

Kind = Literal["started", "stopped"]


def is_quiet(pcm: bytes) -> bool:
    """True for PCM16 with no sample above about -50 dBFS."""
    samples = memoryview(pcm[: len(pcm) - len(pcm) % 2]).cast("h")
    return not samples or max(max(samples), -min(samples)) < QUIET_LEVEL


class TrackAttribution:
    """Attributes chunks of track audio to the provider's response and item ids,
    following the data channel's events on the track's RTP clock."""

    def __init__(self) -> None:
        self._item_of: dict[str, str] = {}
        self._current: str | None = None  # the response the track plays
        self._pending: deque[tuple[int | None, Kind, str]] = deque()
        self._origin: int | None = None  # first RTP timestamp (position 0)
        self._last: int | None = None  # last RTP timestamp seen, raw
        self._position: int | None = None  # the latest arrived packet's position
        self._waiting: deque[tuple[str, bytes]] = deque()
        self.dropped_chunks = 0
        """Chunks of sound dropped: no response was playing, or its item never came."""

    def arrived(self, timestamp: int) -> None:
        """An RTP packet of the track arrived (its raw 32-bit timestamp), before any
        event that arrives after it."""
        if self._origin is None or self._last is None or self._position is None:
            self._origin = self._last = timestamp
            self._position = 0
            return
        step = (timestamp - self._last) % _WRAP
        if step < _WRAP // 2:  # forward (a late, reordered packet moves nothing)
            self._position += step
            self._last = timestamp

    def on_event(self, event: dict[str, Any]) -> list[AssistantAudio]:
        """Follow one data-channel event; returns chunks it made attributable."""
        kind = event.get("type")
        response_id = event.get("response_id")
        if kind == "response.output_item.added":
            return self._learn_item(event)
        if not isinstance(response_id, str):
            return []
        if kind == "output_audio_buffer.started":
            self._add(self._position, "started", response_id)
        elif kind == "output_audio_buffer.stopped":
            self._add(self._position, "stopped", response_id)
        elif kind == "output_audio_buffer.cleared":
            # Cut: what is still on its way of this response is not played any more.
            self._pending.clear()
            self._current = None
            self._waiting = deque((r, pcm) for r, pcm in self._waiting if r != response_id)
        return []

    def attribute(self, pcm: bytes, position: int | None) -> AssistantAudio | None:
        """The chunk (sent at ``position`` on the RTP clock, ``None`` if unknown) with
        its ids, or ``None``: silence between responses, or its item is not known yet
        (then it is kept until it is)."""
        quiet = is_quiet(pcm)
        self._follow(position, quiet)
        response_id = self._current
        if response_id is None:
            self.dropped_chunks += not quiet
            return None
        item_id = self._item_of.get(response_id)
        if item_id is None:
            if len(self._waiting) >= MAX_WAITING_CHUNKS:
                self._waiting.popleft()
                self.dropped_chunks += 1
            self._waiting.append((response_id, pcm))
            return None
        return AssistantAudio(response_id=response_id, item_id=item_id, audio=pcm)

    # -- internals ----------------------------------------------------------------------------

    def _add(self, position: int | None, kind: Kind, response_id: str) -> None:
        if len(self._pending) >= MAX_PENDING:
            self._apply(0)
        self._pending.append((position, kind, response_id))

    def _follow(self, position: int | None, quiet: bool) -> None:
        """Apply every playback event the track has reached at ``position``."""
        last = -1
        for index, (at, kind, _) in enumerate(self._pending):
            if at is None or position is None:
                last = index  # no clock to compare: the event holds from now on
                continue
            ahead = _ahead(position, at)
            if kind == "stopped":
                due = ahead > STOP_SLACK
            else:
                due = ahead > 0 or (quiet and ahead >= -SWITCH_WINDOW)
            if due:
                last = index
        for _ in range(last + 1):
            self._apply(0)

    def _apply(self, index: int) -> None:
        _, kind, response_id = self._pending[index]
        del self._pending[index]
        if kind == "started":
            self._current = response_id
        elif self._current == response_id:
            self._current = None

    def _learn_item(self, event: dict[str, Any]) -> list[AssistantAudio]:
        item = event.get("item")
        response_id = event.get("response_id")
        if not isinstance(item, dict) or not isinstance(response_id, str):
            return []
        if item.get("type") != "message" or not isinstance(item.get("id"), str):
            return []
        if response_id in self._item_of:
            return []
        self._item_of[response_id] = item["id"]
        if len(self._item_of) > _KEPT_RESPONSES:
            del self._item_of[next(iter(self._item_of))]
        ready = [(r, pcm) for r, pcm in self._waiting if r == response_id]
        if not ready:
            return []
        self._waiting = deque((r, pcm) for r, pcm in self._waiting if r != response_id)
        return [AssistantAudio(response_id=r, item_id=item["id"], audio=pcm) for r, pcm in ready]


def _ahead(position: int, at: int) -> int:
    """How far ``position`` is after ``at`` (negative: before), on a clock that may have
    been unwrapped differently past 2**32."""
    step = (position - at) % _WRAP
    return step - _WRAP if step >= _WRAP // 2 else step
