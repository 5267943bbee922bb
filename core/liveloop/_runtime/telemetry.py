"""OpenTelemetry traces and metrics of one session, derived from its normalized events.

liveloop depends on ``opentelemetry-api`` only: without a configured SDK every call below
is a no-op. Spans follow the OpenTelemetry GenAI semantic conventions where they apply
(``gen_ai.*`` attributes); the rest are ``liveloop.*``. What goes into a span or metric
is identifiers, names, counts and durations: never keys, transcripts, tool arguments or
audio.

The API is imported only when something in the process already imported
``opentelemetry`` (an application that configures the SDK has): a process that never
uses OpenTelemetry would get no-op spans anyway, and should not pay their import at
start-up.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..events import (
    ErrorEvent,
    Event,
    Interrupted,
    Reconnected,
    ResponseDone,
    ResponseStarted,
    ToolCall,
    ToolCallCancelled,
    ToolResult,
    UserSpeechStarted,
    UserTurn,
)
from ..log import redact
from .context import Context

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram, UpDownCounter
    from opentelemetry.trace import Span, Tracer

    from ..speech import Speech

__all__ = ["Telemetry", "telemetry_for"]

_SCOPE = "liveloop"


def telemetry_for(ctx: Context, model: str | None) -> Telemetry | None:
    """A telemetry component for the session, or ``None`` when OpenTelemetry is unused."""
    if "opentelemetry" not in sys.modules:
        return None
    return Telemetry(ctx, model)


class _Instruments:
    """The process's liveloop instruments, made once from the global meter provider."""

    _made: _Instruments | None = None
    _provider: object = None

    def __init__(self) -> None:
        from opentelemetry import metrics

        meter = metrics.get_meter(_SCOPE)
        self.active: UpDownCounter = meter.create_up_down_counter(
            "liveloop.sessions.active", unit="{session}", description="Sessions open now."
        )
        self.turn_latency: Histogram = meter.create_histogram(
            "liveloop.turn.latency",
            unit="ms",
            description="End of the user's speech to the first assistant audio.",
        )
        self.first_audio: Histogram = meter.create_histogram(
            "liveloop.say.time_to_first_audio",
            unit="ms",
            description="A say() or respond() call to the first audio of its reply.",
        )
        self.tool_duration: Histogram = meter.create_histogram(
            "liveloop.tool.duration", unit="s", description="Tool calls, call to answer."
        )
        self.reconnects: Counter = meter.create_counter(
            "liveloop.reconnects", unit="{reconnect}", description="Sessions restored."
        )
        self.audio_dropped: Counter = meter.create_counter(
            "liveloop.audio.dropped",
            unit="ms",
            description="User audio dropped while the connection was down.",
        )
        self.errors: Counter = meter.create_counter(
            "liveloop.errors", unit="{error}", description="Errors sessions survived, by kind."
        )

    @classmethod
    def get(cls) -> _Instruments:
        from opentelemetry import metrics

        # A test (or an application) may install a new meter provider: follow it.
        provider = metrics.get_meter_provider()
        if cls._made is None or cls._provider is not provider:
            cls._made = cls()
            cls._provider = provider
        return cls._made


