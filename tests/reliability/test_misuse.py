"""What apps and tools get wrong never hangs or leaks a session: a tool output that missed
its connection, a handler that raises, a tool that never returns, a consumer that stops
reading audio, ``input()`` from two tasks."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from reliability._support import Watch, options, until

import liveloop
from liveloop_emulator import Emulator, Rule

pytestmark = pytest.mark.timeout(60)


def liveloop_tasks() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t.get_name().startswith(("liveloop-", "handler-"))}


def outputs(emu: Emulator, index: int) -> list[dict[str, Any]]:
    return [
        e["item"]
        for e in emu.sessions[index].client_events
        if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
    ]


async def test_a_tool_output_that_missed_its_connection_is_restored_and_reported() -> None:
    started = asyncio.Event()
    calls: list[str] = []

    async def lookup_booking(code: str) -> dict[str, str]:
        """Look a booking up (slowly)."""
        calls.append(code)
        started.set()
        await asyncio.sleep(0.5)
        return {"code": code, "status": "confirmed"}

    script = [Rule(match="booking", tool="lookup_booking", arguments={"code": "B7"})]
    async with (
        Emulator(speed=8.0, script=script) as emu,
        liveloop.connect(**options(emu), tools=[lookup_booking]) as session,
    ):
        watch = await Watch.start(session)
        await session.send_text("check my booking")
        await asyncio.wait_for(started.wait(), 10)
        await emu.faults.drop_all()  # the call's connection is gone while the tool runs
        await watch.wait_for("reconnected")
        [report] = await watch.wait_for("error")
        [result] = await watch.wait_for("tool.result")
        await until(lambda: len(emu.sessions) == 2 and bool(_done(emu, 1)))
        await asyncio.sleep(0.3)  # room for a second response or call, which must not come
        await watch.stop()
    assert calls == ["B7"]  # called once, never again
    assert report.code == "tool_output_restored"
    assert "lookup_booking" in report.message and result.call_id in report.message
    assert not result.is_error
    assert outputs(emu, 0) == []  # the old connection never got it
    [restored] = outputs(emu, 1)  # the new one got the call and its output, once
    assert restored["call_id"] == result.call_id and "confirmed" in restored["output"]
    [response] = _done(emu, 1)  # then exactly one response, speaking the result
    spoken = [o for o in response["output"] if o["type"] == "message"]
    assert spoken and not [o for o in response["output"] if o["type"] == "function_call"]


def _done(emu: Emulator, index: int) -> list[dict[str, Any]]:
    return [
        e["response"] for e in emu.sessions[index].server_events if e["type"] == "response.done"
    ]


async def test_a_handler_that_raises_closes_its_session_and_logs_the_session_id(
    emu: Emulator,
) -> None:
    app = liveloop.App(**options(emu, auto_respond=False))

    @app.session("broken")
    async def broken(session: liveloop.Session) -> None:
        await session.input()
        raise ValueError("handler bug 42")

    buffer = io.StringIO()
    liveloop.configure_logging("DEBUG", json=True, stream=buffer)
    try:
        async with app.start("broken") as run:
            await run.session.send_text("hello")
            with pytest.raises(ValueError, match="handler bug 42"):
                await run.wait(10)
            assert run.session.closed
            session_id = run.session.id
    finally:
        liveloop.configure_logging("WARNING")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    [raised] = [line for line in lines if line["event"] == "session handler raised"]
    assert raised["session_id"] == session_id
    assert "handler bug 42" in raised["exception"]
    assert liveloop_tasks() == set()


async def test_a_tool_that_never_returns_is_answered_with_a_timeout() -> None:
    async def hang(code: str) -> str:
        """Never answers."""
        await asyncio.Event().wait()
        return code

    script = [Rule(match="go", tool="hang", arguments={"code": "A1"})]
    async with (
        Emulator(speed=8.0, script=script) as emu,
        liveloop.connect(**options(emu, tool_timeout=0.3), tools=[hang]) as session,
    ):
        watch = await Watch.start(session)
        await session.send_text("go")
        [result] = await watch.wait_for("tool.result", timeout=5)
        await until(lambda: len(emu.sessions[0].events_of("response.done")) >= 2)
        await watch.stop()
        assert not [t for t in liveloop_tasks() if t.get_name() == "liveloop-tool-hang"]
    assert result.is_error and "timed out" in result.output
    [output] = outputs(emu, 0)
    assert "timed out" in json.loads(output["output"])["error"]
    creates = [e for e in emu.sessions[0].client_events if e["type"] == "response.create"]
    assert len(creates) == 2  # the turn's reply, then one follow-up after the timeout


async def test_a_consumer_that_stops_reading_audio_out_loses_the_oldest_chunks_only() -> None:
    async with (
        Emulator(speed=16.0, chunk_ms=20) as emu,
        liveloop.connect(**options(emu, auto_respond=False)) as session,
    ):
        stalled = session.audio_out()
        reading = asyncio.ensure_future(anext(stalled))
        line = "this line is long enough to overflow the audio buffer of a consumer " * 4
        speech = await session.say(line).wait(30)
        await reading  # one chunk taken, then the consumer stops reading
        received = round(session.metrics.audio_received_ms / 20)
        dropped = session.metrics.audio_out_dropped
        await stalled.aclose()
    assert speech.status == "done"
    assert received > 600
    assert dropped == received - 1 - 512  # the buffer holds 512 chunks, not the whole line


async def test_input_from_two_tasks_is_a_clear_error(emu: Emulator) -> None:
    async with liveloop.connect(**options(emu, auto_respond=False)) as session:
        first = asyncio.create_task(session.input())
        await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError, match="already being awaited by another task"):
            await session.input()
        await session.send_text("for the first one")
        assert (await asyncio.wait_for(first, 10)).text == "for the first one"
