"""The emulator's server side: lifecycle, REST, auth forms, audio formats, turn detection, CLI."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from liveloop_emulator import (
    SAY_INSTRUCTIONS,
    UNINTELLIGIBLE,
    Emulator,
    Rule,
    audio,
    load_script,
    parse_say_instructions,
    tones,
)

KEY = "sk-test-server"
CHUNK_MS = 40


@asynccontextmanager
async def raw(
    emu: Emulator, *, key: str = KEY, query: str = "model=gpt-realtime", **options: Any
) -> AsyncIterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with ws_connect(
        f"{emu.ws_base_url}/realtime?{query}",
        additional_headers=headers,
        max_size=None,
        **options,
    ) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["type"] == "session.created"
        yield ws


async def send(ws: ClientConnection, event: dict[str, Any]) -> None:
    await ws.send(json.dumps(event))


async def until(ws: ClientConnection, kind: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Events up to and including the next one of type ``kind``."""
    events: list[dict[str, Any]] = []

    async def run() -> None:
        while True:
            event = json.loads(await ws.recv())
            events.append(event)
            if event["type"] == kind:
                return

    await asyncio.wait_for(run(), timeout)
    return events


async def append(ws: ClientConnection, data: bytes, bytes_per_ms: int = 48) -> None:
    step = CHUNK_MS * bytes_per_ms
    for start in range(0, len(data), step):
        chunk = base64.b64encode(data[start : start + step]).decode("ascii")
        await send(ws, {"type": "input_audio_buffer.append", "audio": chunk})


def silence(ms: int) -> bytes:
    return b"\x00\x00" * 24 * ms


