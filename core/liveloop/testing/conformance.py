"""liveloop's transport conformance kit: ``pytest --liveloop-conformance=PROVIDER/TRANSPORT``.

Runs the installed pair against the bundled emulator through the real plugins and real
sockets. The basics (connect and close within bounds, a turn in, ``SessionClosed`` on a
dropped connection) always run; every feature flag the pair claims runs its matching
test, and a flag it does not claim skips it. A claimed flag that does not hold fails.

The tests are synchronous (each runs its own event loop), so the kit needs no async
pytest plugin.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

import liveloop
from liveloop.events import Interrupted, ResponseDone
from liveloop.matrix import Capability, resolve
from liveloop.testing import EmulatorThread, Heard, ToolLog, speak
from liveloop.testing.plugin import TEST_KEY

MODEL = "gpt-realtime"
TEST_TIMEOUT = 30.0
CONNECT_BOUND = 5.0
CLOSE_BOUND = 1.0
CLOSED_BOUND = 2.0
SAID = "your table for two is booked for eight"
LONG = " ".join(["this is a long answer that goes on"] * 12)


def _run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(test(), TEST_TIMEOUT)

    asyncio.run(bounded())


def lookup_weather(city: str) -> dict[str, str]:
    """Look up today's weather in a city."""
    return {"city": city, "sky": "sunny"}


@pytest.fixture(scope="module")
def capability(request: pytest.FixtureRequest) -> Capability:
    pair = str(request.config.getoption("liveloop_conformance") or "")
    provider, _, transport = pair.partition("/")
    if not provider or not transport:
        raise pytest.UsageError(f"--liveloop-conformance takes PROVIDER/TRANSPORT, not {pair!r}")
    try:
        return resolve(provider, transport)[2]
    except liveloop.UnsupportedTransport as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    from liveloop_emulator import Rule

    script = [Rule(match="weather", tool="lookup_weather", arguments={"city": "Paris"})]
    with EmulatorThread(speed=4.0, script=script) as running:
        yield running


def _options(capability: Capability, emulator: EmulatorThread, **extra: Any) -> dict[str, Any]:
    return {
        "provider": capability.provider,
        "transport": capability.transport,
        "model": MODEL,
        "api_key": TEST_KEY,
        "base_url": emulator.base_url,
        **extra,
    }


def _require(capability: Capability, *flags: str) -> None:
    missing = [flag for flag in flags if not getattr(capability.features, flag)]
    if missing:
        pytest.skip(f"{capability.provider}/{capability.transport} does not claim {missing}")


def _received(emulator: EmulatorThread, event_type: str) -> list[dict[str, Any]]:
    """Client events of ``event_type`` the emulator's latest session received."""
    return [e for e in emulator.sessions[-1].client_events if e.get("type") == event_type]


async def _wait_received(
    emulator: EmulatorThread, event_type: str, timeout: float = 2.0
) -> list[dict[str, Any]]:
    """The client events of ``event_type``, once the emulator has received at least one."""
    # The record lives on the emulator's thread: poll it, briefly.
    for _ in range(int(timeout / 0.02)):
        if found := _received(emulator, event_type):
            return found
        await asyncio.sleep(0.02)
    return _received(emulator, event_type)


def test_connects_and_closes_within_bounds(
    capability: Capability, emulator: EmulatorThread
) -> None:
    async def test() -> None:
        started = time.perf_counter()
        session = await liveloop.open_session(**_options(capability, emulator))
        assert time.perf_counter() - started < CONNECT_BOUND
        assert session.features == capability.features
        started = time.perf_counter()
        await session.close()
        assert time.perf_counter() - started < CLOSE_BOUND
        assert session.closed

    _run(test)


def test_dropped_connection_raises_session_closed(capability: Capability) -> None:
    async def test() -> None:
        with EmulatorThread(speed=4.0) as own:
            session = await liveloop.open_session(**_options(capability, own, reconnect=None))
            waiting = asyncio.create_task(session.input())
            await asyncio.sleep(0.1)
            own.stop()
            started = time.perf_counter()
            with pytest.raises(liveloop.SessionClosed):
                await asyncio.wait_for(waiting, CLOSED_BOUND + 1)
            assert time.perf_counter() - started < CLOSED_BOUND
            await session.close()

    _run(test)