class Telemetry:
    """Opens and ends the session's spans and records its metrics from the events the
    session publishes (it sees them after the components, changes nothing)."""

    def __init__(self, ctx: Context, model: str | None) -> None:
        from opentelemetry import trace

        self._ctx = ctx
        self._trace = trace
        self._tracer: Tracer = trace.get_tracer(_SCOPE)
        self._metrics = _Instruments.get()
        self._base = {
            "gen_ai.system": ctx.config.provider,
            "liveloop.transport": ctx.config.transport,
        }
        attributes: dict[str, Any] = {
            **self._base,
            "gen_ai.operation.name": "realtime",
            "liveloop.session.id": ctx.session_id,
        }
        if model:
            attributes["gen_ai.request.model"] = model
        if ctx.config.call_id is not None:
            attributes["liveloop.call.id"] = ctx.config.call_id
        self._session: Span = self._tracer.start_span(
            f"realtime {model or ''}".strip(), attributes=attributes
        )
        self._context = trace.set_span_in_context(self._session)
        self._turn: Span | None = None
        self._turns_recorded = 0
        self._responses: dict[str, Span] = {}
        self._tools: dict[str, tuple[Span, float]] = {}
        self._metrics.active.add(1, self._base)
        self._handlers: dict[type[Any], Callable[[Any], None]] = {
            UserSpeechStarted: self._on_speech_started,
            UserTurn: self._on_turn,
            ResponseStarted: self._on_response_started,
            ResponseDone: self._on_response_done,
            ToolCall: self._on_tool_call,
            ToolResult: self._on_tool_result,
            ToolCallCancelled: self._on_tools_cancelled,
            Interrupted: self._on_interrupted,
            Reconnected: self._on_reconnected,
            ErrorEvent: self._on_error,
        }

    def seen(self, event: Event) -> None:
        """Account for one event the session published (every event reaches here once)."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _child(self, name: str, **attributes: Any) -> Span:
        return self._tracer.start_span(name, context=self._context, attributes=attributes)

    # -- turns and responses ---------------------------------------------------------------

    def _on_speech_started(self, event: UserSpeechStarted) -> None:
        if self._turn is None:
            self._turn = self._child("liveloop.turn")

    def _on_turn(self, event: UserTurn) -> None:
        span = self._turn or self._child("liveloop.turn")
        self._turn = None
        turn = event.turn
        span.set_attributes(
            {"liveloop.turn.channel": turn.channel, "liveloop.turn.interrupted": turn.interrupted}
        )
        if turn.item_id is not None:
            span.set_attribute("liveloop.turn.item_id", turn.item_id)
        span.end()

    def _on_response_started(self, event: ResponseStarted) -> None:
        self._responses[event.response_id] = self._child(
            "liveloop.response", **{"gen_ai.response.id": event.response_id}
        )

    def _on_response_done(self, event: ResponseDone) -> None:
        span = self._responses.pop(event.response_id, None) or self._child(
            "liveloop.response", **{"gen_ai.response.id": event.response_id}
        )
        span.set_attribute("liveloop.response.status", event.status)
        if event.usage is not None:
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": event.usage.input_tokens,
                    "gen_ai.usage.output_tokens": event.usage.output_tokens,
                }
            )
        span.end()
        self._record_turn_latencies()

    def _record_turn_latencies(self) -> None:
        # A turn's latency is known once its reply's first audio arrived; record each once.
        turns = self._ctx.metrics.turns
        for index in range(self._turns_recorded, len(turns)):
            latency = turns[index].first_audio_latency_ms
            if latency is None:
                continue
            self._metrics.turn_latency.record(latency, self._base)
            self._turns_recorded = index + 1

    def _on_interrupted(self, event: Interrupted) -> None:
        span = self._responses.get(event.response_id or "")
        if span is not None:
            span.add_event("interrupted", {"liveloop.played_ms": event.played_ms or 0})

    # -- tools -----------------------------------------------------------------------------

    def _on_tool_call(self, event: ToolCall) -> None:
        span = self._child(
            f"execute_tool {event.name}",
            **{
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": event.name,
                "gen_ai.tool.call.id": event.call_id,
            },
        )
        self._tools[event.call_id] = (span, time.monotonic())

    def _end_tool(self, call_id: str, name: str, outcome: str) -> None:
        span, started = self._tools.pop(call_id, (None, 0.0))
        if span is None:
            return
        span.set_attribute("liveloop.tool.outcome", outcome)
        if outcome == "error":
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR))
        span.end()
        attrs = {**self._base, "gen_ai.tool.name": name, "liveloop.tool.outcome": outcome}
        self._metrics.tool_duration.record(time.monotonic() - started, attrs)

    def _on_tool_result(self, event: ToolResult) -> None:
        self._end_tool(event.call_id, event.name, "error" if event.is_error else "ok")

    def _on_tools_cancelled(self, event: ToolCallCancelled) -> None:
        for call_id in event.call_ids:
            self._end_tool(call_id, "", "cancelled")

    # -- the rest --------------------------------------------------------------------------

    def _end_open_responses(self, status: str) -> None:
        for span in self._responses.values():
            span.set_attribute("liveloop.response.status", status)
            span.end()
        self._responses.clear()

    def _on_reconnected(self, event: Reconnected) -> None:
        # Responses of the replaced connection never finish: they ended with it.
        self._end_open_responses("lost")
        span = self._child(
            "liveloop.reconnect",
            **{
                "liveloop.reconnect.attempts": event.attempts,
                "liveloop.reconnect.resumed": event.resumed,
            },
        )
        span.end()
        self._metrics.reconnects.add(1, {**self._base, "liveloop.reconnect.resumed": event.resumed})

    def _on_error(self, event: ErrorEvent) -> None:
        kind = self._ctx.errors.classify(event.code) or "other"
        self._metrics.errors.add(
            1, {**self._base, "error.type": event.code or "unknown", "liveloop.error.kind": kind}
        )

    def speech(self, speech: Speech, kind: str) -> None:
        """Trace one ``say()``/``respond()`` until its handle finishes."""
        span = self._child(f"liveloop.{kind}")

        def done(_: object) -> None:
            span.set_attributes(
                {
                    "liveloop.speech.status": speech.status,
                    "liveloop.speech.interrupted": speech.interrupted,
                    "liveloop.speech.played_ms": speech.played_ms,
                }
            )
            if speech.response_id is not None:
                span.set_attribute("gen_ai.response.id", speech.response_id)
            span.end()
            if speech.first_audio_latency_ms is not None:
                self._metrics.first_audio.record(
                    speech.first_audio_latency_ms, {**self._base, "liveloop.kind": kind}
                )

        speech._on_done(done)

    def close(self, error: str | None) -> None:
        """End every open span and the session's."""
        self._end_open_responses("unfinished")
        self._record_turn_latencies()
        for span, _ in self._tools.values():
            span.set_attribute("liveloop.tool.outcome", "unfinished")
            span.end()
        if self._turn is not None:
            self._turn.end()
        self._tools.clear()
        self._turn = None
        if self._ctx.metrics.audio_dropped_ms:
            self._metrics.audio_dropped.add(self._ctx.metrics.audio_dropped_ms, self._base)
        self._metrics.active.add(-1, self._base)
        self._session.set_attributes(
            {
                "gen_ai.usage.input_tokens": self._ctx.metrics.input_tokens,
                "gen_ai.usage.output_tokens": self._ctx.metrics.output_tokens,
            }
        )
        if error is not None:
            # The cause may quote a provider's message: masked like a log line.
            self._session.set_status(
                self._trace.Status(self._trace.StatusCode.ERROR, redact(error))
            )
        self._session.end()