async def last(ws: ClientConnection, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next event of type ``kind``."""
    return (await until(ws, kind, timeout))[-1]


def output_audio(events: list[dict[str, Any]]) -> bytes:
    return b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"
    )


def session_patch(**fields: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "realtime", **fields}}


# ---------------------------------------------------------------------------------- lifecycle


async def test_base_urls_and_default_session(emulator: Emulator) -> None:
    assert emulator.port > 0
    assert emulator.base_url == f"http://127.0.0.1:{emulator.port}/v1"
    assert emulator.ws_base_url == f"ws://127.0.0.1:{emulator.port}/v1"
    async with raw(emulator):
        pass
    created = emulator.sessions[0].server_events[0]["session"]
    assert created["id"].startswith("sess_") and created["object"] == "realtime.session"
    assert created["model"] == "gpt-realtime"
    assert created["output_modalities"] == ["audio"]
    assert created["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }
    assert created["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "alloy",
        "speed": 1.0,
    }
    assert created["expires_at"] > time.time()


async def test_accepted_connections_send_without_nagle(emulator: Emulator) -> None:
    # With Nagle on, an event sent right after another waited for the client's delayed
    # ACK (about 40 ms on Linux) whenever the client had nothing to send meanwhile.
    async with raw(emulator) as ws:
        client = ws.transport.get_extra_info("sockname")
        here = psutil.Process()
        (accepted,) = [
            c for c in here.net_connections("tcp") if c.raddr and tuple(c.raddr) == client
        ]
        with socket.socket(fileno=os.dup(accepted.fd)) as server_side:
            assert server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


async def test_shutdown_with_an_open_session_is_prompt() -> None:
    emu = Emulator(speed=1.0)
    await emu.start()
    async with raw(emu) as ws:
        text = "a long reply that is still playing when the server goes away " * 4
        await send(
            ws,
            {
                "type": "response.create",
                "response": {"instructions": SAY_INSTRUCTIONS.format(text=text)},
            },
        )
        await until(ws, "response.output_audio.delta")
        started = time.monotonic()
        await emu.stop()
        elapsed = time.monotonic() - started
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 2)
    assert elapsed < 1.0
    assert emu.sessions[0].closed


async def test_an_emulator_serves_several_sessions_in_connection_order(emulator: Emulator) -> None:
    async with raw(emulator) as first, raw(emulator) as second:
        await send(second, {"type": "input_audio_buffer.clear", "event_id": "two"})
        await until(second, "input_audio_buffer.cleared")
        await send(first, {"type": "input_audio_buffer.clear", "event_id": "one"})
        await until(first, "input_audio_buffer.cleared")
    assert [s.client_events[0]["event_id"] for s in emulator.sessions] == ["one", "two"]
    assert all(s.closed for s in emulator.sessions)


async def test_unknown_path_gets_an_openai_error_body(emulator: Emulator) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{emulator.base_url}/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"


# ------------------------------------------------------------------------------------- auth


async def test_browser_subprotocol_key_is_accepted(emulator: Emulator) -> None:
    async with ws_connect(
        f"{emulator.ws_base_url}/realtime?model=gpt-realtime",
        subprotocols=["realtime", f"openai-insecure-api-key.{KEY}"],  # type: ignore[list-item]
    ) as ws:
        assert ws.subprotocol == "realtime"
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert event["type"] == "session.created"


async def test_client_secret_in_a_subprotocol_carries_its_session(emulator: Emulator) -> None:
    secret = emulator.create_client_secret(
        60,
        {"model": "gpt-realtime-mini", "audio": {"input": {"turn_detection": None}}},
    )
    async with ws_connect(
        f"{emulator.ws_base_url}/realtime",
        subprotocols=["realtime", f"openai-insecure-api-key.{secret.value}"],  # type: ignore[list-item]
    ) as ws:
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert event["session"]["model"] == "gpt-realtime-mini"
    assert event["session"]["audio"]["input"]["turn_detection"] is None


async def test_client_secrets_through_the_sdk(emulator: Emulator) -> None:
    client = AsyncOpenAI(api_key=KEY, base_url=emulator.base_url)
    secret = await client.realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 600},
        session={"type": "realtime", "output_modalities": ["text"]},
    )
    assert secret.value.startswith("ek_")
    assert 590 <= secret.expires_at - time.time() <= 601
    assert secret.session.output_modalities == ["text"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("headers", "content", "status", "code"),
    [
        ({}, b"{}", 401, "invalid_api_key"),
        ({"Authorization": "Bearer ek_abc"}, b"{}", 401, "invalid_api_key"),
        ({"Content-Type": "text/plain"}, b"hello", 415, "unsupported_content_type"),
        ({"Content-Type": "application/json"}, b"{not json", 400, None),
        ({"Content-Type": "application/json"}, b"[]", 400, "invalid_type"),
        ({"Content-Type": "application/json"}, b'{"extra": 1}', 400, "unknown_parameter"),
        (
            {"Content-Type": "application/json"},
            b'{"expires_after": {"anchor": "created_at", "seconds": 5}}',
            400,
            "invalid_value",
        ),
        (
            {"Content-Type": "application/json"},
            b'{"session": {"type": "realtime", "voice": "alloy"}}',
            400,
            "unknown_parameter",
        ),
        ({"Content-Type": "application/json"}, b" " * (1024 * 1024 + 1), 413, "request_too_large"),
    ],
)
async def test_client_secrets_refusals(
    emulator: Emulator, headers: dict[str, str], content: bytes, status: int, code: str | None
) -> None:
    if "Authorization" not in headers and status != 401:
        headers = {**headers, "Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{emulator.base_url}/realtime/client_secrets", headers=headers, content=content
        )
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["type"] == "invalid_request_error"


async def test_any_sk_key_by_default_only_listed_keys_otherwise(make_emulator: Any) -> None:
    async with make_emulator() as emu:
        assert emu.keys.is_api_key("sk-x") and not emu.keys.is_api_key("sk-")
        assert not emu.keys.is_api_key("pk-123")
    async with make_emulator(api_keys=["sk-a", "sk-b"]) as emu:
        assert emu.keys.is_api_key("sk-b") and not emu.keys.is_api_key("sk-c")
        async with raw(emu, key="sk-b"):
            pass


# ------------------------------------------------------------------------- conversation items


async def test_items_create_retrieve_delete_and_previous_item_id(emulator: Emulator) -> None:
    async with raw(emulator) as ws:
        for text in ("one", "two"):
            item = {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            }
            await send(ws, {"type": "conversation.item.create", "item": item})
            await until(ws, "conversation.item.done")
        item = {
            "id": "item_first",
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "zero"}],
        }
        await send(
            ws, {"type": "conversation.item.create", "item": item, "previous_item_id": "root"}
        )
        events = await until(ws, "conversation.item.done")
        assert events[0]["previous_item_id"] is None
        assert events[0]["item"]["id"] == "item_first"
        await send(ws, {"type": "conversation.item.retrieve", "item_id": "item_first"})
        retrieved = await last(ws, "conversation.item.retrieved")
        assert retrieved["item"]["content"] == [{"type": "input_text", "text": "zero"}]
        await send(ws, {"type": "conversation.item.delete", "item_id": "item_first"})
        deleted = await last(ws, "conversation.item.deleted")
        assert deleted["item_id"] == "item_first"
        await send(
            ws, {"type": "conversation.item.retrieve", "item_id": "item_first", "event_id": "r"}
        )
        error = await last(ws, "error")
        assert error["error"]["code"] == "item_retrieve_invalid_item_id"
        assert error["error"]["event_id"] == "r"
    engine = emulator.sessions[0].engine
    assert engine is not None
    assert [i["content"][0]["text"] for i in engine.items] == ["one", "two"]


async def test_manual_commit_clear_and_transcription(emulator: Emulator) -> None:
    async with raw(emulator) as ws:
        await send(
            ws,
            session_patch(
                audio={"input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}}
            ),
        )
        updated = await last(ws, "session.updated")
        assert updated["session"]["audio"]["input"]["turn_detection"] is None
        await append(ws, tones.encode("forget this"))
        await send(ws, {"type": "input_audio_buffer.clear"})
        await until(ws, "input_audio_buffer.cleared")
        await append(ws, silence(50))
        await send(ws, {"type": "input_audio_buffer.commit", "event_id": "short"})
        error = await last(ws, "error")
        assert error["error"]["code"] == "input_audio_buffer_commit_empty"
        assert "50.00ms" in error["error"]["message"]
        await send(ws, {"type": "input_audio_buffer.clear"})
        await until(ws, "input_audio_buffer.cleared")
        await append(ws, tones.encode("table for two") + silence(200))
        await asyncio.sleep(0.3)
        await send(ws, {"type": "input_audio_buffer.commit"})
        events = await until(ws, "conversation.item.input_audio_transcription.completed")
        kinds = [e["type"] for e in events]
        assert "input_audio_buffer.speech_started" not in kinds
        assert kinds[:3] == [
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
        ]
        assert events[-1]["transcript"] == "table for two"
        assert "response.created" not in kinds
        await send(ws, {"type": "response.create"})
        events = await until(ws, "response.done", 20)
        assert tones.decode(output_audio(events)) == "you said: table for two"
        item_id = events[-1]["response"]["output"][0]["id"]
        await send(ws, {"type": "conversation.item.retrieve", "item_id": item_id})
        retrieved = await last(ws, "conversation.item.retrieved")
    spoken = base64.b64decode(retrieved["item"]["content"][0]["audio"])
    assert tones.decode(spoken) == "you said: table for two"


async def test_unintelligible_audio_still_makes_a_turn(emulator: Emulator) -> None:
    rng = np.random.default_rng(7)
    noise = (rng.normal(0, 3000, 24 * 800)).astype("<i2").tobytes()
    async with raw(emulator) as ws:
        await send(ws, session_patch(audio={"input": {"transcription": {"model": "whisper-1"}}}))
        await until(ws, "session.updated")
        await append(ws, noise + silence(1000))
        events = await until(ws, "response.done", 20)
    [completed] = [
        e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"
    ]
    assert completed["transcript"] == UNINTELLIGIBLE
    assert tones.decode(output_audio(events)) == tones.sanitize(f"You said: {UNINTELLIGIBLE}")


@pytest.mark.parametrize("kind", ["audio/pcmu", "audio/pcma"])
async def test_g711_input_and_output(emulator: Emulator, kind: str) -> None:
    fmt = {"type": kind}
    async with raw(emulator) as ws:
        await send(ws, session_patch(audio={"input": {"format": fmt}, "output": {"format": fmt}}))
        updated = await last(ws, "session.updated")
        assert updated["session"]["audio"]["input"]["format"] == fmt
        speech = audio.to_format(tones.encode("hello phone") + silence(1000), fmt)
        await append(ws, speech, bytes_per_ms=8)
        events = await until(ws, "response.done", 20)
    stopped = next(e for e in events if e["type"] == "input_audio_buffer.speech_stopped")
    assert abs(stopped["audio_end_ms"] - (tones.duration_ms("hello phone") + 500)) <= 60
    reply = output_audio(events)
    assert len(reply) == pytest.approx(tones.duration_ms("You said: hello phone") * 8, abs=16)
    assert tones.decode(audio.from_format(reply, fmt)) == "you said: hello phone"


async def test_semantic_vad_eagerness_sets_the_silence(emulator: Emulator) -> None:
    async with raw(emulator) as ws:
        await send(
            ws,
            session_patch(
                audio={"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}}
            ),
        )
        updated = await last(ws, "session.updated")
        assert updated["session"]["audio"]["input"]["turn_detection"] == {
            "type": "semantic_vad",
            "eagerness": "high",
            "create_response": True,
            "interrupt_response": True,
        }
        await append(ws, tones.encode("quick") + silence(400))
        events = await until(ws, "input_audio_buffer.speech_stopped")
    end = tones.duration_ms("quick") + 250
    assert abs(events[-1]["audio_end_ms"] - end) <= 30


async def test_create_response_false_and_interrupt_response_false(emulator: Emulator) -> None:
    vad = {"type": "server_vad", "create_response": False, "interrupt_response": False}
    text = "a reply that keeps playing while the user talks over it"
    async with raw(emulator) as ws:
        await send(ws, session_patch(audio={"input": {"turn_detection": vad}}))
        await until(ws, "session.updated")
        await append(ws, tones.encode("no reply please") + silence(800))
        events = await until(ws, "conversation.item.done")
        await send(
            ws,
            {
                "type": "response.create",
                "response": {"instructions": SAY_INSTRUCTIONS.format(text=text)},
            },
        )
        await until(ws, "response.output_audio.delta")
        await append(ws, tones.encode("hey") + silence(800))
        events = await until(ws, "response.done", 20)
    kinds = [e["type"] for e in events]
    assert "input_audio_buffer.speech_started" in kinds
    assert events[-1]["response"]["status"] == "completed"
    assert tones.decode(output_audio(events)) != ""
    session = emulator.sessions[0]
    assert len(session.events_of("response.created")) == 1


async def test_voice_cannot_change_after_audio(emulator: Emulator) -> None:
    async with raw(emulator) as ws:
        await send(ws, session_patch(audio={"output": {"voice": "marin"}}))
        await until(ws, "session.updated")
        await send(
            ws,
            {
                "type": "response.create",
                "response": {"instructions": SAY_INSTRUCTIONS.format(text="hi")},
            },
        )
        await until(ws, "response.done")
        await send(ws, {**session_patch(audio={"output": {"voice": "cedar"}}), "event_id": "v"})
        error = await last(ws, "error")
    assert error["error"]["event_id"] == "v"
    assert error["error"]["message"] == (
        "Cannot update a conversation's voice if assistant audio is present."
    )


async def test_session_update_merges_nested_fields(emulator: Emulator) -> None:
    async with raw(emulator) as ws:
        await send(
            ws,
            session_patch(
                instructions="Be kind.",
                audio={"input": {"turn_detection": {"silence_duration_ms": 300}}},
            ),
        )
        updated = await last(ws, "session.updated")
    session = updated["session"]
    assert session["instructions"] == "Be kind."
    detection = session["audio"]["input"]["turn_detection"]
    assert detection["silence_duration_ms"] == 300 and detection["prefix_padding_ms"] == 300
    assert session["audio"]["output"]["voice"] == "alloy"
    assert "event_id" not in json.dumps(session)


# --------------------------------------------------------------------------------- replies


def test_say_form_round_trips_exactly() -> None:
    for text in ["Hello.", 'He said "hi"\n"""and more"""', "  spaced  ", ""]:
        assert parse_say_instructions(SAY_INSTRUCTIONS.format(text=text)) == text
    assert parse_say_instructions("Say hello") is None


def test_script_files_load(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(
        json.dumps(
            [
                {"match": "hello", "reply": "Hi! You said {text}."},
                {"match": "weather", "tool": "get_weather", "arguments": {"city": "Oslo"}},
            ]
        )
    )
    rules = load_script(path)
    assert rules == [
        Rule(match="hello", reply="Hi! You said {text}."),
        Rule(match="weather", tool="get_weather", arguments={"city": "Oslo"}),
    ]
    path.write_text(json.dumps([{"match": "(unclosed", "reply": "x"}]))
    with pytest.raises(ValueError, match="rule 0"):
        load_script(path)
    path.write_text(json.dumps([{"reply": "x"}]))
    with pytest.raises(ValueError, match="match"):
        load_script(path)


async def test_rule_reply_uses_the_users_text(make_emulator: Any) -> None:
    script = [
        Rule(match=r"^hello", reply="Hi there! You said {text}."),
        Rule(match=".", reply="{broken"),
    ]
    async with make_emulator(script=script) as emu, raw(emu) as ws:
        for text in ("Hello bot", "other"):
            item = {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            }
            await send(ws, {"type": "conversation.item.create", "item": item})
            await send(ws, {"type": "response.create", "response": {"output_modalities": ["text"]}})
            events = await until(ws, "response.done")
            reply = events[-1]["response"]["output"][0]["content"][0]["text"]
            assert reply == {"Hello bot": "Hi there! You said Hello bot.", "other": "{broken"}[text]


# -------------------------------------------------------------------------------------- CLI


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "liveloop_emulator.cli", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("http://"):
        process.kill()
        raise AssertionError(
            f"no URL printed: {line!r} {process.stderr.read() if process.stderr else ''}"
        )
    return process, line


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_cli_serves_and_exits_cleanly_on_signals(tmp_path: Path, signum: int) -> None:
    script = tmp_path / "rules.json"
    script.write_text(json.dumps([{"match": "ping", "reply": "pong"}]))
    process, url = await asyncio.to_thread(
        _start_cli, "--script", str(script), "--speed", "8", "--key", "sk-cli"
    )
    try:
        ws_url = url.replace("http://", "ws://") + "/realtime?model=gpt-realtime"
        async with ws_connect(ws_url, additional_headers={"Authorization": "Bearer sk-cli"}) as ws:
            await until(ws, "session.created")
            item = {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "ping"}],
            }
            await send(ws, {"type": "conversation.item.create", "item": item})
            await send(ws, {"type": "response.create", "response": {"output_modalities": ["text"]}})
            events = await until(ws, "response.done")
            assert events[-1]["response"]["output"][0]["content"][0]["text"] == "pong"
            process.send_signal(signum)
            code = await asyncio.to_thread(process.wait, 5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0


def test_cli_rejects_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "rules.json"
    script.write_text("[{")
    result = subprocess.run(
        [sys.executable, "-m", "liveloop_emulator.cli", "--port", "0", "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=60,  # a cold start on a loaded machine
    )
    assert result.returncode == 2
    assert "--script" in result.stderr
