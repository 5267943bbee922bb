"""The response queue: one response at a time, each request answered or failed.

``say()``, ``respond()``, typed replies and tool follow-ups become requests; the pump
sends the next one when no response is active, a watchdog fails a request the provider
never starts, and each response's :class:`~liveloop.Speech` learns how it ended.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol

from ..actions import CreateResponse
from ..errors import ProviderError, SessionClosed
from ..events import (
    AssistantTextDelta,
    AssistantTextDone,
    AssistantTranscriptDelta,
    AssistantTranscriptDone,
    ErrorEvent,
    ResponseDone,
    ResponseStarted,
)
from ..log import get_logger
from ..speech import Speech
from .bus import EventBus
from .context import Context
from .link import Link

_log = get_logger("liveloop.session")

RESPONSE_START_TIMEOUT = 15.0  # a response.create the provider never answers
REQUEST_KEY = "liveloop_request"
_RETRY_AFTER_RACE_S = 0.05

Kind = Literal["say", "respond", "tool_followup", "text_reply"]


@dataclass
class Request:
    """A response the runtime asked for."""

    id: str
    action: CreateResponse
    kind: Kind
    speech: Speech | None = None
    event_id: str | None = None
    response_id: str | None = None
    watchdog: asyncio.TimerHandle | None = None


class PlaybackView(Protocol):
    """What the queue asks playback when a response ends."""

    def was_cut(self, speech: Speech) -> bool:
        """Whether the speech's audio was cut off (barge-in)."""
        ...

    def finish_when_played(self, response_id: str, speech: Speech) -> bool:
        """Finish the speech when its audio has played, if it still plays elsewhere."""
        ...


