"""Property-based, for Gemini Live: valid server messages (checked against the google-genai
SDK's ``LiveServerMessage``), mutated (keys dropped, types changed, huge strings, deep
nesting, snake_case, broken bytes), never break the codec or a live session.

The codec's ``decode`` never raises and never fails inside (no ``codec_error``). A real
:class:`liveloop.Session` fed the frames stays open and usable (a ``say()`` still gets its
``clientContent`` out and completes), and once closed leaves no task behind.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from typing import Any

import pytest
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liveloop
from liveloop.events import ErrorEvent
from liveloop.matrix import Capability
from liveloop_gemini import GeminiCodec
from liveloop_gemini.plugin import FEATURES

AUDIO = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAAAAAAA"}}
SEEDS: list[dict[str, Any]] = [
    {"setupComplete": {}},
    {"serverContent": {"inputTranscription": {"text": "hello", "finished": True}}},
    {"serverContent": {"modelTurn": {"role": "model", "parts": [AUDIO]}}},
    {"serverContent": {"modelTurn": {"parts": [{"text": "hi"}, {"text": "x", "thought": True}]}}},
    {"serverContent": {"outputTranscription": {"text": "It is"}}},
    {"serverContent": {"generationComplete": True}},
    {"serverContent": {"turnComplete": True}, "usageMetadata": {"totalTokenCount": 3}},
    {"serverContent": {"interrupted": True}},
    {"toolCall": {"functionCalls": [{"id": "c1", "name": "lookup", "args": {"city": "Oslo"}}]}},
    {"toolCallCancellation": {"ids": ["c1"]}},
    {"goAway": {"timeLeft": "50s"}},
    {"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}},
    {"usageMetadata": {"promptTokenCount": 1, "responseTokenCount": 2}},
    {"voiceActivity": {"voiceActivityType": "ACTIVITY_START"}},
]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_seeds_are_valid_gemini_messages(seed: dict[str, Any]) -> None:
    types.LiveServerMessage.model_validate(seed)


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


def _set(message: Any, path: tuple[Any, ...], value: Any, *, drop: bool = False) -> Any:
    if not path:
        return value
    parent = message
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return message


def _snake(frame: str) -> str:
    # proto3 JSON: the same message with snake_case keys must mean the same.
    return re.sub(r'"([a-z]+[A-Z][A-Za-z]*)":', lambda m: f'"{_to_snake(m.group(1))}":', frame)


def _to_snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


@st.composite
def mutated_messages(draw: st.DrawFn) -> str | bytes:
    """A valid Gemini server message, mutated a few times, as the frame a server sends."""
    message: Any = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_paths(message)))
        kind = draw(st.sampled_from(["drop", "retype", "huge", "nest"] if path else ["retype"]))
        if kind == "drop":
            message = _set(message, path, None, drop=True)
        elif kind == "retype":
            message = _set(message, path, draw(json_values))
        elif kind == "huge":
            message = _set(message, path, "A" * draw(st.sampled_from([10_000, 1_000_000])))
        else:
            nested: Any = "x"
            for level in range(draw(st.sampled_from([3, 50, 400]))):
                nested = [nested] if level % 2 else {"x": nested}
            message = _set(message, path, nested)
    frame = json.dumps(message)
    ending = draw(st.sampled_from(["json", "json", "snake", "bytes", "cut", "deep"]))
    if ending == "snake":
        return _snake(frame)
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
CONFIG = liveloop.SessionConfig(
    provider="gemini", model="gemini-3.8-live", api_key="g-prop-test", reconnect=None
)


@SETTINGS
@given(frames=st.lists(mutated_messages(), min_size=1, max_size=6))
def test_the_codec_never_raises_on_mutated_messages(frames: list[str | bytes]) -> None:
    codec = GeminiCodec(CONFIG)
    for frame in frames:
        events = codec.decode(frame)
        assert isinstance(events, list)
        for event in events:
            if isinstance(event, ErrorEvent) and event.code == "codec_error":
                raise AssertionError(event.message)  # a bug in the codec, not in the input


@SETTINGS
@given(value=json_values)
def test_any_json_decodes_to_a_list(value: Any) -> None:
    assert isinstance(GeminiCodec(CONFIG).decode(json.dumps(value)), list)


# -- the runtime ------------------------------------------------------------------------------

CAPABILITY = Capability(
    provider="gemini",
    transport="memory",
    plugin="tests",
    version="0",
    provider_plugin="tests",
    provider_version="0",
    features=FEATURES,
)


class FakeGemini:
    """An in-memory connection answering like Gemini Live: ``setupComplete`` for the
    setup, a short transcribed turn for each ``clientContent`` that completes a turn."""

    media = None

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.incoming: asyncio.Queue[str | bytes | BaseException] = asyncio.Queue()

    def push(self, frame: str | bytes | dict[str, Any]) -> None:
        self.incoming.put_nowait(json.dumps(frame) if isinstance(frame, dict) else frame)

    async def send(self, message: str) -> None:
        sent = json.loads(message)
        self.sent.append(sent)
        if "setup" in sent:
            self.push({"setupComplete": {}})
        elif sent.get("clientContent", {}).get("turnComplete") or "toolResponse" in sent:
            # The model answers a completed turn, and a tool's result, on its own.
            self.push({"serverContent": {"turnComplete": True}})  # ends whatever ran
            self.push({"serverContent": {"outputTranscription": {"text": "ok"}}})
            self.push({"serverContent": {"modelTurn": {"parts": [AUDIO]}}})
            self.push({"serverContent": {"turnComplete": True}})

    async def receive(self) -> str | bytes:
        item = await self.incoming.get()
        self.incoming.task_done()
        if isinstance(item, BaseException):
            raise item
        return item

    async def close(self) -> None:
        self.incoming.put_nowait(liveloop.ConnectionLost("closed"))


async def _run_session(frames: list[str | bytes]) -> None:
    before = asyncio.all_tasks()
    connection = FakeGemini()
    session = liveloop.Session(
        config=CONFIG, codec=GeminiCodec(CONFIG), connection=connection, capability=CAPABILITY
    )
    await session._start()
    try:
        for frame in frames:
            connection.push(frame)
        connection.push({"serverContent": {"turnComplete": True}})
        async with asyncio.timeout(5):
            await connection.incoming.join()
        assert not session.closed, session.close_reason
        speech = session.say("still here")
        async with asyncio.timeout(5):
            await speech.wait()
        turns = [m for m in connection.sent if "clientContent" in m]
        assert "still here" in json.dumps(turns[-1])
    finally:
        await session.close()
    await asyncio.sleep(0)
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
    assert left == [], left


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frames=st.lists(mutated_messages(), min_size=1, max_size=6))
def test_a_gemini_session_fed_mutated_messages_stays_usable_and_leaves_no_task(
    frames: list[str | bytes],
) -> None:
    asyncio.run(_run_session(frames))
