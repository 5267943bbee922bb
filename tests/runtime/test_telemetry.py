"""OpenTelemetry spans and metrics of a real session against the emulator, read with the
SDK's in-memory exporter and reader: a tool call, a barge-in and a reconnect."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import liveloop
from liveloop.testing import Heard, speak
from liveloop_emulator import Emulator, Rule

KEY = "sk-test-telemetry-0123456789abcdef"

pytestmark = pytest.mark.timeout(60)


class _Otel:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        # The global providers can be set once per process; every test here shares them.
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[self.reader]))

    def metric_points(self) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


_OTEL: _Otel | None = None


@pytest.fixture
def otel() -> Iterator[_Otel]:
    global _OTEL
    if _OTEL is None:
        _OTEL = _Otel()
    _OTEL.spans.clear()
    yield _OTEL


def lookup_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    return {"city": city, "sky": "sunny"}


def _named(spans: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name.startswith(prefix)]


async def test_a_session_traces_its_turns_responses_tools_say_and_reconnects(otel: _Otel) -> None:
    script = [Rule(match="weather", tool="lookup_weather", arguments={"city": "Paris"})]
    async with (
        Emulator(speed=4.0, script=script) as emu,
        liveloop.connect(api_key=KEY, base_url=emu.base_url, tools=[lookup_weather]) as session,
    ):
        heard = Heard(session)
        await session.send_text("what is the weather")
        await asyncio.wait_for(session.input(), 10)
        assert "sunny" in (await heard.wait_for_lines(1))[-1]
        speaking = session.say("this is a long announcement that keeps going for a while " * 3)
        before_ms = sum(len(audio) for audio in heard.audio.values()) // 48
        await heard.wait_for_audio(before_ms + 1000)  # the announcement is playing
        await speak(session, "stop")
        done = await speaking.wait(10)
        assert done.interrupted
        assert (await asyncio.wait_for(session.input(), 10)).text == "stop"
        await emu.faults.drop_all()
        await session.send_text("still there")
        assert (await asyncio.wait_for(session.input(), 10)).text == "still there"
        heard.close()
    spans = otel.spans.get_finished_spans()
    [root] = [span for span in spans if span.parent is None]
    assert root.attributes is not None
    assert root.attributes["gen_ai.system"] == session.config.provider
    assert root.attributes["gen_ai.request.model"] == session.config.model
    assert root.attributes["liveloop.session.id"] == session.id
    assert root.attributes["gen_ai.usage.output_tokens"] == session.metrics.output_tokens > 0
    children = [span for span in spans if span is not root]
    assert all(
        span.parent is not None and span.parent.span_id == root.context.span_id for span in children
    )

    [tool] = _named(spans, "execute_tool")
    assert tool.attributes is not None
    assert tool.attributes["gen_ai.tool.name"] == "lookup_weather"
    assert tool.attributes["liveloop.tool.outcome"] == "ok"

    [say] = _named(spans, "liveloop.say")
    assert say.attributes is not None
    assert say.attributes["liveloop.speech.interrupted"] is True
    assert 0 < int(str(say.attributes["liveloop.speech.played_ms"])) == done.played_ms

    [reconnect] = _named(spans, "liveloop.reconnect")
    assert (
        reconnect.attributes is not None
        and reconnect.attributes["liveloop.reconnect.attempts"] == 1
    )

    responses = _named(spans, "liveloop.response")
    # The tool call's, its follow-up, the announcement, and the echoes of "stop" and
    # "still there".
    assert len(responses) == 5
    statuses = {str((span.attributes or {})["liveloop.response.status"]) for span in responses}
    assert {"completed", "cancelled"} <= statuses
    assert any(span.events and span.events[0].name == "interrupted" for span in responses)
    turns = _named(spans, "liveloop.turn")
    assert [(span.attributes or {})["liveloop.turn.channel"] for span in turns] == [
        "text",
        "audio",
        "text",
    ]

    points = otel.metric_points()
    assert sum(point.value for point in points["liveloop.sessions.active"]) == 0
    assert sum(point.count for point in points["liveloop.tool.duration"]) >= 1
    assert sum(point.value for point in points["liveloop.reconnects"]) >= 1
    assert sum(point.count for point in points["liveloop.turn.latency"]) >= 1
    assert sum(point.count for point in points["liveloop.say.time_to_first_audio"]) >= 1


async def test_no_key_transcript_or_audio_reaches_spans_or_metrics(otel: _Otel) -> None:
    async with (
        Emulator(speed=8.0) as emu,
        liveloop.connect(api_key=KEY, base_url=emu.base_url) as session,
    ):
        heard = Heard(session)
        await speak(session, "my secret plan")
        await asyncio.wait_for(session.input(), 10)
        assert "my secret plan" in (await heard.wait_for_lines(1))[0]
        heard.close()
    dumped = "".join(span.to_json() for span in otel.spans.get_finished_spans())
    dumped += json.dumps(otel.reader.get_metrics_data().to_json())  # type: ignore[union-attr]
    assert KEY not in dumped and KEY[:12] not in dumped
    assert "secret plan" not in dumped
    for span in otel.spans.get_finished_spans():
        for value in (span.attributes or {}).values():
            assert not isinstance(value, bytes) and len(str(value)) < 200
