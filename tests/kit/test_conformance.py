"""The transport conformance kit, run the way a plugin author runs it:
``pytest --liveloop-conformance=PROVIDER/TRANSPORT`` in a child pytest (pytester, subprocess).

It passes on the built-in transports, fails on transport doubles whose feature flags lie
(naming the test of the flag that does not hold), and refuses an unknown pair with a usage
error.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import liveloop

pytest_plugins = ["pytester"]

RunChild = Callable[..., pytest.RunResult]

KIT_TESTS = 10

SKIPPED = {
    # The sideband test is for sideband pairs only.
    "openai/websocket": ["test_sideband_attaches_to_a_live_call"],
    "openai/webrtc": ["test_sideband_attaches_to_a_live_call"],
    # A sideband's audio goes to the user's device: nothing to hear in this process.
    "openai/webrtc_sideband": ["test_say_is_heard"],
}

BROKEN_PLUGIN = '''
"""Transport doubles whose flags lie: the real WebSocket transport, claiming every feature
of openai/websocket, with some of the provider's frames dropped on the way in."""

import json

import liveloop
from liveloop_openai_websocket import WebSocketConnector
from liveloop_openai_websocket.plugin import FEATURES


def is_function_call(event):
    item = event.get("item") or {}
    return item.get("type") == "function_call" or event["type"].startswith(
        "response.function_call_arguments."
    )


def without_calls(event):
    """Drops every trace of a function call, even in response.done."""
    if is_function_call(event):
        return None
    if event["type"] == "response.done":
        output = event["response"].get("output") or []
        event["response"]["output"] = [i for i in output if i.get("type") != "function_call"]
    return event


def without_audio(event):
    return None if event["type"] == "response.output_audio.delta" else event


class FilteredConnection:
    def __init__(self, inner, keep):
        self._inner = inner
        self._keep = keep
        self.media = inner.media

    async def send(self, message):
        await self._inner.send(message)

    async def receive(self):
        while True:
            event = self._keep(json.loads(await self._inner.receive()))
            if event is not None:
                return json.dumps(event)

    async def close(self):
        await self._inner.close()


class FilteredConnector:
    def __init__(self, keep):
        self._keep = keep

    async def open(self, config):
        return FilteredConnection(await WebSocketConnector().open(config), self._keep)


@liveloop.hookimpl
def register_transports(register):
    for transport, keep in (("silent", without_audio), ("toolless", without_calls)):
        register(
            liveloop.TransportSpec(
                provider="openai",
                transport=transport,
                connector=FilteredConnector(keep),
                features=FEATURES,
            )
        )
'''

REGISTERING_CONFTEST = """
import liveloop.plugins

import broken_transport


def pytest_configure(config):
    name = liveloop.plugins.register(broken_transport)
    config.add_cleanup(lambda: liveloop.plugins.unregister(name))
"""


def _pairs() -> set[str]:
    return {f"{row.provider}/{row.transport}" for row in liveloop.capabilities()}


@pytest.fixture
def broken(project: pytest.Pytester) -> pytest.Pytester:
    """The project registers the lying transports openai/silent and openai/toolless."""
    project.makepyfile(broken_transport=BROKEN_PLUGIN)
    project.makeconftest(REGISTERING_CONFTEST)
    return project


@pytest.mark.parametrize("pair", sorted(SKIPPED))
def test_the_kit_passes_on_the_built_in_transports(pair: str, run_child: RunChild) -> None:
    if pair not in _pairs():
        pytest.skip(f"{pair} is not installed")
    result = run_child(f"--liveloop-conformance={pair}", "-v", "-rs")
    # Only the tests of flags the pair does not claim are skipped.
    skipped = SKIPPED[pair]
    result.assert_outcomes(passed=KIT_TESTS - len(skipped), skipped=len(skipped))
    result.stdout.fnmatch_lines([f"::{name} SKIPPED*" for name in skipped], consecutive=False)


def test_the_kit_replaces_the_collected_tests(
    project: pytest.Pytester, run_child: RunChild
) -> None:
    project.makepyfile(test_mine="def test_mine():\n    raise AssertionError('not run')\n")
    result = run_child("--liveloop-conformance=openai/websocket", "-k", "connects")
    result.assert_outcomes(passed=1, deselected=KIT_TESTS - 1)


def test_a_claimed_audio_flag_that_does_not_hold_fails(
    broken: pytest.Pytester, run_child: RunChild
) -> None:
    result = run_child("--liveloop-conformance=openai/silent", "-v")
    result.assert_outcomes(passed=KIT_TESTS - 3, failed=2, skipped=1)
    # The kit's module lives outside the project: pytest names its tests "::test_...".
    result.stdout.fnmatch_lines(
        [
            "::test_spoken_turn_arrives PASSED*",
            "::test_say_is_heard FAILED*",
            "::test_tool_calls_are_answered_exactly_once PASSED*",
            "::test_barge_in_cuts_the_assistant_off FAILED*",
            "*_ test_say_is_heard _*",
            "E * AssertionError: timed out after * s waiting for 1 assistant lines;*",
            "*_ test_barge_in_cuts_the_assistant_off _*",
            "E * AssertionError: timed out after * s waiting for 500 ms of assistant audio;*",
        ],
        consecutive=False,
    )


def test_a_claimed_tools_flag_that_does_not_hold_fails(
    broken: pytest.Pytester, run_child: RunChild
) -> None:
    result = run_child("--liveloop-conformance=openai/toolless", "-v", "-k", "tool or typed")
    result.assert_outcomes(passed=1, failed=1, deselected=KIT_TESTS - 2)
    result.stdout.fnmatch_lines(
        [
            "::test_typed_turn_arrives PASSED*",
            "::test_tool_calls_are_answered_exactly_once FAILED*",
            "E * AssertionError: timed out after * s waiting for 1 tool results;*",
        ],
        consecutive=False,
    )


@pytest.mark.parametrize("pair", ["openai/nosuch", "nosuch/websocket", "websocket"])
def test_an_unknown_pair_is_a_usage_error(pair: str, run_child: RunChild) -> None:
    result = run_child(f"--liveloop-conformance={pair}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: *{pair}*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
