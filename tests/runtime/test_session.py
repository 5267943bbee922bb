"""The session runtime's own logic, over an in-memory connection and pass-through codec."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

import liveloop
from liveloop.errors import ConnectionLost
from liveloop.events import (
    AssistantAudio,
    AssistantTranscriptDone,
    ErrorEvent,
    Interrupted,
    ResponseDone,
    ResponseStarted,
    ToolCall,
    UserSpeechStarted,
    UserTurn,
)
from liveloop.session import Session

CHUNK = b"\x01\x00" * 960  # 40 ms of PCM16 at 24 kHz


async def settle(rounds: int = 10) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


def turn(text: str, item_id: str) -> UserTurn:
    return UserTurn(turn=liveloop.SessionTurn(text=text, channel="text", item_id=item_id))


async def test_input_returns_turns_in_order(runtime: tuple[Session, Any]) -> None:
    session, conn = runtime
    conn.push(turn("one", "i1"))
    conn.push(turn("two", "i2"))
    assert (await session.input()).text == "one"
    assert (await session.input()).text == "two"


async def test_input_from_two_tasks_is_a_clear_error(runtime: tuple[Session, Any]) -> None:
    session, _ = runtime
    first = asyncio.create_task(session.input())
    await settle()
    with pytest.raises(RuntimeError, match="already being awaited"):
        await session.input()
    first.cancel()


async def test_say_is_queued_behind_an_active_response(runtime: tuple[Session, Any]) -> None:
    session, conn = runtime
    conn.push(ResponseStarted(response_id="auto"))
    await settle()
    speech = session.say("hello")
    await settle()
    assert conn.sent_kinds("create_response") == []
    conn.push(ResponseDone(response_id="auto", status="completed"))
    await settle()
    [create] = conn.sent_kinds("create_response")
    assert create["say"] == "hello"
    request_id = create["metadata"]["liveloop_request"]
    conn.push(ResponseStarted(response_id="r1", metadata={"liveloop_request": request_id}))
    conn.push(AssistantTranscriptDone(response_id="r1", item_id="a1", transcript="hello"))
    conn.push(ResponseDone(response_id="r1", status="completed"))
    done = await speech.wait(2)
    assert done.status == "done" and done.transcript == "hello" and not done.interrupted


async def test_active_response_race_is_retried(runtime: tuple[Session, Any]) -> None:
    session, conn = runtime
    speech = session.say("again")
    await settle()
    [create] = conn.sent_kinds("create_response")
    conn.push(ResponseStarted(response_id="auto"))
    conn.push(
        ErrorEvent(
            message="Conversation already has an active response",
            code="conversation_already_has_active_response",
            event_id=create["event_id"],
        )
    )
    await settle()
    assert len(conn.sent_kinds("create_response")) == 1
    conn.push(ResponseDone(response_id="auto", status="completed"))
    await settle()
    creates = conn.sent_kinds("create_response")
    assert len(creates) == 2 and creates[1]["say"] == "again"
    assert not speech.done()


async def test_provider_error_fails_the_speech(runtime: tuple[Session, Any]) -> None:
    session, conn = runtime
    speech = session.say("x")
    await settle()
    [create] = conn.sent_kinds("create_response")
    conn.push(ErrorEvent(message="nope", code="invalid_value", event_id=create["event_id"]))
    with pytest.raises(liveloop.ProviderError, match="nope"):
        await speech.wait(2)


async def test_tool_call_answered_once_then_one_follow_up(runtime: tuple[Session, Any]) -> None:
    session, conn = runtime

    def add(a: int, b: int) -> int:
        return a + b

    await session.update(tools=[add])
    call = ToolCall(call_id="c1", name="add", arguments='{"a": 2, "b": 3}', response_id="r1")
    conn.push(ResponseStarted(response_id="r1"))
    conn.push(call)
    conn.push(call)  # a repeated call must not be answered twice
    conn.push(ResponseDone(response_id="r1", status="completed", tool_call_ids=("c1",)))
    for _ in range(50):
        await asyncio.sleep(0.01)
        if conn.sent_kinds("create_response"):
            break
    [output] = conn.sent_kinds("send_tool_output")
    assert output["call_id"] == "c1" and json.loads(output["output"]) == 5
    assert len(conn.sent_kinds("create_response")) == 1
    assert session.metrics.tool_calls == 1


async def test_respond_completes_with_the_reply_after_its_tool_calls(
    runtime: tuple[Session, Any],
) -> None:
    session, conn = runtime
    await session.update(tools=[liveloop.Tool(lambda: "19:30", name="now")])
    speech = session.respond()
    await settle()
    [create] = conn.sent_kinds("create_response")
    conn.push(ResponseStarted(response_id="r1", metadata=create["metadata"]))
    conn.push(ToolCall(call_id="c1", name="now", arguments="{}", response_id="r1"))
    conn.push(ResponseDone(response_id="r1", status="completed", tool_call_ids=("c1",)))
    for _ in range(50):
        await asyncio.sleep(0.01)
        if len(conn.sent_kinds("create_response")) == 2:
            break
    assert not speech.done()  # the tool call alone is not the reply
    follow_up = conn.sent_kinds("create_response")[1]
    conn.push(ResponseStarted(response_id="r2", metadata=follow_up["metadata"]))
    conn.push(AssistantTranscriptDone(response_id="r2", item_id="a2", transcript="it is 19:30"))
    conn.push(ResponseDone(response_id="r2", status="completed"))
    done = await speech.wait(2)
    assert done.status == "done" and done.transcript == "it is 19:30"


async def test_barge_in_truncates_to_delivered_audio(runtime: tuple[Session, Any]) -> None:
    session, conn = runtime
    received: list[object] = []
    consumed = asyncio.Event()

    async def consume() -> None:
        async for item in session.audio_out():
            received.append(item)
            if len([i for i in received if isinstance(i, AssistantAudio)]) == 3:
                consumed.set()
            if isinstance(item, Interrupted):
                return

    consumer = asyncio.create_task(consume())
    await settle()
    conn.push(ResponseStarted(response_id="r1"))
    for _ in range(3):
        conn.push(AssistantAudio(response_id="r1", item_id="a1", audio=CHUNK))
    await asyncio.wait_for(consumed.wait(), 2)
    conn.push(UserSpeechStarted(item_id="u1", audio_start_ms=0))
    await asyncio.wait_for(consumer, 2)
    [truncate] = conn.sent_kinds("truncate_item")
    assert truncate == {
        "kind": "truncate_item",
        "event_id": None,
        "item_id": "a1",
        "audio_end_ms": 120,
    }
    assert isinstance(received[-1], Interrupted) and received[-1].played_ms == 120
    conn.push(AssistantAudio(response_id="r1", item_id="a1", audio=CHUNK))  # late audio is dropped
    await settle()
    assert session.metrics.audio_received_ms == pytest.approx(120)


async def test_no_truncate_for_an_item_without_audio(runtime: tuple[Session, Any]) -> None:
    session, conn = runtime
    consumer = asyncio.create_task(anext(session.audio_out()))
    conn.push(ResponseStarted(response_id="r1"))
    conn.push(UserSpeechStarted(item_id="u1", audio_start_ms=0))
    await settle()
    assert conn.sent_kinds("truncate_item") == []
    consumer.cancel()


async def test_reported_playback_wins_and_is_clamped(runtime: tuple[Session, Any]) -> None:
    session, conn = runtime
    speech = session.say("two chunks")
    await settle()
    [create] = conn.sent_kinds("create_response")
    conn.push(ResponseStarted(response_id="r1", metadata=create["metadata"]))
    conn.push(AssistantAudio(response_id="r1", item_id="a1", audio=CHUNK * 2))
    await settle()
    session.played(10_000, item_id="a1")  # never past the audio received
    assert speech.played_ms == 80
    session.played(30)
    assert speech.played_ms == 30
    conn.push(UserSpeechStarted(item_id="u1", audio_start_ms=0))
    await settle()
    assert conn.sent_kinds("truncate_item")[0]["audio_end_ms"] == 30
    assert speech.played_ms == 30 and speech.status == "interrupted"
    heard = session.metrics.audio_played_ms
    # A report that was in flight at the barge-in (a phone's mark echo) changes nothing:
    # the item stays truncated to what was heard when it was cut.
    session.played(60, item_id="a1")
    assert speech.played_ms == 30 and session.metrics.audio_played_ms == heard
    assert len(conn.sent_kinds("truncate_item")) == 1


async def test_connection_lost_closes_the_session_with_its_cause(
    make_runtime: Callable[..., Any],
) -> None:
    session, links = await make_runtime(reconnect=None)
    conn = links.opened[0]
    waiting = asyncio.create_task(session.input())
    speech = session.say("never")
    await settle()
    started = time.monotonic()
    conn.fail(ConnectionLost("the connection dropped"))
    with pytest.raises(liveloop.SessionClosed) as caught:
        await asyncio.wait_for(waiting, 2)
    assert time.monotonic() - started < 2
    assert isinstance(caught.value.cause, ConnectionLost)
    with pytest.raises(liveloop.SessionClosed):
        await speech.wait(1)
    with pytest.raises(liveloop.SessionClosed):
        await session.input()


async def test_close_ends_iterators_and_is_idempotent(runtime: tuple[Session, Any]) -> None:
    session, conn = runtime
    events = session.events()
    audio = session.audio_out()
    pending_event = asyncio.create_task(anext(events))
    pending_audio = asyncio.create_task(anext(audio))
    await settle()
    await session.close()
    await session.close()
    assert (await asyncio.wait_for(pending_event, 1)).type == "closed"
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending_audio, 1)
    assert conn.closed
    with pytest.raises(liveloop.SessionClosed):
        session.say("too late")
