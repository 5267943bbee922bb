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
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

import liveloop
from liveloop.events import Interrupted, ResponseDone
from liveloop.matrix import Capability, resolve
from liveloop.testing import ConformanceTarget, Heard, ProviderSide, ToolLog, speak
from liveloop.testing.voice import utterance

TEST_TIMEOUT = 30.0
CONNECT_BOUND = 5.0
CLOSE_BOUND = 1.0
PROVIDER_CLOSED_BOUND = 1.0
CLOSED_BOUND = 2.0
SAID = "your table for two is booked for eight"
LONG = " ".join(["this is a long answer that goes on"] * 12)
FORMATS = ("pcm16", "g711_ulaw", "g711_alaw")


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
    except liveloop.LiveloopError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="module")
def target(request: pytest.FixtureRequest, capability: Capability) -> Iterator[ConformanceTarget]:
    """The target of this run: the plugin's hook's, else the provider's emulator."""
    from liveloop.testing.plugin import conformance_target

    with conformance_target(request.config, capability) as started:
        yield started


def _options(capability: Capability, target: ConformanceTarget, **extra: Any) -> dict[str, Any]:
    return {
        **target.options(),
        "provider": capability.provider,
        "transport": capability.transport,
        **extra,
    }


@contextlib.asynccontextmanager
async def _session_options(
    capability: Capability, target: ConformanceTarget, **extra: Any
) -> AsyncIterator[dict[str, Any]]:
    """``_options`` for one session; a sideband pair's attach to a call of their own (its
    ``call_id``), hung up afterwards."""
    if not capability.features.sideband:
        yield _options(capability, target, **extra)
        return
    call_id = await target.side.open_call()
    try:
        yield _options(capability, target, call_id=call_id, **extra)
    finally:
        await target.side.hang_up(call_id)


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


async def _user_says(target: ConformanceTarget, session: liveloop.Session, text: str) -> None:
    """The user speaks ``text``: into the session, or into the call a sideband controls (the
    user's device sends its audio to the provider directly)."""
    if session.features.audio_in:
        await speak(session, text)
        return
    call_id = session.config.call_id
    assert call_id is not None, "a sideband session without a call_id"
    await target.side.speak_into_call(call_id, utterance(text))


async def _poll(
    check: Callable[[], Any], timeout: float, interval: float = 0.02
) -> Any:  # the provider's records live on another thread: poll them, briefly
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if found := check():
            return found
        if loop.time() >= deadline:
            return check()
        await asyncio.sleep(interval)


def _provider_truncated(side: ProviderSide, item_id: str | None) -> bool:
    return any(
        cut.by == "provider" and (item_id is None or cut.item_id == item_id)
        for cut in side.truncations()
    )


async def _check_truncation(
    capability: Capability, target: ConformanceTarget, item_id: str | None, played_ms: int | None
) -> None:
    """The interrupted item was cut to what was heard, by whoever the pair says cuts it."""
    side = target.side
    if capability.features.interruption == "client_truncates":
        cuts = await _poll(lambda: [c for c in side.truncations() if c.by == "client"], 2.0)
        assert len(cuts) == 1, f"expected one truncation from this process, got {cuts}"
        if item_id is not None:
            assert cuts[0].item_id == item_id
        if played_ms is not None:
            assert cuts[0].audio_end_ms == played_ms
    elif capability.features.interruption == "server_truncates":
        truncated = await _poll(lambda: _provider_truncated(side, item_id), 2.0)
        assert truncated, (
            f"{capability.provider}/{capability.transport} claims the server truncates on "
            f"barge-in, but the provider truncated no item (truncations: {side.truncations()})"
        )


def test_connects_and_closes_within_bounds(
    capability: Capability, target: ConformanceTarget
) -> None:
    async def test() -> None:
        async with _session_options(capability, target) as options:
            # A first session loads the pair's modules (lazily imported): not the bound.
            await (await liveloop.open_session(**options)).close()
        async with _session_options(capability, target) as options:
            started = time.perf_counter()
            session = await liveloop.open_session(**options)
            assert time.perf_counter() - started < CONNECT_BOUND
            assert session.features == capability.features
            started = time.perf_counter()
            await session.close()
            assert time.perf_counter() - started < CLOSE_BOUND
            assert session.closed

    _run(test)


def test_close_ends_the_provider_session(capability: Capability, target: ConformanceTarget) -> None:
    async def test() -> None:
        async with _session_options(capability, target) as options:
            session = await liveloop.open_session(**options)
            side = target.side
            opened = await _poll(lambda: not side.closed() and side.session_id() is not None, 2.0)
            assert opened, "the provider saw no open session"
            await session.close()
            closed = await _poll(side.closed, PROVIDER_CLOSED_BOUND)
            assert closed, (
                f"the provider's session was still open {PROVIDER_CLOSED_BOUND:g} s after "
                "close() returned"
            )

    _run(test)


def test_dropped_connection_raises_session_closed(
    capability: Capability, target: ConformanceTarget
) -> None:
    async def test() -> None:
        with target.fresh() as own:
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


def test_typed_turn_arrives(capability: Capability, target: ConformanceTarget) -> None:
    _require(capability, "text")

    async def test() -> None:
        async with (
            _session_options(capability, target) as options,
            liveloop.connect(**options) as session,
        ):
            await session.send_text("hello there")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there"

    _run(test)


