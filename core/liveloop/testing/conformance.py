"""liveloop's transport conformance kit: ``pytest --liveloop-conformance=PROVIDER/TRANSPORT``.

Runs the installed pair against the bundled emulator through the real plugins and real
sockets. The basics (connect and close within bounds, a turn in, ``SessionClosed`` on a
dropped connection) always run; every feature flag the pair claims runs its matching
test, and a flag it does not claim skips it. A claimed flag that does not hold fails.

A sideband pair (``sideband``) controls a call whose media flows elsewhere: each of its
sessions attaches to a headless call of the emulator's (a call without a WebRTC peer), opened
for it and hung up afterwards, and the user's speech is spoken into that call.

The tests are synchronous (each runs its own event loop), so the kit needs no async
pytest plugin.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

import liveloop
from liveloop.events import Interrupted, ResponseDone
from liveloop.matrix import Capability, resolve
from liveloop.testing import EmulatorThread, Heard, ToolLog, speak
from liveloop.testing.target import EmulatorTarget, emulated_provider
from liveloop.testing.voice import utterance

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
def emulator(capability: Capability) -> Iterator[EmulatorThread]:
    from liveloop_emulator import Rule

    _, emulated = emulated_provider(capability.provider)
    script = [Rule(match="weather", tool="lookup_weather", arguments={"city": "Paris"})]
    with EmulatorTarget(emulated, speed=4.0, script=script) as running:
        assert isinstance(running, EmulatorTarget)
        yield running.emulator


def _options(capability: Capability, emulator: EmulatorThread, **extra: Any) -> dict[str, Any]:
    _, emulated = emulated_provider(capability.provider)
    return {
        **emulated.options(emulator.emulator),
        "provider": capability.provider,
        "transport": capability.transport,
        **extra,
    }


@contextlib.asynccontextmanager
async def _session_options(
    capability: Capability, emulator: EmulatorThread, **extra: Any
) -> AsyncIterator[dict[str, Any]]:
    """``_options`` for one session; a sideband pair's attach to a headless call of their own
    (its ``call_id``), hung up afterwards."""
    if not capability.features.sideband:
        yield _options(capability, emulator, **extra)
        return
    call_id: str = await asyncio.to_thread(
        emulator.call, lambda: emulator.emulator.open_headless_call()
    )
    try:
        yield _options(capability, emulator, call_id=call_id, **extra)
    finally:
        await _hang_up(emulator, call_id)


async def _hang_up(emulator: EmulatorThread, call_id: str) -> None:
    try:
        running = emulator.emulator
    except RuntimeError:
        return  # the emulator was stopped: the call ended with it
    await asyncio.to_thread(emulator.call, lambda: running.hangup(call_id))


def _require(capability: Capability, *flags: str) -> None:
    missing = [flag for flag in flags if not getattr(capability.features, flag)]
    if missing:
        pytest.skip(f"{capability.provider}/{capability.transport} does not claim {missing}")


def _require_voice(capability: Capability) -> None:
    """Skip unless the user can speak: into the session (audio_in) or into its call (sideband)."""
    if not (capability.features.audio_in or capability.features.sideband):
        pytest.skip(
            f"{capability.provider}/{capability.transport} claims neither audio_in nor sideband"
        )


async def _user_says(emulator: EmulatorThread, session: liveloop.Session, text: str) -> None:
    """The user speaks ``text``: into the session, or into the call a sideband controls (the
    user's device sends its audio to the provider directly)."""
    if session.features.audio_in:
        await speak(session, text)
        return
    call_id = session.config.call_id
    assert call_id is not None, "a sideband session without a call_id"
    pcm = utterance(text)
    await asyncio.to_thread(emulator.call, lambda: emulator.emulator.speak_into_call(call_id, pcm))


async def _wait_sent(
    emulator: EmulatorThread, event_type: str, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """The server events of ``event_type`` of the latest session, once there is one."""
    for _ in range(int(timeout / 0.02)):
        if found := emulator.sessions[-1].events_of(event_type):
            return list(found)
        await asyncio.sleep(0.02)
    return list(emulator.sessions[-1].events_of(event_type))


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
        async with _session_options(capability, emulator) as options:
            started = time.perf_counter()
            session = await liveloop.open_session(**options)
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
            async with _session_options(capability, own, reconnect=None) as options:
                session = await liveloop.open_session(**options)
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
        async with (
            _session_options(capability, emulator) as options,
            liveloop.connect(**options) as session,
        ):
            await session.send_text("hello there")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there"

    _run(test)


def test_spoken_turn_arrives(capability: Capability, emulator: EmulatorThread) -> None:
    _require(capability, "server_vad")
    _require_voice(capability)

    async def test() -> None:
        async with (
            _session_options(capability, emulator) as options,
            liveloop.connect(**options) as session,
        ):
            await _user_says(emulator, session, "hello there")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there"

    _run(test)


def test_semantic_vad_turn_arrives(capability: Capability, emulator: EmulatorThread) -> None:
    _require(capability, "semantic_vad")
    _require_voice(capability)

    async def test() -> None:
        async with (
            _session_options(capability, emulator, turn_detection="semantic_vad") as options,
            liveloop.connect(**options) as session,
        ):
            await _user_says(emulator, session, "good morning")
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
        async with (
            _session_options(capability, emulator, auto_respond=False) as options,
            liveloop.connect(**options) as session,
        ):
            speech = await session.say(SAID).wait(10)
            assert speech.transcript.lower() == SAID

    _run(test)


def test_tool_calls_are_answered_exactly_once(
    capability: Capability, emulator: EmulatorThread
) -> None:
    _require(capability, "tools", "text")

    async def test() -> None:
        async with (
            _session_options(capability, emulator) as options,
            liveloop.connect(**options, tools=[lookup_weather]) as session,
        ):
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
    _require(capability, "server_vad")
    _require_voice(capability)
    if capability.features.interruption == "none":
        pytest.skip(f"{capability.provider}/{capability.transport} does not claim barge-in")
    if not capability.features.audio_out:
        _sideband_barge_in(capability, emulator)
        return
    _require(capability, "audio_in")

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


def _sideband_barge_in(capability: Capability, emulator: EmulatorThread) -> None:
    # The call plays the answer to the user's device; the user talks over it there.
    async def test() -> None:
        async with (
            _session_options(capability, emulator, auto_respond=False) as options,
            liveloop.connect(**options) as session,
        ):
            speech = session.say(LONG)
            assert await _wait_sent(emulator, "output_audio_buffer.started")
            await asyncio.sleep(0.3)
            await _user_says(emulator, session, "stop")
            await asyncio.wait_for(speech.wait(), 10)
            assert speech.interrupted
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "stop"

    _run(test)


def test_sideband_attaches_to_a_live_call(capability: Capability, emulator: EmulatorThread) -> None:
    _require(capability, "sideband")

    async def test() -> None:
        async with (
            _session_options(capability, emulator, auto_respond=False) as options,
            liveloop.connect(**options) as session,
        ):
            call = emulator.sessions[-1]
            assert call.call_id == options["call_id"]
            # The session is the call's: its provider session is the call's session.
            for _ in range(100):
                if session.provider_session_id is not None:
                    break
                await asyncio.sleep(0.02)
            assert session.provider_session_id == call.id
            # What the sideband asks for is heard on the call.
            speech = await session.say(SAID).wait(10)
            assert speech.transcript.lower() == SAID
            assert _received(emulator, "response.create")
            [response_id] = [
                e["response"]["id"]
                for e in call.events_of("response.done")
                if e["response"]["status"] == "completed"
            ]
            await _wait_sent(emulator, "output_audio_buffer.stopped")
            assert response_id in {
                e["response_id"] for e in call.events_of("output_audio_buffer.started")
            }

    _run(test)
