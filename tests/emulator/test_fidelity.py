"""Details real clients rely on: unknown WebSocket paths and custom voices."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from liveloop_emulator import Emulator

KEY = "sk-test-fidelity"


@pytest.mark.parametrize("path", ["/v1/realtimex", "/v2/realtime", "/", "/v1/realtime/calls"])
async def test_an_upgrade_to_an_unknown_path_is_404_unknown_url(
    emulator: Emulator, path: str
) -> None:
    with pytest.raises(InvalidStatus) as caught:
        async with ws_connect(
            f"ws://127.0.0.1:{emulator.port}{path}",
            additional_headers={"Authorization": f"Bearer {KEY}"},
        ):
            pass
    response = caught.value.response
    assert response.status_code == 404
    error = json.loads(response.body or b"{}")["error"]
    assert error["code"] == "unknown_url"
    assert error["type"] == "invalid_request_error"
    assert path in error["message"]
    assert not emulator.sessions


async def receive_until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if event["type"] in (kind, "error"):
            return event


async def test_a_custom_voice_object(emulator: Emulator) -> None:
    voice = {"id": "voice_1234abcd"}
    async with ws_connect(
        f"{emulator.ws_base_url}/realtime?model=gpt-realtime",
        additional_headers={"Authorization": f"Bearer {KEY}"},
    ) as ws:
        await receive_until(ws, "session.created")
        update = {"type": "realtime", "audio": {"output": {"voice": voice}}}
        await ws.send(json.dumps({"type": "session.update", "session": update}))
        updated = await receive_until(ws, "session.updated")
        assert updated["type"] == "session.updated"
        # Server events name a custom voice by its id: the SDK's session and response types
        # take a string there.
        assert updated["session"]["audio"]["output"]["voice"] == "voice_1234abcd"
        await ws.send(json.dumps({"type": "response.create"}))
        done = await receive_until(ws, "response.done")
        assert done["response"]["audio"]["output"]["voice"] == "voice_1234abcd"
        # Once the model has spoken, the same custom voice may be sent again, another not.
        await ws.send(json.dumps({"type": "session.update", "session": update}))
        assert (await receive_until(ws, "session.updated"))["type"] == "session.updated"
        other = {"type": "realtime", "audio": {"output": {"voice": {"id": "voice_other"}}}}
        await ws.send(json.dumps({"type": "session.update", "session": other, "event_id": "o"}))
        refused = await receive_until(ws, "session.updated")
        assert refused["error"]["code"] == "cannot_update_voice"
        # A malformed custom voice is refused like any other bad value.
        bad = {"type": "realtime", "audio": {"output": {"voice": {"id": "voice_x", "name": "x"}}}}
        await ws.send(json.dumps({"type": "session.update", "session": bad, "event_id": "v"}))
        error = await receive_until(ws, "session.updated")
        assert error["type"] == "error"
        assert error["error"]["event_id"] == "v"
        assert error["error"]["param"] == "session.audio.output.voice.name"
    # The conftest's oracle checks every event above against the SDK's types.


async def test_a_custom_voice_in_a_client_secret(emulator: Emulator) -> None:
    secret = emulator.create_client_secret(
        session={"audio": {"output": {"voice": {"id": "voice_from_secret"}}}}
    )
    async with ws_connect(
        f"{emulator.ws_base_url}/realtime?model=gpt-realtime",
        additional_headers={"Authorization": f"Bearer {secret.value}"},
    ) as ws:
        created = await receive_until(ws, "session.created")
        assert created["session"]["audio"]["output"]["voice"] == "voice_from_secret"
