"""Assembling user turns from OpenAI's events, released strictly in commit order.

A spoken turn opens when its audio is committed (``input_audio_buffer.committed`` or
the user item appearing) and is complete when its transcript is (``...transcription
.completed`` or ``.failed``), or at once when the session does not transcribe. A typed
turn is complete when its item appears. Turns leave in the order they opened: a later
turn whose transcript finishes first waits for the earlier ones.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

from liveloop.events import UserTurn
from liveloop.turns import SessionTurn

__all__ = ["TurnQueue"]

_MAX_WAITING = 32  # turns waiting for a transcript before the oldest is given up on
_MAX_REMEMBERED = 1024  # released item ids kept to ignore late duplicates


@dataclass
class _Pending:
    item_id: str
    channel: Literal["audio", "text"]
    text: str | None  # None while the transcript is outstanding
    started_ms: int | None = None
    ended_ms: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None


class TurnQueue:
    """User turns in commit order; every method returns the turns it released.

    ``transcribing`` says whether spoken turns wait for a transcript (set it whenever
    the session's transcription setting changes).
    """

    def __init__(self, *, transcribing: bool) -> None:
        self.transcribing = transcribing
        self._waiting: OrderedDict[str, _Pending] = OrderedDict()
        self._released: OrderedDict[str, None] = OrderedDict()
        self._timing: OrderedDict[str, list[int | None]] = OrderedDict()

    def knows(self, item_id: str) -> bool:
        """Whether ``item_id`` is a turn that is waiting or was already released."""
        return item_id in self._waiting or item_id in self._released

    def speech_started(self, item_id: str, audio_start_ms: int | None) -> None:
        """Remember where the user's speech for ``item_id`` starts."""
        self._timing_of(item_id)[0] = audio_start_ms

    def speech_stopped(self, item_id: str, audio_end_ms: int | None) -> None:
        """Remember where the user's speech for ``item_id`` ends."""
        self._timing_of(item_id)[1] = audio_end_ms

    def audio_committed(
        self,
        item_id: str,
        raw: dict[str, Any],
        started_ms: int | None = None,
        ended_ms: int | None = None,
    ) -> list[UserTurn]:
        """Open a spoken turn (once per item); ``started_ms``/``ended_ms`` are used when
        voice activity detection did not time the speech."""
        if self.knows(item_id):
            return []
        self._open(item_id, raw, None if self.transcribing else "", started_ms, ended_ms)
        return self._release()

    def _open(
        self,
        item_id: str,
        raw: dict[str, Any],
        text: str | None,
        started_ms: int | None = None,
        ended_ms: int | None = None,
    ) -> _Pending:
        timing = self._timing.pop(item_id, [None, None])
        pending = self._waiting[item_id] = _Pending(
            item_id=item_id,
            channel="audio",
            text=text,
            started_ms=timing[0] if timing[0] is not None else started_ms,
            ended_ms=timing[1] if timing[1] is not None else ended_ms,
            raw=raw,
        )
        return pending

    def typed(self, item_id: str, text: str, raw: dict[str, Any]) -> list[UserTurn]:
        """A typed user message: complete at once, released after earlier turns."""
        if self.knows(item_id):
            return []
        self._waiting[item_id] = _Pending(item_id=item_id, channel="text", text=text, raw=raw)
        return self._release()

    def ignore(self, item_id: str) -> None:
        """Never make a turn of ``item_id`` (e.g. restored history)."""
        self._waiting.pop(item_id, None)
        self._remember(item_id)

    def transcribed(self, item_id: str, transcript: str, raw: dict[str, Any]) -> list[UserTurn]:
        """The transcript of ``item_id`` is complete."""
        if item_id in self._released:
            return []
        pending = self._waiting.get(item_id)
        if pending is None:  # the commit was never seen: the turn starts and ends here
            # (with its transcript, even where the session was not known to transcribe)
            pending = self._open(item_id, raw, None)
        if pending.text is None:
            pending.text = transcript
            pending.raw = raw
        return self._release()

    def transcription_failed(
        self, item_id: str, error: dict[str, Any] | None, raw: dict[str, Any]
    ) -> list[UserTurn]:
        """Transcription of ``item_id`` failed: the turn is released with empty text and
        the provider's error in ``metadata["transcription_error"]``."""
        if item_id in self._released:
            return []
        pending = self._waiting.get(item_id)
        if pending is None:
            pending = self._open(item_id, raw, None)
        if pending.text is None:
            pending.text = ""
            pending.metadata["transcription_error"] = error or {}
            pending.raw = raw
        return self._release()

    def deleted(self, item_id: str) -> list[UserTurn]:
        """The item is gone from the conversation: its turn will not come."""
        if self._waiting.pop(item_id, None) is not None:
            self._remember(item_id)
        return self._release()

    def _timing_of(self, item_id: str) -> list[int | None]:
        timing = self._timing.get(item_id)
        if timing is None:
            timing = self._timing[item_id] = [None, None]
            while len(self._timing) > _MAX_WAITING:
                self._timing.popitem(last=False)
        return timing

    def _remember(self, item_id: str) -> None:
        self._released[item_id] = None
        while len(self._released) > _MAX_REMEMBERED:
            self._released.popitem(last=False)

    def _release(self) -> list[UserTurn]:
        released: list[UserTurn] = []
        while self._waiting:
            item_id, pending = next(iter(self._waiting.items()))
            if pending.text is None:
                if len(self._waiting) <= _MAX_WAITING:
                    break
                # A transcript that never came must not hold every later turn forever.
                pending.text = ""
                pending.metadata["transcript_missing"] = True
            del self._waiting[item_id]
            self._remember(item_id)
            released.append(_turn(pending))
        return released


def _turn(pending: _Pending) -> UserTurn:
    assert pending.text is not None
    turn = SessionTurn(
        text=pending.text,
        channel=pending.channel,
        item_id=pending.item_id,
        started_ms=pending.started_ms,
        ended_ms=pending.ended_ms,
        metadata=pending.metadata,
    )
    return UserTurn(turn=turn, raw=pending.raw)