def test_typed_turn_arrives(capability: Capability, emulator: EmulatorThread) -> None:
    _require(capability, "text")

    async def test() -> None:
        async with liveloop.connect(**_options(capability, emulator)) as session:
            await session.send_text("hello there")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there"

    _run(test)


def test_spoken_turn_arrives(capability: Capability, emulator: EmulatorThread) -> None:
    _require(capability, "audio_in", "server_vad")

    async def test() -> None:
        async with liveloop.connect(**_options(capability, emulator)) as session:
            await speak(session, "hello there")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there"

    _run(test)


def test_semantic_vad_turn_arrives(capability: Capability, emulator: EmulatorThread) -> None:
    _require(capability, "audio_in", "semantic_vad")

    async def test() -> None:
        options = _options(capability, emulator, turn_detection="semantic_vad")
        async with liveloop.connect(**options) as session:
            await speak(session, "good morning")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "good morning"

    _run(test)


def test_say_is_heard(capability: Capability, emulator: EmulatorThread) -> None:
    _require(capability, "audio_out")

    async def test() -> None:
        options = _options(capability, emulator, auto_respond=False)
        async with liveloop.connect(**options) as session:
            heard = Heard(session)
            speech = await session.say(SAID).wait(10)
            assert not speech.interrupted
            assert await heard.wait_for_lines(1) == [SAID]

    _run(test)


def test_say_is_verbatim(capability: Capability, emulator: EmulatorThread) -> None:
    _require(capability, "verbatim_say")

    async def test() -> None:
        options = _options(capability, emulator, auto_respond=False)
        async with liveloop.connect(**options) as session:
            speech = await session.say(SAID).wait(10)
            assert speech.transcript.lower() == SAID

    _run(test)


def test_tool_calls_are_answered_exactly_once(
    capability: Capability, emulator: EmulatorThread
) -> None:
    _require(capability, "tools", "text")

    async def test() -> None:
        options = _options(capability, emulator)
        async with liveloop.connect(**options, tools=[lookup_weather]) as session:
            log = ToolLog(session)

            async def two_responses() -> None:
                # The tool call, then the model's answer that uses its result.
                done = 0
                async for event in session.events():
                    done += isinstance(event, ResponseDone)
                    if done == 2:
                        return

            responses = asyncio.create_task(two_responses())
            await session.send_text("what is the weather in paris")
            await log.wait_for_results(1)
            result = log.assert_called("lookup_weather", city="Paris")
            assert json.loads(result.output) == {"city": "Paris", "sky": "sunny"}
            await asyncio.wait_for(responses, 10)
            log.close()
        sent = emulator.sessions[-1].client_events
        outputs = [
            index
            for index, e in enumerate(sent)
            if e.get("type") == "conversation.item.create"
            and e.get("item", {}).get("type") == "function_call_output"
        ]
        assert len(outputs) == 1
        follow_ups = [e for e in sent[outputs[0] :] if e.get("type") == "response.create"]
        assert len(follow_ups) == 1

    _run(test)


def test_barge_in_cuts_the_assistant_off(capability: Capability, emulator: EmulatorThread) -> None:
    _require(capability, "audio_in", "audio_out", "server_vad")
    if capability.features.interruption == "none":
        pytest.skip(f"{capability.provider}/{capability.transport} does not claim barge-in")

    async def test() -> None:
        options = _options(capability, emulator, auto_respond=False)
        async with liveloop.connect(**options) as session:
            heard = Heard(session)
            speech = session.say(LONG)
            await heard.wait_for_audio(ms=500)
            # Like an app with its own playback buffer: the user heard 300 ms so far.
            session.played(300)
            await speak(session, "stop")
            await asyncio.wait_for(speech.wait(), 10)
            assert speech.interrupted
            assert isinstance(await heard.wait_for_interruption(), Interrupted)
            if capability.features.interruption == "client_truncates":
                [truncate] = await _wait_received(emulator, "conversation.item.truncate")
                assert truncate["audio_end_ms"] == 300
                assert truncate["item_id"] == heard.order[0]
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "stop"

    _run(test)
