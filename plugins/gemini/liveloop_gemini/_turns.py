"""The turn bookkeeping Gemini Live leaves to the client.

Gemini has no conversation items, response ids or speech events: the server streams
transcript fragments and model output, and marks ends with ``turnComplete``. This
module gives each user utterance and each model response an id of its own and decides
when they begin and end, so the codec can speak liveloop's events.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from liveloop.events import (
    AssistantTextDone,
    AssistantTranscriptDone,
    Event,
    ResponseDone,
    ResponseStarted,
    Usage,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscriptDelta,
    UserTurn,
)
from liveloop.turns import SessionTurn

__all__ = ["Response", "TurnState"]

_MAX_PENDING = 32


@dataclass
class Response:
    """One model response: what it said so far, the calls it made."""

    id: str
    item_id: str
    metadata: dict[str, str]
    transcript: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    call_ids: list[str] = field(default_factory=list)
    usage: Usage | None = None


@dataclass
class _UserTurn:
    item_id: str
    text: list[str] = field(default_factory=list)
    started: bool = False
    stopped: bool = False


class TurnState:
    """Ids and boundaries of user turns and model responses on one connection."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.response: Response | None = None
        self.user: _UserTurn | None = None
        # Metadata of response requests sent, oldest first: the next responses carry it.
        self.requests: deque[dict[str, str]] = deque(maxlen=_MAX_PENDING)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    # -- user turns ------------------------------------------------------------------------

    def _user(self) -> _UserTurn:
        if self.user is None:
            self.user = _UserTurn(self.next_id("gu"))
        return self.user

    def speech_started(self, raw: dict[str, Any] | None) -> list[Event]:
        user = self._user()
        if user.started:
            return []
        user.started = True
        return [UserSpeechStarted(item_id=user.item_id, raw=raw)]

    def speech_stopped(self, raw: dict[str, Any] | None) -> list[Event]:
        user = self.user
        if user is None or not user.started or user.stopped:
            return []
        user.stopped = True
        return [UserSpeechStopped(item_id=user.item_id, raw=raw)]

    def transcribed(self, text: str, finished: bool, raw: dict[str, Any]) -> list[Event]:
        events = self.speech_started(raw)
        user = self._user()
        if text:
            user.text.append(text)
            events.append(UserTranscriptDelta(item_id=user.item_id, delta=text, raw=raw))
        if finished:
            events += self.end_user_turn(raw)
        return events

    def end_user_turn(self, raw: dict[str, Any] | None) -> list[Event]:
        """Finish the user's utterance: a turn if anything was heard of it."""
        user, self.user = self.user, None
        if user is None:
            return []
        events: list[Event] = []
        if user.started and not user.stopped:
            events.append(UserSpeechStopped(item_id=user.item_id, raw=raw))
        text = "".join(user.text).strip()
        if user.text:
            turn = SessionTurn(text=text, channel="audio", item_id=user.item_id)
            events.append(UserTurn(turn=turn, raw=raw))
        return events

    def typed(self, text: str) -> Event:
        turn = SessionTurn(text=text, channel="text", item_id=self.next_id("gt"))
        return UserTurn(turn=turn)

    # -- responses -------------------------------------------------------------------------

    def start_response(self, raw: dict[str, Any] | None) -> tuple[Response, list[Event]]:
        """The active response, starting one (and ending the user's speech) if needed."""
        if self.response is not None:
            return self.response, []
        events = self.speech_stopped(raw)
        metadata = self.requests.popleft() if self.requests else {}
        response = Response(self.next_id("gr"), self.next_id("gi"), metadata)
        self.response = response
        events.append(ResponseStarted(response_id=response.id, metadata=metadata, raw=raw))
        return response, events

    def end_response(
        self, status: str, raw: dict[str, Any] | None, reason: str | None = None
    ) -> list[Event]:
        """End the active response (finishing its transcript); nothing if none is."""
        response, self.response = self.response, None
        if response is None:
            return []
        ids = {"response_id": response.id, "item_id": response.item_id}
        events: list[Event] = []
        if response.transcript:
            events.append(AssistantTranscriptDone(**ids, transcript="".join(response.transcript)))
        if response.text:
            events.append(AssistantTextDone(**ids, text="".join(response.text)))
        events.append(
            ResponseDone(
                response_id=response.id,
                status=status,
                reason=reason,
                usage=response.usage,
                metadata=response.metadata,
                tool_call_ids=tuple(response.call_ids),
                raw=raw,
            )
        )
        return events
