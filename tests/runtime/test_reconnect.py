"""Reconnection, restore and rollover in the session runtime (in-memory connections)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

import liveloop
from liveloop.errors import ConnectionLost
from liveloop.events import ResponseDone, ResponseStarted, ToolCall, UserTurn


def turn(text: str, item_id: str) -> UserTurn:
    return UserTurn(turn=liveloop.SessionTurn(text=text, channel="text", item_id=item_id))


async def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_drop_reconnects_restores_and_input_keeps_waiting(
    make_runtime: Callable[..., Any],
) -> None:
    session, links = await make_runtime()
    first = links.opened[0]
    first.push(turn("my name is ann", "i1"))
    assert (await session.input()).text == "my name is ann"
    events: list[str] = []

    async def watch() -> None:
        async for event in session.events():
            events.append(event.type)

    watcher = asyncio.create_task(watch())
    waiting = asyncio.create_task(session.input())
    await asyncio.sleep(0.01)
    first.fail(ConnectionLost("network cut"))
    await eventually(lambda: len(links.opened) == 2)
    second = links.opened[1]
    await eventually(lambda: bool(second.sent_kinds("add_history")))
    assert second.sent[0]["kind"] == "update_session"
    assert [h["text"] for h in second.sent_kinds("add_history")] == ["my name is ann"]
    assert not waiting.done()
    second.push(turn("after the drop", "i2"))
    assert (await asyncio.wait_for(waiting, 2)).text == "after the drop"
    await eventually(lambda: "reconnected" in events)
    watcher.cancel()


async def test_text_waits_for_the_link_and_audio_is_dropped_and_counted(
    make_runtime: Callable[..., Any],
) -> None:
    session, links = await make_runtime(auto_respond=False)
    links.refuse = ConnectionLost("still down")
    links.opened[0].fail(ConnectionLost("network cut"))
    await eventually(lambda: links.attempts >= 1)  # the link is down, reconnecting
    await session.send_audio(b"\x00\x00" * 2400)  # 100 ms while down
    await session.send_text("typed during the outage")
    assert session.metrics.audio_dropped_ms == pytest.approx(100)
    links.refuse = None
    await eventually(lambda: len(links.opened) == 2)
    second = links.opened[1]
    await eventually(lambda: bool(second.sent_kinds("send_text")))
    assert second.sent_kinds("send_text")[0]["text"] == "typed during the outage"
    assert second.sent_kinds("append_audio") == []


async def test_a_queued_say_is_sent_after_the_reconnect(make_runtime: Callable[..., Any]) -> None:
    session, links = await make_runtime()
    first = links.opened[0]
    first.push(ResponseStarted(response_id="busy"))
    await asyncio.sleep(0.01)
    speech = session.say("queued line")
    first.fail(ConnectionLost("network cut"))
    await eventually(lambda: len(links.opened) == 2)
    second = links.opened[1]
    await eventually(lambda: bool(second.sent_kinds("create_response")))
    assert second.sent_kinds("create_response")[0]["say"] == "queued line"
    assert not speech.done()


async def test_failed_reconnect_closes_within_bounds(make_runtime: Callable[..., Any]) -> None:
    policy = {"attempts": 3, "within": 1.0, "initial_delay": 0.05}
    session, links = await make_runtime(reconnect=policy)
    links.refuse = ConnectionLost("endpoint gone")
    waiting = asyncio.create_task(session.input())
    await asyncio.sleep(0.01)
    started = time.monotonic()
    links.opened[0].fail(ConnectionLost("network cut"))
    with pytest.raises(liveloop.SessionClosed) as caught:
        await asyncio.wait_for(waiting, 3)
    assert time.monotonic() - started < 2.0
    assert isinstance(caught.value.cause, ConnectionLost)
    assert "endpoint gone" in str(caught.value)


async def test_refused_auth_is_not_retried(make_runtime: Callable[..., Any]) -> None:
    session, links = await make_runtime()
    links.refuse = liveloop.ProviderError("bad key", code="http_401")
    links.opened[0].fail(ConnectionLost("network cut"))
    with pytest.raises(liveloop.SessionClosed) as caught:
        await asyncio.wait_for(session.input(), 3)
    assert links.attempts == 1
    assert "bad key" in str(caught.value)


async def test_no_reconnect_policy_closes_at_once(make_runtime: Callable[..., Any]) -> None:
    session, links = await make_runtime(reconnect=None)
    links.opened[0].fail(ConnectionLost("network cut"))
    with pytest.raises(liveloop.SessionClosed):
        await asyncio.wait_for(session.input(), 1)
    assert len(links.opened) == 1


async def test_an_orphaned_tool_call_is_restored_and_answered_once(
    make_runtime: Callable[..., Any],
) -> None:
    release = asyncio.Event()

    async def slow_lookup(code: str) -> str:
        await release.wait()
        return f"booking {code}"

    _, links = await make_runtime(tools=[slow_lookup])
    first = links.opened[0]
    first.push(ResponseStarted(response_id="r1"))
    first.push(
        ToolCall(call_id="c1", name="slow_lookup", arguments='{"code": "A1"}', response_id="r1")
    )
    first.push(ResponseDone(response_id="r1", status="completed", tool_call_ids=("c1",)))
    await asyncio.sleep(0.05)
    first.fail(ConnectionLost("network cut"))
    await eventually(lambda: len(links.opened) == 2)
    release.set()
    second = links.opened[1]
    await eventually(lambda: bool(second.sent_kinds("create_response")))
    [restored] = second.sent_kinds("restore_tool_call")
    assert restored["call_id"] == "c1" and "booking A1" in restored["output"]
    assert restored["name"] == "slow_lookup" and restored["arguments"] == '{"code": "A1"}'
    assert second.sent_kinds("send_tool_output") == []
    kinds = [m["kind"] for m in second.sent]
    assert kinds.index("restore_tool_call") < kinds.index("create_response")
    assert len(second.sent_kinds("create_response")) == 1  # one response speaks the result


async def test_rollover_before_the_session_limit_loses_no_turn(
    make_runtime: Callable[..., Any],
) -> None:
    session, links = await make_runtime(max_session_seconds=1.0)
    links.opened[0].push(turn("before", "i1"))
    assert (await session.input()).text == "before"
    await eventually(lambda: len(links.opened) == 2, timeout=3)
    second = links.opened[1]
    await eventually(lambda: bool(second.sent_kinds("update_session")))
    second.push(turn("after", "i2"))
    assert (await asyncio.wait_for(session.input(), 2)).text == "after"
    assert [h["text"] for h in second.sent_kinds("add_history")] == ["before"]
    await eventually(lambda: links.opened[0].closed)
