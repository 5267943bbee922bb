"""The emulator's Azure OpenAI-style endpoint: ``/openai/realtime?api-version=…&deployment=…``
with the key in an ``api-key`` header, served by the same engine as ``/v1/realtime``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from liveloop_emulator import Emulator

KEY = "sk-azure-test"
API_VERSION = "2025-08-28"


def azure_url(emu: Emulator, query: str) -> str:
    return f"ws://127.0.0.1:{emu.port}/openai/realtime?{query}"


async def receive(ws: ClientConnection) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return event


async def until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    events = [await receive(ws)]
    while events[-1]["type"] != kind:
        events.append(await receive(ws))
    return events


async def refusal(emu: Emulator, query: str, headers: dict[str, str]) -> tuple[int, Any]:
    with pytest.raises(InvalidStatus) as caught:
        async with ws_connect(azure_url(emu, query), additional_headers=headers):
            pass
    response = caught.value.response
    return response.status_code, json.loads(response.body or b"{}")["error"]


async def test_a_session_on_the_azure_path(emulator: Emulator) -> None:
    query = f"api-version={API_VERSION}&deployment=my-realtime"
    async with ws_connect(azure_url(emulator, query), additional_headers={"api-key": KEY}) as ws:
        created = await receive(ws)
        assert created["type"] == "session.created"
        assert created["session"]["model"] == "my-realtime"
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hello there"}],
        }
        await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await ws.send(json.dumps({"type": "response.create"}))
        done = (await until(ws, "response.done"))[-1]
        assert done["response"]["status"] == "completed"
        [message] = done["response"]["output"]
        assert message["content"][0]["transcript"] == "You said: hello there"
    assert [session.model for session in emulator.sessions] == ["my-realtime"]


@pytest.mark.parametrize(
    ("query", "missing"),
    [
        ("deployment=my-realtime", "api-version"),
        (f"api-version={API_VERSION}", "deployment"),
        ("api-version=&deployment=my-realtime", "api-version"),
    ],
)
async def test_api_version_and_deployment_are_required(
    emulator: Emulator, query: str, missing: str
) -> None:
    status, error = await refusal(emulator, query, {"api-key": KEY})
    assert status == 400
    assert error["code"] == "missing_required_parameter"
    assert error["param"] == missing
    assert missing in error["message"]
    assert not emulator.sessions


async def test_the_key_goes_in_the_api_key_header(make_emulator: Any) -> None:
    query = f"api-version={API_VERSION}&deployment=my-realtime"
    async with make_emulator(api_keys=[KEY]) as emu:
        for headers in ({}, {"Authorization": f"Bearer {KEY}"}, {"api-key": "sk-other"}):
            status, error = await refusal(emu, query, headers)
            assert status == 401
            assert error["code"] == "invalid_api_key"
            assert "api-key" in error["message"]
        async with ws_connect(azure_url(emu, query), additional_headers={"api-key": KEY}) as ws:
            assert (await receive(ws))["type"] == "session.created"
        assert len(emu.sessions) == 1


async def test_a_preview_api_version_is_refused_at_the_handshake(emulator: Emulator) -> None:
    # A preview client speaks the beta protocol: it is refused before the upgrade, with the
    # api-versions that are served, never accepted and then refused event by event.
    query = "api-version=2025-04-01-preview&deployment=my-realtime"
    status, error = await refusal(emulator, query, {"api-key": KEY})
    assert status == 400
    assert error["code"] == "unsupported_api_version"
    assert error["param"] == "api-version"
    assert "2025-04-01-preview" in error["message"]
    assert API_VERSION in error["message"]
    assert "/openai/v1/realtime" in error["message"]
    assert not emulator.sessions


async def test_the_ga_v1_path(make_emulator: Any) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        url = f"ws://127.0.0.1:{emu.port}/openai/v1/realtime?model=my-deployment"
        async with ws_connect(url, additional_headers={"api-key": KEY}) as ws:
            created = await receive(ws)
            assert created["type"] == "session.created"
            assert created["session"]["model"] == "my-deployment"
            await ws.send(json.dumps({"type": "response.create"}))
            done = (await until(ws, "response.done"))[-1]
            assert done["response"]["status"] == "completed"
        assert [session.model for session in emu.sessions] == ["my-deployment"]
        with pytest.raises(InvalidStatus) as caught:
            async with ws_connect(url, additional_headers={"api-key": "sk-other"}):
                pass
        assert caught.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as caught:
            async with ws_connect(
                f"ws://127.0.0.1:{emu.port}/openai/v1/realtime", additional_headers={"api-key": KEY}
            ):
                pass
        assert caught.value.response.status_code == 400
        assert json.loads(caught.value.response.body)["error"]["param"] == "model"
        assert len(emu.sessions) == 1
