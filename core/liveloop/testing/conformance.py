"""liveloop's conformance kit: ``pytest --liveloop-conformance=PROVIDER/TRANSPORT``.

Runs the installed pair through the real plugins and real sockets against a target: by
default the bundled emulator, reached the way the pair's provider plugin declares
(:attr:`ProviderSpec.emulator <liveloop.plugin.ProviderSpec>`); a plugin tested against its
own emulator or a live endpoint implements the ``pytest_liveloop_conformance_target`` hook
in its ``conftest.py`` (see :mod:`liveloop.testing.plugin`). The kit speaks no provider's
wire protocol: what happened on the provider's side it asks the target's
:class:`~liveloop.testing.ProviderSide`.

The basics (connect and close within bounds, the provider's session closed after
``close()``, ``SessionClosed`` on a dropped connection) always run; every feature flag the
pair claims runs its matching test, and a flag it does not claim skips it. A claimed flag
that does not hold fails: each audio format carries a tone-speech turn both ways, barge-in
is truncated by whoever the pair says truncates, tool calls are answered exactly once.

A sideband pair (``sideband``) controls a call whose media flows elsewhere: each of its
sessions attaches to a call the target opens for it (a call without a user's device),
hung up afterwards, and the user's speech is spoken into that call.

The tests are synchronous (each runs its own event loop), so the kit needs no async
pytest plugin.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

import liveloop
from liveloop.events import Interrupted, ResponseDone
from liveloop.matrix import Capability, resolve
from liveloop.testing import ConformanceTarget, Heard, ToolLog, speak
from liveloop.testing import _kit as kit


@pytest.fixture(scope="module")
def capability(request: pytest.FixtureRequest) -> Capability:
    pair = str(request.config.getoption("liveloop_conformance") or "")
    provider, _, transport = pair.partition("/")
    if not provider or not transport:
        raise pytest.UsageError(f"--liveloop-conformance takes PROVIDER/TRANSPORT, not {pair!r}")
    try:
        return resolve(provider, transport)[2]
    except liveloop.LiveloopError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="module")
def target(request: pytest.FixtureRequest, capability: Capability) -> Iterator[ConformanceTarget]:
    """The target of this run: the plugin's hook's, else the provider's emulator."""
    from liveloop.testing.plugin import conformance_target

    with conformance_target(request.config, capability) as started:
        yield started


def test_connects_and_closes_within_bounds(
    capability: Capability, target: ConformanceTarget
) -> None:
    async def test() -> None:
        async with kit.session_options(capability, target) as options:
            # A first session loads the pair's modules (lazily imported): not the bound.
            await (await liveloop.open_session(**options)).close()
        async with kit.session_options(capability, target) as options:
            started = time.perf_counter()
            session = await liveloop.open_session(**options)
            assert time.perf_counter() - started < kit.CONNECT_BOUND
            assert session.features == capability.features
            started = time.perf_counter()
            await session.close()
            assert time.perf_counter() - started < kit.CLOSE_BOUND
            assert session.closed

    kit.run(test)


def test_close_ends_the_provider_session(capability: Capability, target: ConformanceTarget) -> None:
    async def test() -> None:
        async with kit.session_options(capability, target) as options:
            session = await liveloop.open_session(**options)
            side = target.side
            opened = await kit.poll(
                lambda: not side.closed() and side.session_id() is not None, 2.0
            )
            assert opened, "the provider saw no open session"
            await session.close()
            closed = await kit.poll(side.closed, kit.PROVIDER_CLOSED_BOUND)
            assert closed, (
                f"the provider's session was still open {kit.PROVIDER_CLOSED_BOUND:g} s after "
                "close() returned"
            )

    kit.run(test)


def test_dropped_connection_raises_session_closed(
    capability: Capability, target: ConformanceTarget
) -> None:
    async def test() -> None:
        with target.fresh() as own:
            async with kit.session_options(capability, own, reconnect=None) as options:
                session = await liveloop.open_session(**options)
                waiting = asyncio.create_task(session.input())
                await asyncio.sleep(0.1)
                own.stop()
                started = time.perf_counter()
                with pytest.raises(liveloop.SessionClosed):
                    await asyncio.wait_for(waiting, kit.CLOSED_BOUND + 1)
                assert time.perf_counter() - started < kit.CLOSED_BOUND
                await session.close()

    kit.run(test)


def test_typed_turn_arrives(capability: Capability, target: ConformanceTarget) -> None:
    kit.require(capability, "text")

    async def test() -> None:
        async with (
            kit.session_options(capability, target) as options,
            liveloop.connect(**options) as session,
        ):
            await session.send_text("hello there")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there"

    kit.run(test)


def test_spoken_turn_arrives(capability: Capability, target: ConformanceTarget) -> None:
    kit.require(capability, "server_vad")
    kit.require_voice(capability)

    async def test() -> None:
        async with (
            kit.session_options(capability, target) as options,
            liveloop.connect(**options) as session,
        ):
            await kit.user_says(target, session, "hello there")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there"

    kit.run(test)