def test_spoken_turn_arrives(capability: Capability, target: ConformanceTarget) -> None:
    _require(capability, "server_vad")
    _require_voice(capability)

    async def test() -> None:
        async with (
            _session_options(capability, target) as options,
            liveloop.connect(**options) as session,
        ):
            await _user_says(target, session, "hello there")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there"

    _run(test)


@pytest.mark.parametrize("encoding", FORMATS)
def test_audio_format_carries_speech_both_ways(
    capability: Capability, target: ConformanceTarget, encoding: str
) -> None:
    if encoding not in capability.features.audio_formats:
        pytest.skip(f"{capability.provider}/{capability.transport} does not claim {encoding}")
    _require(capability, "audio_in", "audio_out", "server_vad")

    async def test() -> None:
        formats: dict[str, Any] = {}
        if encoding != "pcm16":  # PCM16 at the provider's own rate
            fmt = liveloop.AudioFormat(encoding=encoding, rate=8000)
            formats = {"input_audio": fmt, "output_audio": fmt}
        async with (
            _session_options(capability, target, auto_respond=False, **formats) as options,
            liveloop.connect(**options) as session,
        ):
            assert session.config.input_audio.encoding == encoding
            heard = Heard(session)
            await speak(session, "hello there")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there", f"{encoding} speech in was heard as {turn.text!r}"
            await session.say(SAID).wait(10)
            assert await heard.wait_for_lines(1) == [SAID], f"{encoding} speech out"

    _run(test)


def test_semantic_vad_turn_arrives(capability: Capability, target: ConformanceTarget) -> None:
    _require(capability, "semantic_vad")
    _require_voice(capability)

    async def test() -> None:
        async with (
            _session_options(capability, target, turn_detection="semantic_vad") as options,
            liveloop.connect(**options) as session,
        ):
            await _user_says(target, session, "good morning")
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "good morning"

    _run(test)


def test_say_is_heard(capability: Capability, target: ConformanceTarget) -> None:
    _require(capability, "audio_out")

    async def test() -> None:
        options = _options(capability, target, auto_respond=False)
        async with liveloop.connect(**options) as session:
            heard = Heard(session)
            speech = await session.say(SAID).wait(10)
            assert not speech.interrupted
            assert await heard.wait_for_lines(1) == [SAID]

    _run(test)


def test_say_is_verbatim(capability: Capability, target: ConformanceTarget) -> None:
    _require(capability, "verbatim_say")

    async def test() -> None:
        async with (
            _session_options(capability, target, auto_respond=False) as options,
            liveloop.connect(**options) as session,
        ):
            speech = await session.say(SAID).wait(10)
            assert speech.transcript.lower() == SAID

    _run(test)


def test_tool_calls_are_answered_exactly_once(
    capability: Capability, target: ConformanceTarget
) -> None:
    _require(capability, "tools", "text")

    async def test() -> None:
        async with (
            _session_options(capability, target) as options,
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
        side = target.side
        assert side.tool_outputs() == 1
        assert side.responses_after_tool_output() == 1

    _run(test)


def test_barge_in_cuts_the_assistant_off(capability: Capability, target: ConformanceTarget) -> None:
    _require(capability, "server_vad")
    _require_voice(capability)
    if capability.features.interruption == "none":
        pytest.skip(f"{capability.provider}/{capability.transport} does not claim barge-in")
    if not capability.features.audio_out:
        _sideband_barge_in(capability, target)
        return
    _require(capability, "audio_in")

    async def test() -> None:
        options = _options(capability, target, auto_respond=False)
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
            await _check_truncation(capability, target, heard.order[0], 300)
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "stop"

    _run(test)


def _sideband_barge_in(capability: Capability, target: ConformanceTarget) -> None:
    # The call plays the answer to the user's device; the user talks over it there.
    async def test() -> None:
        async with (
            _session_options(capability, target, auto_respond=False) as options,
            liveloop.connect(**options) as session,
        ):
            speech = session.say(LONG)
            assert await _poll(target.side.played_responses, 5.0), "the answer never played"
            await asyncio.sleep(0.3)
            await _user_says(target, session, "stop")
            await asyncio.wait_for(speech.wait(), 10)
            assert speech.interrupted
            await _check_truncation(capability, target, None, None)
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "stop"

    _run(test)


def test_sideband_attaches_to_a_live_call(
    capability: Capability, target: ConformanceTarget
) -> None:
    _require(capability, "sideband")

    async def test() -> None:
        async with (
            _session_options(capability, target, auto_respond=False) as options,
            liveloop.connect(**options) as session,
        ):
            side = target.side
            assert side.call_id() == options["call_id"]
            # The session is the call's: its provider session is the call's session.
            attached = await _poll(lambda: session.provider_session_id is not None, 2.0)
            assert attached
            assert session.provider_session_id == side.session_id()
            # What the sideband asks for is heard on the call.
            speech = await session.say(SAID).wait(10)
            assert speech.transcript.lower() == SAID
            assert side.responses_requested() >= 1
            [response_id] = side.completed_responses()
            played = await _poll(lambda: response_id in side.played_responses(), 5.0)
            assert played, "the answer was not played on the call"

    _run(test)
