"""Malformed client input gets OpenAI-shaped error events; the session keeps working."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from liveloop_emulator import Emulator

KEY = "sk-test-bad-input"


@asynccontextmanager
async def raw(emu: Emulator) -> AsyncIterator[ClientConnection]:
    async with ws_connect(
        f"{emu.ws_base_url}/realtime?model=gpt-realtime",
        additional_headers={"Authorization": f"Bearer {KEY}"},
        max_size=None,
        compression=None,
    ) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["type"] == "session.created"
        yield ws


async def next_event(ws: ClientConnection, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        while True:
            event: dict[str, Any] = json.loads(await ws.recv())
            if event["type"] == kind:
                return event

    return await asyncio.wait_for(run(), timeout)


async def still_answers(ws: ClientConnection) -> None:
    await ws.send(
        json.dumps(
            {"type": "response.create", "response": {"output_modalities": ["text"]}},
        )
    )
    done = await next_event(ws, "response.done")
    assert done["response"]["status"] == "completed"


def check_error(event: dict[str, Any], *, code: str | None, event_id: str | None) -> None:
    assert event["type"] == "error"
    assert event["event_id"].startswith("event_")
    error = event["error"]
    assert set(error) == {"type", "code", "message", "param", "event_id"}
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    assert error["event_id"] == event_id
    assert error["message"]


async def test_non_json_text_frame(emulator: Emulator) -> None:
    async with raw(emulator) as ws:
        await ws.send("this is {not json")
        check_error(await next_event(ws, "error"), code="invalid_json", event_id=None)
        await still_answers(ws)
    assert emulator.sessions[0].client_events[0]["type"] == "response.create"


async def test_binary_frame(emulator: Emulator) -> None:
    async with raw(emulator) as ws:
        await ws.send(b'{"type": "response.create"}')
        check_error(await next_event(ws, "error"), code="invalid_value", event_id=None)
        await still_answers(ws)


@pytest.mark.parametrize("payload", ["[1, 2, 3]", '"response.create"', "42", "null"])
async def test_json_that_is_not_an_object(emulator: Emulator, payload: str) -> None:
    async with raw(emulator) as ws:
        await ws.send(payload)
        check_error(await next_event(ws, "error"), code="invalid_type", event_id=None)
        await still_answers(ws)


@pytest.mark.parametrize(
    ("event", "code", "param"),
    [
        ({"type": "response.explode", "event_id": "e1"}, "invalid_value", "type"),
        ({"event_id": "e1"}, "missing_required_parameter", "type"),
        ({"type": 7, "event_id": "e1"}, "invalid_type", "type"),
        (
            {"type": "input_audio_buffer.append", "audio": 5, "event_id": "e1"},
            "invalid_type",
            "audio",
        ),
        (
            {"type": "input_audio_buffer.append", "audio": "not base64!!", "event_id": "e1"},
            "invalid_value",
            "audio",
        ),
        (
            {"type": "input_audio_buffer.append", "event_id": "e1"},
            "missing_required_parameter",
            "audio",
        ),
        (
            {"type": "session.update", "session": "fast", "event_id": "e1"},
            "invalid_type",
            "session",
        ),
        (
            {"type": "session.update", "session": {"modalities": ["text"]}, "event_id": "e1"},
            "missing_required_parameter",
            "session.type",
        ),
        (
            {
                "type": "session.update",
                "session": {"type": "realtime", "modalities": ["text"]},
                "event_id": "e1",
            },
            "unknown_parameter",
            "session.modalities",
        ),
        (
            {
                "type": "session.update",
                "session": {"type": "realtime", "output_modalities": ["text", "audio"]},
                "event_id": "e1",
            },
            "invalid_value",
            "session.output_modalities",
        ),
        (
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}},
                },
                "event_id": "e1",
            },
            "invalid_value",
            "session.audio.input.turn_detection.threshold",
        ),
        (
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"format": {"type": "pcm16"}}}},
                "event_id": "e1",
            },
            "invalid_value",
            "session.audio.input.format.type",
        ),
        ({"type": "response.create", "response": [], "event_id": "e1"}, "invalid_type", "response"),
        (
            {"type": "response.create", "response": {"conversation": "other"}, "event_id": "e1"},
            "invalid_value",
            "response.conversation",
        ),
        (
            {"type": "response.create", "response": {"metadata": {"a": 1}}, "event_id": "e1"},
            "invalid_type",
            "response.metadata.a",
        ),
        ({"type": "conversation.item.create", "item": 3, "event_id": "e1"}, "invalid_type", "item"),
        (
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": "hi"},
                "event_id": "e1",
            },
            "invalid_type",
            "item.content",
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "text", "text": "x"}],
                },
                "event_id": "e1",
            },
            "invalid_value",
            "item.content[0].type",
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "output": "x"},
                "event_id": "e1",
            },
            "missing_required_parameter",
            "item.call_id",
        ),
        (
            {
                "type": "conversation.item.create",
                "previous_item_id": "item_nope",
                "item": {"type": "message", "role": "user", "content": []},
                "event_id": "e1",
            },
            "invalid_value",
            "previous_item_id",
        ),
        (
            {"type": "conversation.item.delete", "item_id": "item_nope", "event_id": "e1"},
            "item_delete_invalid_item_id",
            "item_id",
        ),
        (
            {"type": "conversation.item.retrieve", "event_id": "e1"},
            "missing_required_parameter",
            "item_id",
        ),
        (
            {
                "type": "conversation.item.truncate",
                "item_id": "x",
                "content_index": 0,
                "audio_end_ms": "5",
                "event_id": "e1",
            },
            "invalid_type",
            "audio_end_ms",
        ),
        (
            {"type": "input_audio_buffer.commit", "event_id": "e1"},
            "input_audio_buffer_commit_empty",
            None,
        ),
        ({"type": "output_audio_buffer.clear", "event_id": "e1"}, "invalid_value", "type"),
        ({"type": "response.cancel", "extra": 1, "event_id": "e1"}, "unknown_parameter", "extra"),
    ],
)
async def test_invalid_events_get_errors_with_their_event_id(
    emulator: Emulator, event: dict[str, Any], code: str, param: str | None
) -> None:
    async with raw(emulator) as ws:
        await ws.send(json.dumps(event))
        error = await next_event(ws, "error")
        check_error(error, code=code, event_id="e1")
        assert error["error"]["param"] == param
        await still_answers(ws)
    assert emulator.sessions[0].client_events[0] == event


async def test_non_string_event_id_is_refused(emulator: Emulator) -> None:
    async with raw(emulator) as ws:
        await ws.send(json.dumps({"type": "response.create", "event_id": 12}))
        error = await next_event(ws, "error")
        check_error(error, code="invalid_type", event_id=None)
        assert error["error"]["param"] == "event_id"
        await still_answers(ws)


async def test_oversized_event(emulator: Emulator) -> None:
    big = "A" * (15 * 1024 * 1024 + 16)
    async with raw(emulator) as ws:
        await ws.send(
            json.dumps({"type": "input_audio_buffer.append", "audio": big, "event_id": "big"})
        )
        check_error(await next_event(ws, "error", 20), code="event_too_large", event_id="big")
        # Nothing of the oversized event was taken into the input buffer.
        await ws.send(json.dumps({"type": "input_audio_buffer.commit", "event_id": "c"}))
        check_error(
            await next_event(ws, "error"), code="input_audio_buffer_commit_empty", event_id="c"
        )
        await still_answers(ws)