@pytest.mark.parametrize("encoding", kit.FORMATS)
def test_audio_format_carries_speech_both_ways(
    capability: Capability, target: ConformanceTarget, encoding: str
) -> None:
    if encoding not in capability.features.audio_formats:
        pytest.skip(f"{capability.provider}/{capability.transport} does not claim {encoding}")
    kit.require(capability, "audio_in", "audio_out", "server_vad")

    async def test() -> None:
        formats: dict[str, Any] = {}
        if encoding != "pcm16":  # PCM16 at the provider's own rate
            fmt = liveloop.AudioFormat(encoding=encoding, rate=8000)
            formats = {"input_audio": fmt, "output_audio": fmt}
        async with (
            kit.session_options(capability, target, auto_respond=False, **formats) as options,
            liveloop.connect(**options) as session,
        ):
            assert session.config.input_audio.encoding == encoding
            heard = Heard(session)
            await speak(session, "hello there")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there", f"{encoding} speech in was heard as {turn.text!r}"
            await session.say(kit.SAID).wait(10)
            assert await heard.wait_for_lines(1) == [kit.SAID], f"{encoding} speech out"

    kit.run(test)


def test_semantic_vad_turn_arrives(capability: Capability, target: ConformanceTarget) -> None:
    kit.require(capability, "semantic_vad")
    kit.require_voice(capability)

    async def test() -> None:
        async with (
            kit.session_options(capability, target, turn_detection="semantic_vad") as options,
            liveloop.connect(**options) as session,
        ):
            await kit.user_says(target, session, "good morning")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "good morning"

    kit.run(test)


def test_say_is_heard(capability: Capability, target: ConformanceTarget) -> None:
    kit.require(capability, "audio_out")

    async def test() -> None:
        options = kit.options(capability, target, auto_respond=False)
        async with liveloop.connect(**options) as session:
            heard = Heard(session)
            speech = await session.say(kit.SAID).wait(10)
            assert not speech.interrupted
            assert await heard.wait_for_lines(1) == [kit.SAID]

    kit.run(test)


def test_say_is_verbatim(capability: Capability, target: ConformanceTarget) -> None:
    kit.require(capability, "verbatim_say")

    async def test() -> None:
        async with (
            kit.session_options(capability, target, auto_respond=False) as options,
            liveloop.connect(**options) as session,
        ):
            speech = await session.say(kit.SAID).wait(10)
            assert speech.transcript.lower() == kit.SAID

    kit.run(test)


def test_tool_calls_are_answered_exactly_once(
    capability: Capability, target: ConformanceTarget
) -> None:
    kit.require(capability, "tools", "text")

    async def test() -> None:
        async with (
            kit.session_options(capability, target) as options,
            liveloop.connect(**options, tools=[kit.lookup_weather]) as session,
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
        side = target.side
        assert side.tool_outputs() == 1
        assert side.responses_after_tool_output() == 1

    kit.run(test)


def test_barge_in_cuts_the_assistant_off(capability: Capability, target: ConformanceTarget) -> None:
    kit.require(capability, "server_vad")
    kit.require_voice(capability)
    if capability.features.interruption == "none":
        pytest.skip(f"{capability.provider}/{capability.transport} does not claim barge-in")
    if not capability.features.audio_out:
        _sideband_barge_in(capability, target)
        return
    kit.require(capability, "audio_in")

    async def test() -> None:
        options = kit.options(capability, target, auto_respond=False)
        async with liveloop.connect(**options) as session:
            heard = Heard(session)
            speech = session.say(kit.LONG)
            await heard.wait_for_audio(ms=500)
            # Like an app with its own playback buffer: the user heard 300 ms so far.
            session.played(300)
            await speak(session, "stop")
            await asyncio.wait_for(speech.wait(), 10)
            assert speech.interrupted
            assert isinstance(await heard.wait_for_interruption(), Interrupted)
            await kit.check_truncation(capability, target, heard.order[0], 300)
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "stop"

    kit.run(test)


def _sideband_barge_in(capability: Capability, target: ConformanceTarget) -> None:
    # The call plays the answer to the user's device; the user talks over it there.
    async def test() -> None:
        async with (
            kit.session_options(capability, target, auto_respond=False) as options,
            liveloop.connect(**options) as session,
        ):
            speech = session.say(kit.LONG)
            assert await kit.poll(target.side.played_responses, 5.0), "the answer never played"
            await asyncio.sleep(0.3)
            await kit.user_says(target, session, "stop")
            await asyncio.wait_for(speech.wait(), 10)
            assert speech.interrupted
            await kit.check_truncation(capability, target, None, None)
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "stop"

    kit.run(test)


def test_sideband_attaches_to_a_live_call(
    capability: Capability, target: ConformanceTarget
) -> None:
    kit.require(capability, "sideband")

    async def test() -> None:
        async with (
            kit.session_options(capability, target, auto_respond=False) as options,
            liveloop.connect(**options) as session,
        ):
            side = target.side
            assert side.call_id() == options["call_id"]
            # The session is the call's: its provider session is the call's session.
            attached = await kit.poll(lambda: session.provider_session_id is not None, 2.0)
            assert attached
            assert session.provider_session_id == side.session_id()
            # What the sideband asks for is heard on the call.
            speech = await session.say(kit.SAID).wait(10)
            assert speech.transcript.lower() == kit.SAID
            assert side.responses_requested() >= 1
            [response_id] = side.completed_responses()
            played = await kit.poll(lambda: response_id in side.played_responses(), 5.0)
            assert played, "the answer was not played on the call"

    kit.run(test)