class Responses:
    """Requests, the response in flight and the active one; ``idle`` is set when there is
    neither."""

    def __init__(self, ctx: Context, link: Link, bus: EventBus, playback: PlaybackView) -> None:
        self._ctx = ctx
        self._link = link
        self._playback = playback
        self.active: str | None = None
        self.idle = asyncio.Event()
        self.idle.set()
        self._pending: deque[Request] = deque()
        self._in_flight: Request | None = None
        self._by_response: dict[str, Request] = {}
        # respond() handles whose response called tools: they finish with the follow-up.
        self._after_tools: dict[str, Speech] = {}
        bus.on(ResponseStarted, self._on_started)
        bus.on(ResponseDone, self._on_done)
        bus.on(ErrorEvent, self._on_error)
        bus.on(AssistantTranscriptDelta, self._on_text_delta)
        bus.on(AssistantTextDelta, self._on_text_delta)
        bus.on(AssistantTranscriptDone, self._on_text_done)
        bus.on(AssistantTextDone, self._on_text_done)

    def request(self, action: CreateResponse, kind: Kind, speech: Speech | None = None) -> None:
        """Queue a response request."""
        # The request's id goes into the action's metadata when it is sent, with its event
        # id: one pydantic copy of the action per send instead of two.
        request = Request(f"r{self._ctx.next_id()}", action, kind, speech)
        self._pending.append(request)
        self.pump()

    def speech_of(self, response_id: str) -> Speech | None:
        """The speech a response is voicing, if the runtime asked for it."""
        request = self._by_response.get(response_id)
        return None if request is None else request.speech

    def kind_of(self, response_id: str) -> Kind | None:
        request = self._by_response.get(response_id)
        return None if request is None else request.kind

    def speeches(self) -> list[Speech]:
        """Every speech of a started response."""
        return [r.speech for r in self._by_response.values() if r.speech is not None]

    def take_held(self, response_id: str) -> Speech | None:
        """The speech waiting for the reply that follows a response's tool calls."""
        return self._after_tools.pop(response_id, None)

    def pump(self) -> None:
        # One response at a time: the provider rejects a second one while one is active.
        if self._ctx.closed or self._in_flight is not None or self.active is not None:
            return
        if not self._pending:
            return
        request = self._pending.popleft()
        request.event_id = self._ctx.event_id()
        self._in_flight = request
        loop = asyncio.get_running_loop()
        request.watchdog = loop.call_later(RESPONSE_START_TIMEOUT, self._never_started, request)
        metadata = {**request.action.metadata, REQUEST_KEY: request.id}
        update = {"metadata": metadata, "event_id": request.event_id}
        self._link.send(request.action.model_copy(update=update))
        self._update_idle()

    def cancel(self, speech: Speech) -> bool:
        """Drop a speech that is queued or waits for a follow-up; False if it is not."""
        for response_id, held in list(self._after_tools.items()):
            if held is speech:
                del self._after_tools[response_id]
                speech._finish("cancelled")
                return True
        for request in self._pending:
            if request.speech is speech:
                self._pending.remove(request)
                speech._finish("cancelled")
                return True
        return False

    def _update_idle(self) -> None:
        if self.active is None and self._in_flight is None:
            self.idle.set()
        else:
            self.idle.clear()

    def _never_started(self, request: Request) -> None:
        if self._in_flight is not request:
            return
        self._in_flight = None
        if request.speech is not None:
            request.speech._fail(
                ProviderError("the provider never started the response", code="timeout")
            )
        _log.warning("response request timed out", **self._ctx.log, request=request.id)
        self.pump()
        self._update_idle()

    def _on_started(self, event: ResponseStarted) -> None:
        self.active = event.response_id
        self._update_idle()
        request = self._in_flight
        if request is None or event.metadata.get(REQUEST_KEY) != request.id:
            return  # a response the provider started on its own (turn detection)
        self._in_flight = None
        if request.watchdog is not None:
            request.watchdog.cancel()
        request.response_id = event.response_id
        self._by_response[event.response_id] = request
        if request.speech is not None:
            request.speech.response_id = event.response_id
            if request.speech.status == "queued":
                request.speech.status = "speaking"

    def _on_text_delta(self, event: AssistantTranscriptDelta | AssistantTextDelta) -> None:
        speech = self.speech_of(event.response_id)
        if speech is not None:
            speech.item_id = speech.item_id or event.item_id
            speech.transcript += event.delta

    def _on_text_done(self, event: AssistantTranscriptDone | AssistantTextDone) -> None:
        speech = self.speech_of(event.response_id)
        if speech is not None:
            speech.item_id = speech.item_id or event.item_id
            text = event.transcript if isinstance(event, AssistantTranscriptDone) else event.text
            speech.transcript = text

    def _on_done(self, event: ResponseDone) -> None:
        if self.active == event.response_id:
            self.active = None
        metrics = self._ctx.metrics
        metrics.responses += 1
        if event.usage is not None:
            metrics.input_tokens += event.usage.input_tokens
            metrics.output_tokens += event.usage.output_tokens
            metrics.total_tokens += event.usage.total_tokens
        request = self._by_response.pop(event.response_id, None)
        speech = None if request is None else request.speech
        if (
            request is not None
            and speech is not None
            and request.kind in ("respond", "tool_followup")
            and event.status == "completed"
            and event.tool_call_ids
        ):
            # The model answered with tool calls: the reply the caller awaits is the one
            # that follows their results.
            self._after_tools[event.response_id] = speech
        elif speech is not None:
            if speech.status == "interrupted" or self._playback.was_cut(speech):
                speech._finish("interrupted")
            elif event.status == "cancelled":
                speech._finish("cancelled")
            elif event.status == "failed":
                speech._fail(ProviderError(f"response failed: {event.reason}", raw=event.raw))
            elif not self._playback.finish_when_played(event.response_id, speech):
                speech._finish("done")
        self.pump()
        self._update_idle()

    def _on_error(self, event: ErrorEvent) -> bool:
        request = self._in_flight
        if request is None or event.event_id is None or event.event_id != request.event_id:
            return False
        self._in_flight = None
        if request.watchdog is not None:
            request.watchdog.cancel()
        if self._ctx.errors.classify(event.code) == "response_active":
            # Lost a race with a response the provider started itself: go again after it.
            self._pending.appendleft(request)
            if self.active is None:
                asyncio.get_running_loop().call_later(_RETRY_AFTER_RACE_S, self.pump)
            self._update_idle()
            return True
        if request.speech is not None:
            error = ProviderError(
                event.message, code=event.code, event_id=event.event_id, raw=event.raw
            )
            request.speech._fail(error)
        self.pump()
        self._update_idle()
        return True

    def forget_link(self) -> None:
        """The connection was replaced: its responses are gone; a request in flight is
        asked again on the new one."""
        request, self._in_flight = self._in_flight, None
        if request is not None:
            if request.watchdog is not None:
                request.watchdog.cancel()
            self._pending.appendleft(request)
        for request in self._by_response.values():
            if request.speech is not None:
                request.speech._finish("interrupted")
        self._by_response.clear()
        self.active = None
        self._update_idle()

    def fail_all(self, reason: SessionClosed) -> None:
        for request in [*self._pending, self._in_flight, *self._by_response.values()]:
            if request is None:
                continue
            if request.speech is not None:
                request.speech._closed(reason)
            if request.watchdog is not None:
                request.watchdog.cancel()
        for speech in self._after_tools.values():
            speech._closed(reason)
        self._after_tools.clear()
        self._pending.clear()
        self._in_flight = None
        self._by_response.clear()
