"""The gemini/websocket transport: the endpoint and credentials it uses (against a real
WebSocket server on 127.0.0.1 that records the handshake), and 16 kHz input conversion."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

import liveloop
from liveloop_emulator import tones
from liveloop_gemini_websocket import GeminiConnector, InputResampler, live_url
from liveloop_gemini_websocket import connection as connection_module


def test_the_url_for_keys_and_for_ephemeral_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_VERSION", raising=False)
    service = "google.ai.generativelanguage"
    assert live_url("https://generativelanguage.googleapis.com") == (
        f"wss://generativelanguage.googleapis.com/ws/{service}.v1beta.GenerativeService."
        "BidiGenerateContent"
    )
    assert live_url("http://127.0.0.1:9/", ephemeral=True) == (
        f"ws://127.0.0.1:9/ws/{service}.v1alpha.GenerativeService.BidiGenerateContentConstrained"
    )
    monkeypatch.setenv("GEMINI_API_VERSION", "v1")
    assert ".v1.GenerativeService" in live_url("http://h")
    with pytest.raises(liveloop.ConfigError, match="base_url"):
        live_url("ftp://h")


@pytest.fixture
async def handshakes() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def handler(socket: ServerConnection) -> None:
        assert socket.request is not None
        seen.append({"path": socket.request.path, "headers": dict(socket.request.headers)})
        await socket.send(json.dumps({"setupComplete": {}}))
        await socket.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}", seen


def config(base_url: str, **options: Any) -> liveloop.SessionConfig:
    return liveloop.SessionConfig(provider="gemini", model="m", base_url=base_url, **options)


async def test_the_key_travels_in_the_header_only(
    handshakes: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, seen = handshakes
    connection = await GeminiConnector().open(config(base_url, api_key="AIza-secret"))
    try:
        assert json.loads(await connection.receive()) == {"setupComplete": {}}
    finally:
        await connection.close()
    (handshake,) = seen
    assert handshake["headers"]["x-goog-api-key"] == "AIza-secret"
    assert "AIza-secret" not in handshake["path"]
    assert handshake["path"].endswith("GenerativeService.BidiGenerateContent")


async def test_an_ephemeral_token_goes_to_the_constrained_method(
    handshakes: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, seen = handshakes
    connection = await GeminiConnector().open(config(base_url, api_key="auth_tokens/abc"))
    await connection.close()
    (handshake,) = seen
    assert handshake["headers"]["authorization"] == "Token auth_tokens/abc"
    assert "x-goog-api-key" not in handshake["headers"]
    assert handshake["path"].endswith("v1alpha.GenerativeService.BidiGenerateContentConstrained")


async def test_google_api_key_is_the_fallback(
    handshakes: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, seen = handshakes
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-google")
    connection = await GeminiConnector().open(config(base_url))
    await connection.close()
    assert seen[0]["headers"]["x-goog-api-key"] == "AIza-google"
    monkeypatch.delenv("GOOGLE_API_KEY")
    with pytest.raises(liveloop.ConfigError, match="GEMINI_API_KEY"):
        await GeminiConnector().open(config(base_url))


async def test_unanswered_pings_never_close_a_healthy_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Gemini answers pings late (seconds): the transport pings but never times out on a
    # pong. Here the server answers none, and the connection stays up to take its reply.
    monkeypatch.setattr(connection_module, "PING_INTERVAL", 0.05)
    dropped: list[Frame] = []
    reply, unanswered = asyncio.Event(), asyncio.Event()

    async def handler(socket: ServerConnection) -> None:
        send_frame = socket.protocol.send_frame

        def no_pongs(frame: Frame) -> None:
            if frame.opcode is Opcode.PONG:
                dropped.append(frame)
                if len(dropped) == 10:
                    unanswered.set()  # ten pings went unanswered
            else:
                send_frame(frame)

        socket.protocol.send_frame = no_pongs  # type: ignore[method-assign]
        await socket.send(json.dumps({"setupComplete": {}}))
        await reply.wait()
        with contextlib.suppress(ConnectionClosed):
            await socket.send(json.dumps({"serverContent": {"turnComplete": True}}))
        await socket.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        connection = await GeminiConnector().open(config(url, api_key="AIza-k"))
        try:
            assert json.loads(await connection.receive()) == {"setupComplete": {}}
            await asyncio.wait_for(unanswered.wait(), 5)  # a closed connection pings no more
            reply.set()
            message = await asyncio.wait_for(connection.receive(), 5)
            assert json.loads(message) == {"serverContent": {"turnComplete": True}}
        finally:
            reply.set()
            await connection.close()


def _audio_message(pcm: bytes, rate: int) -> str:
    data = base64.b64encode(pcm).decode()
    return json.dumps(
        {"realtimeInput": {"audio": {"mimeType": f"audio/pcm;rate={rate}", "data": data}}}
    )


def test_input_audio_is_converted_to_16_khz_across_chunks() -> None:
    speech = tones.encode("hello world", sample_rate=24000) + b"\0\0" * 4800
    resampler = InputResampler()
    converted = b""
    for start in range(0, len(speech), 1920):  # 40 ms chunks
        message = json.loads(resampler.convert(_audio_message(speech[start : start + 1920], 24000)))
        audio = message["realtimeInput"]["audio"]
        assert audio["mimeType"] == "audio/pcm;rate=16000"
        converted += base64.b64decode(audio["data"])
    # The streaming filter holds back a few milliseconds (its delay), never more.
    assert 0 <= len(speech) * 2 // 3 - len(converted) < 16 * 2 * 100
    assert tones.decode(converted, sample_rate=16000) == "hello world"


def test_messages_already_at_16_khz_and_others_pass_through_untouched() -> None:
    resampler = InputResampler()
    same = _audio_message(b"\1\0" * 160, 16000)
    assert resampler.convert(same) is same
    text = '{"clientContent":{"turnComplete":true}}'
    assert resampler.convert(text) is text
