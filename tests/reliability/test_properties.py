"""Property-based: valid OpenAI Realtime GA server events, mutated (keys dropped, types
changed, huge strings, deep nesting, random JSON, broken bytes), never break the codec or a
live session.

The codec's ``decode`` never raises. A real :class:`liveloop.Session` fed the frames stays
open and usable (a ``say()`` still gets its ``response.create`` out), and once closed leaves
no task behind.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liveloop
from liveloop.events import ErrorEvent, ResponseDone, ResponseStarted
from liveloop.matrix import Capability
from liveloop.tools import tools_from
from liveloop_openai import OpenAICodec
from liveloop_openai.errors import ERRORS

# -- valid GA server events (shapes from tests/openai/conftest.py and the emulator) -----------

AUDIO = {"format": {"type": "audio/pcm", "rate": 24000}}
SESSION = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_1",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "audio": {"input": {**AUDIO, "transcription": None}, "output": {**AUDIO, "voice": "marin"}},
}
USAGE = {"total_tokens": 12, "input_tokens": 10, "output_tokens": 2}
CALL = {
    "id": "item_fc1",
    "object": "realtime.item",
    "type": "function_call",
    "status": "completed",
    "call_id": "call_1",
    "name": "lookup",
    "arguments": '{"city": "Paris"}',
}
USER_ITEM = {
    "id": "item_u1",
    "object": "realtime.item",
    "type": "message",
    "role": "user",
    "status": "completed",
    "content": [{"type": "input_text", "text": "hello"}],
}


def response(status: str, output: list[Any] | None = None) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "realtime.response",
        "status": status,
        "status_details": None,
        "output": output or [],
        "conversation_id": "conv_1",
        "output_modalities": ["audio"],
        "metadata": None,
        "usage": USAGE if status == "completed" else None,
    }


SEEDS: list[dict[str, Any]] = [
    {"type": "session.created", "session": SESSION},
    {"type": "session.updated", "session": SESSION},
    {"type": "input_audio_buffer.speech_started", "audio_start_ms": 100, "item_id": "item_u1"},
    {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900, "item_id": "item_u1"},
    {"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": "item_u1"},
    {"type": "conversation.item.added", "previous_item_id": None, "item": USER_ITEM},
    {"type": "conversation.item.done", "previous_item_id": None, "item": USER_ITEM},
    {
        "type": "conversation.item.input_audio_transcription.completed",
        "item_id": "item_u1",
        "content_index": 0,
        "transcript": "hello there",
        "usage": {"type": "tokens", "input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
    },
    {"type": "response.created", "response": response("in_progress")},
    {
        "type": "response.output_audio.delta",
        "response_id": "resp_1",
        "item_id": "item_a1",
        "output_index": 0,
        "content_index": 0,
        "delta": "AAAAAAAAAAA=",
    },
    {
        "type": "response.output_audio_transcript.done",
        "response_id": "resp_1",
        "item_id": "item_a1",
        "output_index": 0,
        "content_index": 0,
        "transcript": "hi",
    },
    {
        "type": "response.output_text.delta",
        "response_id": "resp_1",
        "item_id": "item_a1",
        "output_index": 0,
        "content_index": 0,
        "delta": "hi",
    },
    {
        "type": "response.function_call_arguments.done",
        "response_id": "resp_1",
        "item_id": "item_fc1",
        "output_index": 0,
        "call_id": "call_1",
        "name": "lookup",
        "arguments": '{"city": "Paris"}',
    },
    {"type": "response.output_item.done", "response_id": "resp_1", "output_index": 0, "item": CALL},
    {"type": "response.done", "response": response("completed", [CALL])},
    {
        "type": "error",
        "error": {"type": "invalid_request_error", "code": "x", "message": "m", "param": None},
    },
    {"type": "rate_limits.updated", "rate_limits": []},
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children)
    ),
    max_leaves=12,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _replace(event: Any, path: tuple[Any, ...], make: Callable[[Any], Any], drop: bool) -> Any:
    if not path:
        return make(event)
    parent = event
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = make(parent[path[-1]])
    return event


def _nest(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = [value] if level % 2 else {"x": value}
    return value


@st.composite
def mutated_events(draw: st.DrawFn) -> str | bytes:
    """A valid GA event, mutated a few times, as the frame a provider would send."""
    event: Any = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 3))):
        paths = _paths(event)
        path = draw(st.sampled_from(paths))
        kind = draw(
            st.sampled_from(["drop", "retype", "huge", "nest", "type"])
            if path
            else st.sampled_from(["retype", "nest"])
        )
        if kind == "drop":
            event = _replace(event, path, lambda v: v, drop=True)
        elif kind == "retype":
            other = draw(json_values)
            event = _replace(event, path, lambda v, o=other: o, drop=False)
        elif kind == "huge":
            size = draw(st.sampled_from([10_000, 1_000_000]))
            event = _replace(event, path, lambda v, n=size: "A" * n, drop=False)
        elif kind == "nest":
            depth = draw(st.sampled_from([3, 50, 400]))
            event = _replace(event, path, lambda v, d=depth: _nest(v, d), drop=False)
        else:
            other = draw(st.sampled_from([s["type"] for s in SEEDS]) | st.text(max_size=20))
            if isinstance(event, dict):
                event["type"] = other
    frame = json.dumps(event)
    ending = draw(st.sampled_from(["json", "json", "json", "bytes", "cut", "deep"]))
    if ending == "bytes":
        return frame.encode()
    if ending == "cut":
        return frame[: draw(st.integers(0, max(len(frame) - 1, 0)))]
    if ending == "deep":
        return "[" * 5000 + "]" * 5000
    return frame


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(frames=st.lists(mutated_events(), min_size=1, max_size=6))
def test_the_codec_never_raises_on_mutated_events(frames: list[str | bytes]) -> None:
    codec = OpenAICodec(liveloop.SessionConfig())
    for frame in frames:
        events = codec.decode(frame)
        assert isinstance(events, list)
        for event in events:
            if isinstance(event, ErrorEvent) and event.code == "codec_error":
                raise AssertionError(event.message)  # a bug in the codec, not in the input


# -- the runtime ------------------------------------------------------------------------------

FEATURES = liveloop.plugin.Features(
    audio_in=True,
    audio_out=True,
    text=True,
    server_vad=True,
    interruption="client_truncates",
    tools=True,
    verbatim_say=True,
    media="events",
    audio_formats=("pcm16",),
)
CAPABILITY = Capability(
    provider="openai",
    transport="memory",
    plugin="tests",
    version="0",
    provider_plugin="tests",
    provider_version="0",
    features=FEATURES,
)


class FakeProvider:
    """An in-memory connection answering like a provider: ``session.updated`` for each
    ``session.update``, a started and completed response for each ``response.create``."""

    media = None

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.received: list[str | bytes] = []
        self.incoming: asyncio.Queue[str | bytes | BaseException] = asyncio.Queue()
        self._responses = 0

    def push(self, frame: str | bytes | dict[str, Any]) -> None:
        self.incoming.put_nowait(json.dumps(frame) if isinstance(frame, dict) else frame)

    async def send(self, message: str) -> None:
        event = json.loads(message)
        self.sent.append(event)
        if event["type"] == "session.update":
            self.push({"type": "session.updated", "event_id": "ev_u", "session": SESSION})
        elif event["type"] == "response.create":
            self._responses += 1
            started = response("in_progress")
            started["id"] = f"resp_fake_{self._responses}"
            started["metadata"] = event.get("response", {}).get("metadata")
            self.push({"type": "response.created", "event_id": "ev_c", "response": started})
            done = {**started, "status": "completed", "usage": USAGE}
            self.push({"type": "response.done", "event_id": "ev_d", "response": done})

    async def receive(self) -> str | bytes:
        item = await self.incoming.get()
        self.incoming.task_done()
        if isinstance(item, BaseException):
            raise item
        self.received.append(item)
        return item

    async def close(self) -> None:
        self.incoming.put_nowait(liveloop.ConnectionLost("closed"))


def lookup(city: str) -> str:
    """Look a city up."""
    return city


async def _settle(connection: FakeProvider) -> None:
    async with asyncio.timeout(5):
        await connection.incoming.join()
    await asyncio.sleep(0.01)


def _left_active(connection: FakeProvider) -> list[str]:
    """Ids of responses the provider started and did not end (as the codec reads them)."""
    codec = OpenAICodec(liveloop.SessionConfig(api_key="sk-prop-test"))
    active: list[str] = []
    for frame in connection.received:
        for event in codec.decode(frame):
            if isinstance(event, ResponseStarted):
                active.append(event.response_id)
            elif isinstance(event, ResponseDone) and event.response_id in active:
                active.remove(event.response_id)
    return active


async def _run_session(frames: list[str | bytes]) -> None:
    before = asyncio.all_tasks()
    config = liveloop.SessionConfig(api_key="sk-prop-test", tool_timeout=1.0, reconnect=None)
    connection = FakeProvider()
    session = liveloop.Session(
        config=config,
        codec=OpenAICodec(config),
        connection=connection,
        capability=CAPABILITY,
        tools=tools_from([lookup]).values(),
        errors=ERRORS,
    )
    await session._start()
    try:
        for frame in frames:
            connection.push(frame)
        await _settle(connection)
        assert not session.closed, session.close_reason
        for active in _left_active(connection):  # responses the frames started: end them
            done = {**response("completed"), "id": active}
            connection.push({"type": "response.done", "event_id": "ev_e", "response": done})
            await _settle(connection)
        speech = session.say("still here")
        async with asyncio.timeout(5):
            await speech.wait()
        creates = [e for e in connection.sent if e["type"] == "response.create"]
        assert "still here" in json.dumps(creates[-1])
    finally:
        await session.close()
    await asyncio.sleep(0)
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
    assert left == [], left


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frames=st.lists(mutated_events(), min_size=1, max_size=6))
def test_a_session_fed_mutated_events_stays_usable_and_leaves_no_task(
    frames: list[str | bytes],
) -> None:
    asyncio.run(_run_session(frames))
