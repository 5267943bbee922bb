"""The reply policy in isolation, G.711 conversions, and per-response context (``input``)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect as ws_connect

from liveloop_emulator import (
    GREETING,
    SAY_INSTRUCTIONS,
    Emulator,
    Rule,
    audio,
    decide_reply,
    tones,
)


def user(text: str, item_id: str = "item_u") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }


def test_say_form_wins_over_everything() -> None:
    reply = decide_reply(
        instructions=SAY_INSTRUCTIONS.format(text="Exactly this."),
        items=[user("weather")],
        script=[Rule(match="weather", tool="get_weather")],
        calls={},
    )
    assert reply.text == "Exactly this." and reply.tool is None


def test_session_like_instructions_are_not_a_say_form() -> None:
    reply = decide_reply(instructions="Say exactly hello", items=[user("hi")], script=[], calls={})
    assert reply.text == "You said: hi"


def test_greeting_without_user_items() -> None:
    assert decide_reply(instructions=None, items=[], script=[], calls={}).text == GREETING


def test_rules_in_order_case_insensitive_and_tool_choice_none() -> None:
    script = [
        Rule(match="book", tool="book_table", arguments={"size": 2}),
        Rule(match="BOOK", reply="Booked."),
    ]
    reply = decide_reply(instructions=None, items=[user("Book it")], script=script, calls={})
    assert reply.tool == "book_table" and json.loads(reply.arguments) == {"size": 2}
    reply = decide_reply(
        instructions=None, items=[user("Book it")], script=script, calls={}, allow_tools=False
    )
    assert reply.text == "Booked."


def test_tool_output_templates() -> None:
    rule = Rule(match="x", tool="lookup", reply="{output[name]} has {output[n]} seats")
    call = {"type": "function_call", "name": "lookup", "call_id": "call_1", "arguments": "{}"}

    def after(output: str, calls: dict[str, Rule]) -> str | None:
        out = {"type": "function_call_output", "call_id": "call_1", "output": output}
        return decide_reply(
            instructions=None, items=[user("x"), call, out], script=[rule], calls=calls
        ).text

    assert after('{"name": "Luigi", "n": 4}', {"call_1": rule}) == "Luigi has 4 seats"
    assert after("not json", {"call_1": rule}) == "not json"
    assert after('{"name": "Luigi"}', {"call_1": rule}) == '{"name": "Luigi"}'
    assert after("42", {}) == "The lookup tool says: 42"


def test_heard_audio_counts_as_the_users_text() -> None:
    item = {
        "id": "item_a",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    reply = decide_reply(
        instructions=None,
        items=[item],
        script=[],
        calls={},
        heard=lambda i: "table for two" if i["id"] == "item_a" else None,
    )
    assert reply.text == "You said: table for two"


def test_rule_validation() -> None:
    with pytest.raises(ValueError):
        Rule(match="(")
    with pytest.raises(ValueError):
        Rule(match="x")
    with pytest.raises(TypeError):
        Rule(match="x", reply="y", arguments=[1])  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["audio/pcmu", "audio/pcma"])
def test_g711_round_trip_is_close(kind: str) -> None:
    t = np.arange(2400) / 8000
    pcm = (np.sin(2 * np.pi * 440 * t) * 12000).astype("<i2").tobytes()
    coded = audio.to_format(audio.resample(pcm, 8000, 24000), {"type": kind})
    assert len(coded) == 2400
    back = np.frombuffer(audio.from_format(coded, {"type": kind}), "<i2").astype(float)
    original = np.frombuffer(audio.resample(pcm, 8000, 24000), "<i2").astype(float)
    error = np.sqrt(np.mean((back[100:-100] - original[100:-100]) ** 2))
    assert error < 0.05 * np.sqrt(np.mean(original**2))
    assert audio.bytes_per_ms({"type": kind}) == 8
    assert audio.bytes_per_ms({"type": "audio/pcm", "rate": 24000}) == 48


async def test_response_input_replaces_the_context(emulator: Emulator) -> None:
    async with ws_connect(
        f"{emulator.ws_base_url}/realtime?model=gpt-realtime",
        additional_headers={"Authorization": "Bearer sk-input"},
    ) as ws:
        await ws.recv()
        for text in ("first", "second"):
            item = {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            }
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        first_id = None
        while first_id is None:
            event = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if event["type"] == "conversation.item.done":
                first_id = event["item"]["id"]
        inline = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "inline"}],
        }
        for context, expected in (
            ([{"type": "item_reference", "id": first_id}], "You said: first"),
            ([inline], "You said: inline"),
            ([], GREETING),
        ):
            await ws.send(
                json.dumps(
                    {
                        "type": "response.create",
                        "response": {
                            "conversation": "none",
                            "input": context,
                            "output_modalities": ["text"],
                        },
                    }
                )
            )
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if event["type"] == "response.done":
                    break
            assert event["response"]["output"][0]["content"][0]["text"] == expected


async def test_retrieved_user_audio_is_in_the_input_format(emulator: Emulator) -> None:
    speech = audio.to_format(tones.encode("hello"), {"type": "audio/pcmu"})
    async with ws_connect(
        f"{emulator.ws_base_url}/realtime?model=gpt-realtime",
        additional_headers={"Authorization": "Bearer sk-input"},
    ) as ws:
        await ws.recv()
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {
                        "type": "realtime",
                        "audio": {
                            "input": {"format": {"type": "audio/pcmu"}, "turn_detection": None}
                        },
                    },
                }
            )
        )
        item = {
            "id": "item_mine",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio", "audio": base64.b64encode(speech).decode()}],
        }
        await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await ws.send(json.dumps({"type": "conversation.item.retrieve", "item_id": "item_mine"}))
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if event["type"] == "conversation.item.retrieved":
                break
        returned = base64.b64decode(event["item"]["content"][0]["audio"])
        assert tones.decode(audio.from_format(returned, {"type": "audio/pcmu"})) == "hello"
        await ws.send(
            json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}})
        )
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if event["type"] == "response.done":
                break
    assert event["response"]["output"][0]["content"][0]["text"] == "You said: hello"
