"""The handler loop end to end over openai/websocket: real plugins, real sockets, the emulator."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

import liveloop
from liveloop.events import AssistantAudio, Interrupted
from liveloop_emulator import Emulator, Rule, tones

KEY = "sk-test-e2e-0123456789abcdef"
SILENCE = b"\x00\x00" * 24000  # one second


def speech(text: str) -> bytes:
    """A user utterance in tone speech followed by end-of-turn silence."""
    return tones.encode(text) + SILENCE


async def send_in_chunks(session: liveloop.Session, pcm: bytes, chunk: int = 1234) -> None:
    for start in range(0, len(pcm), chunk):
        await session.send_audio(pcm[start : start + chunk])


def options(emu: Emulator, **extra: Any) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": emu.base_url, **extra}


class Heard:
    """Collects assistant audio from audio_out() per item, as a listener would hear it."""

    def __init__(self, session: liveloop.Session) -> None:
        self.items: dict[str, bytearray] = {}
        self.order: list[str] = []
        self.interruptions: list[Interrupted] = []
        self.chunks = 0
        self._task = asyncio.create_task(self._run(session))

    async def _run(self, session: liveloop.Session) -> None:
        async for item in session.audio_out():
            if isinstance(item, AssistantAudio):
                if item.item_id not in self.items:
                    self.items[item.item_id] = bytearray()
                    self.order.append(item.item_id)
                self.items[item.item_id] += item.audio
                self.chunks += 1
            else:
                self.interruptions.append(item)

    def text(self, item_id: str | None) -> str:
        assert item_id is not None
        return tones.decode(bytes(self.items.get(item_id, b"")))

    def stop(self) -> None:
        self._task.cancel()


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(speed=4.0) as emulator:
        yield emulator


async def test_spoken_turn_arrives_with_the_exact_words(emu: Emulator) -> None:
    async with liveloop.connect(**options(emu)) as session:
        await send_in_chunks(session, speech("book a table for two"))
        turn = await asyncio.wait_for(session.input(), 10)
    assert turn.text == "book a table for two"
    assert turn.channel == "audio"
    assert turn.audio is not None and len(turn.audio) > 24000
    assert turn.started_ms is not None and turn.ended_ms is not None
    assert turn.ended_ms > turn.started_ms


async def test_typed_and_spoken_turns_in_order(emu: Emulator) -> None:
    async with liveloop.connect(**options(emu, auto_respond=False)) as session:
        await session.send_text("first typed")
        await send_in_chunks(session, speech("second spoken"))
        await session.send_text("third typed")
        got = [await asyncio.wait_for(session.input(), 10) for _ in range(3)]
    assert [(t.text, t.channel) for t in got] == [
        ("first typed", "text"),
        ("second spoken", "audio"),
        ("third typed", "text"),
    ]


async def test_say_is_heard_exactly(emu: Emulator) -> None:
    async with liveloop.connect(**options(emu)) as session:
        heard = Heard(session)
        spoken = await asyncio.wait_for(
            session.say("Welcome to the front desk, table 7 is free."), 20
        )
        # All of its audio came before the reply was done; the listener takes it in.
        expected = "welcome to the front desk, table 7 is free."
        await _wait_for(lambda: heard.text(spoken.item_id) == expected)
        heard.stop()
    assert spoken.status == "done"
    assert heard.text(spoken.item_id) == "welcome to the front desk, table 7 is free."
    assert spoken.transcript.lower() == "welcome to the front desk, table 7 is free."
    assert session.metrics.say_latencies_ms


async def test_say_while_a_reply_plays_is_queued_not_rejected(emu: Emulator) -> None:
    async with liveloop.connect(**options(emu)) as session:
        heard = Heard(session)
        await session.send_text("hello there")  # the emulator echoes it
        await asyncio.wait_for(session.input(), 10)
        spoken = await asyncio.wait_for(session.say("and now this"), 20)
        heard.stop()
        errors = [e for e in emu.sessions[0].server_events if e["type"] == "error"]
    assert spoken.status == "done"
    assert heard.text(spoken.item_id) == "and now this"
    assert len(heard.order) == 2 and heard.text(heard.order[0]) == "you said: hello there"
    assert errors == []


def _outputs(emu: Emulator) -> list[dict[str, Any]]:
    return [
        e["item"]
        for e in emu.sessions[0].client_events
        if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
    ]


def lookup_weather(city: str) -> dict[str, Any]:
    """Look up the weather."""
    return {"city": city, "sky": "sunny"}


async def test_tool_success_is_answered_once_and_spoken_about() -> None:
    script = [Rule(match="weather", tool="lookup_weather", arguments={"city": "Paris"})]
    async with Emulator(speed=4.0, script=script) as emu:
        async with liveloop.connect(**options(emu), tools=[lookup_weather]) as session:
            results = []
            heard = Heard(session)

            async def watch() -> None:
                async for event in session.events():
                    if event.type == "tool.result":
                        results.append(event)

            watcher = asyncio.create_task(watch())
            await session.send_text("what is the weather")
            await asyncio.wait_for(session.input(), 10)
            await _wait_for(lambda: len(heard.order) >= 1 and _responses_done(emu) >= 2)
            watcher.cancel()
            heard.stop()
        [output] = _outputs(emu)
        assert json.loads(output["output"]) == {"city": "Paris", "sky": "sunny"}
        assert len(results) == 1 and not results[0].is_error
        creates = [e for e in emu.sessions[0].client_events if e["type"] == "response.create"]
        assert len(creates) == 2  # the typed turn's reply, then exactly one follow-up
        assert "sunny" in heard.text(heard.order[-1])


def _responses_done(emu: Emulator) -> int:
    return sum(1 for e in emu.sessions[0].server_events if e["type"] == "response.done")


async def _wait_for(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def raising_tool(code: str) -> str:
    """Always fails."""
    raise ValueError(f"no booking {code}")


async def slow_tool(code: str) -> str:
    """Never answers in time."""
    await asyncio.sleep(30)
    return code


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("lookup_weather", {"town": "Paris"}, "invalid arguments"),
        ("launch_rockets", {"code": "x"}, "unknown tool"),
        ("raising_tool", {"code": "A1"}, "no booking A1"),
        ("slow_tool", {"code": "A1"}, "timed out"),
    ],
)
async def test_tool_failures_are_answered_exactly_once(
    tool: str, arguments: dict[str, Any], expected: str
) -> None:
    script = [Rule(match="go", tool=tool, arguments=arguments)]
    async with Emulator(speed=4.0, script=script) as emu:
        async with liveloop.connect(
            **options(emu, tool_timeout=0.5), tools=[lookup_weather, raising_tool, slow_tool]
        ) as session:
            await session.send_text("go")
            await _wait_for(lambda: _responses_done(emu) >= 2)
        [output] = _outputs(emu)
        assert expected in json.loads(output["output"])["error"]
        creates = [e for e in emu.sessions[0].client_events if e["type"] == "response.create"]
        assert len(creates) == 2


async def test_barge_in_truncates_to_what_was_delivered(emu: Emulator) -> None:
    async with liveloop.connect(**options(emu)) as session:
        heard = Heard(session)
        long_text = "this is a long announcement that keeps going for quite a while " * 3
        speaking = session.say(long_text)
        await _wait_for(lambda: heard.chunks >= 10)
        await send_in_chunks(session, speech("stop"))
        await _wait_for(lambda: bool(heard.interruptions))
        done = await speaking.wait(10)
        delivered_ms = len(heard.items[done.item_id or ""]) / 48
        turn = await asyncio.wait_for(session.input(), 10)
        # The session keeps working after the interruption.
        await session.send_text("still there")
        follow = await asyncio.wait_for(session.input(), 10)
        heard.stop()
    # Read after the follow-up: the speech may end before its truncate is on the wire, and
    # the emulator answered what was sent after it, so it has the truncate by now.
    truncates = [
        e for e in emu.sessions[0].client_events if e["type"] == "conversation.item.truncate"
    ]
    assert done.interrupted and done.status == "interrupted"
    [truncate] = truncates
    assert truncate["item_id"] == done.item_id
    assert abs(truncate["audio_end_ms"] - delivered_ms) <= 100  # within one chunk
    assert truncate["audio_end_ms"] == heard.interruptions[0].played_ms
    assert turn.text == "stop" and turn.interrupted
    assert follow.text == "still there"


async def test_killing_the_server_ends_input_quickly() -> None:
    emu = Emulator(speed=4.0)
    await emu.__aenter__()
    try:
        session = await liveloop.open_session(**options(emu))
        waiting = asyncio.create_task(session.input())
        await asyncio.sleep(0.1)
    finally:
        started = time.monotonic()
        await emu.__aexit__(None, None, None)
    with pytest.raises(liveloop.SessionClosed) as caught:
        await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - started < 2
    assert caught.value.cause is not None
    await session.close()


async def test_close_is_bounded_when_the_server_never_answers_the_close() -> None:
    from websockets.asyncio.server import ServerConnection, serve

    finished = asyncio.Event()

    async def mute(ws: ServerConnection) -> None:
        await ws.send(
            json.dumps({"type": "session.created", "event_id": "e1", "session": {"id": "s"}})
        )
        await ws.recv()  # session.update
        await ws.send(json.dumps({"type": "session.updated", "event_id": "e2", "session": {}}))
        assert ws.transport is not None
        ws.transport.pause_reading()  # the close frame is never read, so never answered
        await asyncio.wait_for(finished.wait(), 30)

    async with serve(mute, "127.0.0.1", 0, close_timeout=0.1) as server:
        port = server.sockets[0].getsockname()[1]
        session = await liveloop.open_session(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1")
        started = time.monotonic()
        await session.close()
        elapsed = time.monotonic() - started
        finished.set()
        assert elapsed < 1.0


async def test_the_design_handler_loop_runs_via_app(emu: Emulator) -> None:
    app = liveloop.App(api_key=KEY, base_url=emu.base_url)
    said: list[str] = []

    @app.session("concierge", instructions="You are the front desk.")
    async def concierge(session: liveloop.Session) -> None:
        await session.say("Hi, this is the front desk. How can I help?")
        while True:
            turn = await session.input()
            said.append(turn.text)
            if "goodbye" in turn.text.lower():
                await session.say("Goodbye!")
                return

    async with app.start("concierge") as run:
        heard = Heard(run.session)
        await _wait_for(lambda: _responses_done(emu) >= 1)
        await send_in_chunks(run.session, speech("i need a table"))
        await _wait_for(lambda: len(said) == 1)
        await send_in_chunks(run.session, speech("goodbye"))
        await run.wait(20)
        heard.stop()
    assert said == ["i need a table", "goodbye"]
    texts = [heard.text(item) for item in heard.order]
    assert texts[0] == "hi, this is the front desk. how can i help?"
    assert texts[-1] == "goodbye!"
    assert run.session.closed


async def test_the_key_never_appears_in_debug_logs(emu: Emulator) -> None:
    buffer = io.StringIO()
    liveloop.configure_logging("DEBUG", json=True, stream=buffer)
    try:
        async with liveloop.connect(**options(emu)) as session:
            await session.send_text("hello")
            await asyncio.wait_for(session.input(), 10)
    finally:
        liveloop.configure_logging("WARNING")
    output = buffer.getvalue()
    assert "session started" in output
    assert KEY not in output and KEY[3:] not in output
