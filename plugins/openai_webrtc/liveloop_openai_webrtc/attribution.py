"""Which assistant item the provider's audio track is playing.

A WebRTC track carries the assistant's audio without ids; the provider's events on the
data channel say when a response's audio starts and stops playing
(``output_audio_buffer.started`` / ``stopped`` / ``cleared``, with the response id) and
which item a response speaks (``response.output_item.added``). The track lags those
events by the media pipeline's delay, so after back-to-back responses the previous
one's last audio is still arriving when the next one's start is announced: the switch
happens after that much audio (measured once, on the first response), at a pause, or at
the latest after :data:`TRACK_SWITCH_MAX_S`.

Audio is only ever attributed to an item id the provider gave; audio of a response whose
item is not known yet waits for it (bounded).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from liveloop.events import AssistantAudio

__all__ = ["TRACK_SWITCH_MAX_S", "TrackAttribution"]

TRACK_SWITCH_MAX_S = 0.5
"""Longest a media track's audio lags its playback events."""
QUIET_LEVEL = 100
"""PCM16 amplitude below which a chunk counts as silence (the pause between replies)."""
MAX_WAITING_CHUNKS = 500
"""Chunks kept while their response's item is not known yet; the oldest are dropped."""
_KEPT_RESPONSES = 64


def is_quiet(pcm: bytes) -> bool:
    """True for PCM16 with no sample above about -50 dBFS."""
    samples = memoryview(pcm[: len(pcm) - len(pcm) % 2]).cast("h")
    return not samples or max(max(samples), -min(samples)) < QUIET_LEVEL


class TrackAttribution:
    """Attributes chunks of track audio (PCM16 at ``bytes_per_ms``) to the provider's
    response and item ids, following the data channel's events."""

    def __init__(self, bytes_per_ms: float) -> None:
        self._bytes_per_ms = bytes_per_ms
        self._item_of: dict[str, str] = {}
        self._current: str | None = None  # the response the track plays
        self._next: tuple[str, float, int] | None = None  # response, deadline, lag left
        self._lag: int | None = None  # bytes the track lags its playback events
        self._lag_probe: int | None = None
        self._waiting: deque[tuple[str, bytes]] = deque()
        self.dropped_chunks = 0
        """Chunks dropped because their item never became known in time."""

    def on_event(self, event: dict[str, Any]) -> list[AssistantAudio]:
        """Follow one data-channel event; returns chunks it made attributable."""
        kind = event.get("type")
        response_id = event.get("response_id")
        if kind == "response.output_item.added":
            return self._learn_item(event)
        if kind == "output_audio_buffer.started" and isinstance(response_id, str):
            if self._current is None:
                self._current = response_id
                self._lag_probe = 0
            else:
                deadline = time.monotonic() + TRACK_SWITCH_MAX_S
                self._next = (response_id, deadline, self._lag or 0)
        return []

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

    def attribute(self, pcm: bytes) -> AssistantAudio | None:
        """The chunk with its ids, or ``None`` while its item is not known (kept)."""
        self._follow(pcm)
        response_id = self._current
        if response_id is None:
            self.dropped_chunks += 1  # audio before any announced playback is not speech
            return None
        item_id = self._item_of.get(response_id)
        if item_id is None:
            if len(self._waiting) >= MAX_WAITING_CHUNKS:
                self._waiting.popleft()
                self.dropped_chunks += 1
            self._waiting.append((response_id, pcm))
            return None
        return AssistantAudio(response_id=response_id, item_id=item_id, audio=pcm)

    def _follow(self, pcm: bytes) -> None:
        quiet = is_quiet(pcm)
        if self._lag_probe is not None:
            # Measured once: how much audio comes between the first playback event and
            # the first sound of that response.
            limit = TRACK_SWITCH_MAX_S * 1000 * self._bytes_per_ms
            if quiet and self._lag_probe < limit:
                self._lag_probe += len(pcm)
            else:
                self._lag, self._lag_probe = self._lag_probe, None
        if self._next is None:
            return
        following, deadline, lag_left = self._next
        if quiet or lag_left <= 0 or time.monotonic() >= deadline:
            self._current, self._next = following, None
        else:
            self._next = (following, deadline, lag_left - len(pcm))
