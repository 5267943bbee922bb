"""The official openai SDK's realtime client drives the emulator through liveloop's flows."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from liveloop_emulator import SAY_INSTRUCTIONS, Emulator, Rule, tones

KEY = "sk-test-flows"
SILENCE_MS = 1000
CHUNK = 40 * 48  # 40 ms of PCM16 at 24 kHz


def silence(ms: int) -> bytes:
    return b"\x00\x00" * (24 * ms)


@asynccontextmanager
async def realtime(
    emu: Emulator, key: str = KEY, model: str = "gpt-realtime"
) -> AsyncIterator[AsyncRealtimeConnection]:
    client = AsyncOpenAI(api_key=key, base_url=emu.base_url, websocket_base_url=emu.ws_base_url)
    async with client.realtime.connect(model=model) as conn:
        first = await asyncio.wait_for(conn.recv(), 5)
        assert first.type == "session.created"
        yield conn


async def collect(
    conn: AsyncRealtimeConnection,
    until: Callable[[Any], bool],
    timeout: float = 10.0,
) -> list[Any]:
    """Receive events until one satisfies ``until`` (included)."""
    events: list[Any] = []

    async def run() -> None:
        while True:
            event = await conn.recv()
            events.append(event)
            if until(event):
                return

    await asyncio.wait_for(run(), timeout)
    return events


async def next_of(conn: AsyncRealtimeConnection, kind: str, timeout: float = 10.0) -> Any:
    """The next event of type ``kind`` (events before it are skipped)."""
    return (await collect(conn, of_type(kind), timeout))[-1]


def of_type(kind: str) -> Callable[[Any], bool]:
    return lambda event: event.type == kind


def types(events: list[Any]) -> list[str]:
    return [e.type for e in events]


async def append_pcm(conn: AsyncRealtimeConnection, pcm: bytes) -> None:
    for start in range(0, len(pcm), CHUNK):
        await conn.input_audio_buffer.append(
            audio=base64.b64encode(pcm[start : start + CHUNK]).decode("ascii")
        )


def audio_of(events: list[Any]) -> bytes:
    return b"".join(
        base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta"
    )


def user_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


async def test_text_turn_is_echoed(emulator: Emulator) -> None:
    async with realtime(emulator) as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        updated = await collect(conn, of_type("session.updated"))
        assert updated[-1].session.output_modalities == ["text"]
        await conn.conversation.item.create(item=user_text("hello there"))
        added = await collect(conn, of_type("conversation.item.done"))
        assert types(added) == ["conversation.item.added", "conversation.item.done"]
        await conn.response.create()
        events = await collect(conn, of_type("response.done"))
    assert types(events)[:4] == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]
    assert types(events)[-5:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "You said: hello there"
    done = events[-1].response
    assert done.status == "completed"
    assert done.output[0].content[0].text == "You said: hello there"
    assert done.usage is not None and done.usage.total_tokens > 0
    session = emulator.sessions[0]
    assert session.server_events[-1]["type"] == "rate_limits.updated" or any(
        e["type"] == "rate_limits.updated" for e in session.server_events
    )
    assert [e["type"] for e in session.client_events] == [
        "session.update",
        "conversation.item.create",
        "response.create",
    ]


async def test_error_is_correlated_and_the_connection_stays_usable(emulator: Emulator) -> None:
    async with realtime(emulator) as conn:
        await conn.response.cancel(event_id="evt_cancel_1")
        error = await next_of(conn, "error")
        assert error.error.code == "response_cancel_not_active"
        assert error.error.event_id == "evt_cancel_1"
        assert error.error.type == "invalid_request_error"
        assert error.error.message == "Cancellation failed: no active response found"
        await conn.response.create(response={"output_modalities": ["text"]})
        events = await collect(conn, of_type("response.done"))
    assert events[-1].response.status == "completed"
    assert events[-1].response.output[0].content[0].text == "Hello."


async def test_audio_turn_with_server_vad_and_transcription(emulator: Emulator) -> None:
    spoken = "book a table for two"
    async with realtime(emulator) as conn:
        await conn.session.update(
            session={
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
            }
        )
        await collect(conn, of_type("session.updated"))
        await append_pcm(conn, silence(500) + tones.encode(spoken) + silence(SILENCE_MS))
        events = await collect(conn, of_type("response.done"), timeout=20)
    kinds = types(events)
    order = [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.input_audio_transcription.completed",
        "response.created",
    ]
    positions = [kinds.index(kind) for kind in order]
    assert positions == sorted(positions)
    started = events[kinds.index("input_audio_buffer.speech_started")]
    stopped = events[kinds.index("input_audio_buffer.speech_stopped")]
    committed = events[kinds.index("input_audio_buffer.committed")]
    assert 180 <= started.audio_start_ms <= 230  # speech at 500 ms minus 300 ms of padding
    speech_end = 500 + tones.duration_ms(spoken)
    assert speech_end + 480 <= stopped.audio_end_ms <= speech_end + 560
    assert started.item_id == stopped.item_id == committed.item_id
    completed = events[kinds.index("conversation.item.input_audio_transcription.completed")]
    assert completed.transcript == spoken
    deltas = [
        e.delta for e in events if e.type == "conversation.item.input_audio_transcription.delta"
    ]
    assert "".join(deltas) == spoken
    user_item = events[kinds.index("conversation.item.added")].item
    assert user_item.role == "user" and user_item.content[0].type == "input_audio"
    assert user_item.content[0].transcript is None
    heard = tones.decode(audio_of(events))
    assert heard == f"you said: {spoken}"
    transcript = "".join(
        e.delta for e in events if e.type == "response.output_audio_transcript.delta"
    )
    assert transcript == f"You said: {spoken}"
    [done] = [e for e in events if e.type == "response.output_audio_transcript.done"]
    assert done.transcript == transcript


async def test_function_call_round_trip(make_emulator: Any) -> None:
    script = [
        Rule(
            match=r"\bweather\b",
            tool="get_weather",
            arguments={"city": "Paris"},
            reply="It is {output[sky]} in {output[city]}.",
        )
    ]
    async with make_emulator(script=script) as emu, realtime(emu) as conn:
        await conn.session.update(
            session={
                "type": "realtime",
                "output_modalities": ["text"],
                "tools": [
                    {
                        "type": "function",
                        "name": "get_weather",
                        "description": "Weather for a city.",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                        },
                    }
                ],
            }
        )
        await conn.conversation.item.create(item=user_text("What is the Weather like?"))
        await conn.response.create()
        events = await collect(conn, of_type("response.done"))
        [done_args] = [e for e in events if e.type == "response.function_call_arguments.done"]
        assert done_args.name == "get_weather"
        assert json.loads(done_args.arguments) == {"city": "Paris"}
        deltas = "".join(
            e.delta for e in events if e.type == "response.function_call_arguments.delta"
        )
        assert deltas == done_args.arguments
        assert not any(e.type.startswith("response.output_audio") for e in events)
        [call] = events[-1].response.output
        assert call.type == "function_call" and call.status == "completed"
        assert call.call_id == done_args.call_id and call.call_id.startswith("call_")
        await conn.conversation.item.create(
            item={
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": json.dumps({"city": "Paris", "sky": "sunny"}),
            }
        )
        await conn.response.create()
        events = await collect(conn, of_type("response.done"))
    assert events[-1].response.output[0].content[0].text == "It is sunny in Paris."


async def test_tool_rule_default_reply_quotes_the_output(make_emulator: Any) -> None:
    script = [Rule(match="time", tool="clock")]
    async with make_emulator(script=script) as emu, realtime(emu) as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await conn.conversation.item.create(item=user_text("what time is it"))
        await conn.response.create()
        events = await collect(conn, of_type("response.done"))
        call = events[-1].response.output[0]
        assert call.arguments == "{}"
        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": "noon"}
        )
        await conn.response.create()
        events = await collect(conn, of_type("response.done"))
    assert events[-1].response.output[0].content[0].text == "The clock tool says: noon"


async def test_barge_in_cancels_the_active_response(emulator: Emulator) -> None:
    long_text = "this is a long announcement that keeps going for quite a while " * 3
    async with realtime(emulator) as conn:
        await conn.response.create(
            response={"instructions": SAY_INSTRUCTIONS.format(text=long_text)}
        )
        first = await collect(conn, of_type("response.output_audio.delta"))
        response_id = first[0].response.id
        await append_pcm(conn, tones.encode("stop") + silence(SILENCE_MS))
        events = await collect(
            conn, lambda e: e.type == "response.done" and e.response.id == response_id
        )
        kinds = types(events)
        assert "input_audio_buffer.speech_started" in kinds
        assert kinds.index("input_audio_buffer.speech_started") < kinds.index("response.done")
        done = events[-1].response
        assert done.status == "cancelled"
        assert done.status_details.type == "cancelled"
        assert done.status_details.reason == "turn_detected"
        assert done.output[0].status == "incomplete"
        partial = done.output[0].content[0].transcript
        assert long_text.startswith(partial) and len(partial) < len(long_text)
        heard = tones.decode(audio_of(first + events))
        assert tones.sanitize(long_text).startswith(heard)
        # The user's barge-in turn is answered afterwards.
        follow = await collect(
            conn, lambda e: e.type == "response.done" and e.response.id != response_id, 20
        )
    assert tones.decode(audio_of(follow)) == "you said: stop"


async def test_valid_and_invalid_truncate(emulator: Emulator) -> None:
    text = "hello world how are you today"
    async with realtime(emulator) as conn:
        await conn.response.create(response={"instructions": SAY_INSTRUCTIONS.format(text=text)})
        events = await collect(conn, of_type("response.done"))
        item_id = events[-1].response.output[0].id
        audio_ms = len(audio_of(events)) // 48
        await conn.conversation.item.truncate(
            item_id=item_id, content_index=0, audio_end_ms=audio_ms + 500, event_id="evt_long"
        )
        error = await next_of(conn, "error")
        assert error.error.event_id == "evt_long"
        assert error.error.message == (
            f"Audio content of {audio_ms}ms is already shorter than {audio_ms + 500}ms"
        )
        await conn.conversation.item.truncate(
            item_id="item_missing", content_index=0, audio_end_ms=0, event_id="evt_missing"
        )
        error = await next_of(conn, "error")
        assert error.error.code == "item_truncate_invalid_item_id"
        assert error.error.message == "Item with item_id not found: item_missing"
        assert error.error.event_id == "evt_missing"
        await conn.conversation.item.create(item=user_text("hi"))
        [*_, user_done] = await collect(conn, of_type("conversation.item.done"))
        await conn.conversation.item.truncate(
            item_id=user_done.item.id, content_index=0, audio_end_ms=0, event_id="evt_user"
        )
        error = await next_of(conn, "error")
        assert error.error.event_id == "evt_user" and error.error.code == "invalid_value"
        cut_ms = 700
        await conn.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=cut_ms)
        truncated = await next_of(conn, "conversation.item.truncated")
        assert (truncated.item_id, truncated.content_index, truncated.audio_end_ms) == (
            item_id,
            0,
            cut_ms,
        )
        await conn.conversation.item.retrieve(item_id=item_id)
        retrieved = await next_of(conn, "conversation.item.retrieved")
    content = retrieved.item.content[0]
    assert content.transcript == tones.played_words(text, cut_ms)
    assert content.transcript and text.startswith(content.transcript)
    assert len(base64.b64decode(content.audio)) == cut_ms * 48


async def test_client_secret_is_a_bearer_until_it_expires(emulator: Emulator) -> None:
    async with httpx.AsyncClient() as http:
        minted = await http.post(
            f"{emulator.base_url}/realtime/client_secrets",
            headers={"Authorization": f"Bearer {KEY}"},
            json={
                "expires_after": {"anchor": "created_at", "seconds": 60},
                "session": {"type": "realtime", "instructions": "Be brief."},
            },
        )
    assert minted.status_code == 200
    body = minted.json()
    assert body["value"].startswith("ek_")
    assert body["session"]["instructions"] == "Be brief."
    assert body["session"]["object"] == "realtime.session"
    from openai.types.realtime import ClientSecretCreateResponse

    ClientSecretCreateResponse.model_validate(body)
    client = AsyncOpenAI(
        api_key=body["value"], base_url=emulator.base_url, websocket_base_url=emulator.ws_base_url
    )
    async with client.realtime.connect(model="gpt-realtime") as conn:
        created = await asyncio.wait_for(conn.recv(), 5)
    assert created.type == "session.created"
    assert created.session.instructions == "Be brief."

    expired = emulator.create_client_secret(ttl_seconds=0.05)
    await asyncio.sleep(0.1)
    with pytest.raises(InvalidStatus) as caught:
        async with ws_connect(
            f"{emulator.ws_base_url}/realtime?model=gpt-realtime",
            additional_headers={"Authorization": f"Bearer {expired.value}"},
        ):
            pass
    assert caught.value.response.status_code == 401
    error = json.loads(caught.value.response.body or b"{}")["error"]
    assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk-wrong"}])
async def test_missing_or_wrong_key_is_refused(make_emulator: Any, headers: dict[str, str]) -> None:
    async with make_emulator(api_keys=["sk-right"]) as emu:
        with pytest.raises(InvalidStatus) as caught:
            async with ws_connect(
                f"{emu.ws_base_url}/realtime?model=gpt-realtime", additional_headers=headers
            ):
                pass
        assert emu.sessions == []
    response = caught.value.response
    assert response.status_code == 401
    error = json.loads(response.body or b"{}")["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert error["code"] == "invalid_api_key"
    assert "sk-wrong" not in error["message"]


async def test_the_sdk_sees_a_wrong_key_refused(make_emulator: Any) -> None:
    async with make_emulator(api_keys=["sk-right"]) as emu:
        with pytest.raises(InvalidStatus) as caught:
            async with realtime(emu, key="sk-wrong"):
                pass
    assert caught.value.response.status_code == 401


async def test_missing_model_is_a_bad_request(emulator: Emulator) -> None:
    with pytest.raises(InvalidStatus) as caught:
        async with ws_connect(
            f"{emulator.ws_base_url}/realtime",
            additional_headers={"Authorization": f"Bearer {KEY}"},
        ):
            pass
    assert caught.value.response.status_code == 400
    error = json.loads(caught.value.response.body or b"{}")["error"]
    assert error["param"] == "model" and error["type"] == "invalid_request_error"


async def test_second_response_while_one_is_active_is_refused(emulator: Emulator) -> None:
    text = "a reply long enough to still be playing when the second request arrives"
    async with realtime(emulator) as conn:
        await conn.response.create(response={"instructions": SAY_INSTRUCTIONS.format(text=text)})
        created = await next_of(conn, "response.created")
        await conn.response.create(event_id="evt_second")
        events = await collect(conn, of_type("error"))
        error = events[-1].error
        assert error.code == "conversation_already_has_active_response"
        assert error.event_id == "evt_second"
        assert created.response.id in error.message
        rest = await collect(conn, of_type("response.done"), timeout=20)
        assert rest[-1].response.status == "completed"
        assert not any(e.type == "response.created" for e in events + rest)


async def test_say_instructions_are_spoken_verbatim(emulator: Emulator) -> None:
    text = 'Welcome to the front desk, table 7 is "free".'
    async with realtime(emulator) as conn:
        await conn.response.create(
            response={
                "instructions": SAY_INSTRUCTIONS.format(text=text),
                "output_modalities": ["text"],
            }
        )
        written = await collect(conn, of_type("response.done"))
        await conn.response.create(response={"instructions": SAY_INSTRUCTIONS.format(text=text)})
        spoken = await collect(conn, of_type("response.done"), timeout=20)
    assert written[-1].response.output[0].content[0].text == text
    assert spoken[-1].response.output[0].content[0].transcript == text
    assert tones.decode(audio_of(spoken)) == tones.sanitize(text)


async def test_out_of_band_response_keeps_the_conversation_and_echoes_metadata(
    emulator: Emulator,
) -> None:
    async with realtime(emulator) as conn:
        await conn.conversation.item.create(item=user_text("remember me"))
        await collect(conn, of_type("conversation.item.done"))
        await conn.response.create(
            response={
                "conversation": "none",
                "metadata": {"purpose": "classify"},
                "output_modalities": ["text"],
            }
        )
        events = await collect(conn, of_type("response.done"))
        assert not any(e.type.startswith("conversation.item") for e in events)
        created = events[0].response
        assert created.metadata == {"purpose": "classify"}
        assert created.conversation_id is None
        done = events[-1].response
        assert done.metadata == {"purpose": "classify"}
        assert done.output[0].content[0].text == "You said: remember me"
        out_of_band_id = done.output[0].id
        await conn.conversation.item.retrieve(item_id=out_of_band_id, event_id="evt_oob")
        error = await next_of(conn, "error")
    assert error.error.event_id == "evt_oob"
    engine = emulator.sessions[0].engine
    assert engine is not None and len(engine.items) == 1


async def test_session_over_the_maximum_duration_is_closed(make_emulator: Any) -> None:
    async with make_emulator(max_session_seconds=0.5) as emu, realtime(emu) as conn:
        error = await next_of(conn, "error", timeout=5)
        assert error.error.code == "session_expired"
        assert "maximum duration" in error.error.message
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(conn.recv(), 2)
    assert emu.sessions[0].closed
