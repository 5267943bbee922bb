"""The emulator's Gemini front end answers bad input as Gemini does, by closing with a code
and a reason (no in-band errors), and takes the SDK's mixed key casing and base64."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.genai import types
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from liveloop_emulator import Emulator, tones

PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
SETUP = {"setup": {"model": "models/gemini-3.8-live"}}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(speed=8.0) as emulator:
        yield emulator


async def dial(emu: Emulator, **headers: str) -> ClientConnection:
    url = emu.gemini_base_url.replace("http://", "ws://") + PATH
    return await connect(url, additional_headers=headers or {"x-goog-api-key": "AIza-bad-input"})


async def closed_with(socket: ClientConnection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await socket.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize(
    "frames",
    [
        ["not json"],
        ['{"clientContent": {"turnComplete": true}}'],  # before setup
        [json.dumps(SETUP), '{"somethingElse": {}}'],
        [json.dumps(SETUP), '{"clientContent": {}, "toolResponse": {}}'],
        [
            json.dumps(SETUP),
            '{"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": "%%"}}}',
        ],
        [json.dumps(SETUP), '{"realtimeInput": {"audio": {"mimeType": "video/x", "data": ""}}}'],
        [json.dumps(SETUP), '{"clientContent": {"turns": "nope"}}'],
        [json.dumps(SETUP), json.dumps(SETUP)],
    ],
)
async def test_bad_messages_close_with_1007(emu: Emulator, frames: list[str]) -> None:
    socket = await dial(emu)
    for frame in frames:
        await socket.send(frame)
    code, reason = await closed_with(socket)
    assert code == 1007 and reason


async def test_an_answer_to_a_call_never_made_closes_with_1008(emu: Emulator) -> None:
    socket = await dial(emu)
    await socket.send(json.dumps(SETUP))
    await socket.recv()
    answer = {"functionResponses": [{"id": "nope", "name": "x", "response": {}}]}
    await socket.send(json.dumps({"toolResponse": answer}))
    assert (await closed_with(socket)) == (1008, "Requested entity was not found.")


async def test_a_missing_key_closes_with_1008(emu: Emulator) -> None:
    socket = await dial(emu, **{"user-agent": "test"})
    code, reason = await closed_with(socket)
    assert code == 1008 and "API key" in reason


async def test_snake_case_keys_and_url_safe_base64_as_the_sdk_sends(emu: Emulator) -> None:
    socket = await dial(emu)
    await socket.send(
        json.dumps(
            {
                "setup": {
                    "model": "models/gemini-3.8-live",
                    "realtimeInputConfig": {"automatic_activity_detection": {"disabled": True}},
                    "input_audio_transcription": {},
                }
            }
        )
    )
    assert json.loads(await socket.recv()) == {"setupComplete": {}}
    speech = tones.encode("blue door", sample_rate=16000)
    data = base64.urlsafe_b64encode(speech).decode().rstrip("=")
    await socket.send(json.dumps({"realtime_input": {"activity_start": {}}}))
    audio = {"mime_type": "audio/pcm;rate=16000", "data": data}
    await socket.send(json.dumps({"realtime_input": {"audio": audio}}))
    await socket.send(json.dumps({"realtime_input": {"activity_end": {}}}))
    heard = ""
    while True:
        message: dict[str, Any] = json.loads(await socket.recv())
        types.LiveServerMessage.model_validate(message)
        content = message.get("serverContent") or {}
        heard += (content.get("inputTranscription") or {}).get("text", "")
        if content.get("turnComplete"):
            break
    assert heard.strip() == "blue door"
    await socket.close()
