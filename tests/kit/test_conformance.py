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
pytestmark = pytest.mark.timeout(300)  # child pytest runs, each bounded by CHILD_TIMEOUT

RunChild = Callable[..., pytest.RunResult]

KIT_TESTS = 14

G711 = [
    "test_audio_format_carries_speech_both_ways[g711_ulaw]",
    "test_audio_format_carries_speech_both_ways[g711_alaw]",
]
SKIPPED = {
    # Gemini Live speaks PCM16 only, has no semantic VAD, no verbatim say, no calls.
    "gemini/websocket": [
        *G711,
        "test_semantic_vad_turn_arrives",
        "test_say_is_verbatim",
        "test_sideband_attaches_to_a_live_call",
    ],
    # The sideband test is for sideband pairs only.
    "openai/websocket": ["test_sideband_attaches_to_a_live_call"],
    # WebRTC carries PCM16 (Opus on the wire) only.
    "openai/webrtc": [*G711, "test_sideband_attaches_to_a_live_call"],
    # A sideband's audio goes to the user's device: nothing to hear in this process.
    "openai/webrtc_sideband": [
        "test_audio_format_carries_speech_both_ways[pcm16]",
        *G711,
        "test_say_is_heard",
    ],
}
"""The kit's tests each built-in pair skips, in the kit's order."""

BROKEN_PLUGIN = '''
"""Transport doubles that break a promise: the real WebSocket transport, claiming every
feature of openai/websocket, with some of the provider's frames dropped on the way in,
the audio formats of the session dropped on the way out, a close() that does nothing, or
a claim that the server truncates on barge-in (over WebSocket it does not)."""

import dataclasses
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


def keep_all(event):
    return event


def pcm_only(event):
    """Rewrites the session's audio formats to PCM: G.711 is lost on the way out."""
    audio = (event.get("session") or {}).get("audio") or {}
    for side in audio.values():
        if isinstance(side, dict) and "format" in side:
            side["format"] = {"type": "audio/pcm", "rate": 24000}
    return event


class FilteredConnection:
    def __init__(self, inner, keep, send=keep_all, closes=True):
        self._inner = inner
        self._keep = keep
        self._send = send
        self._closes = closes
        self.media = inner.media

    async def send(self, message):
        await self._inner.send(json.dumps(self._send(json.loads(message))))

    async def receive(self):
        while True:
            event = self._keep(json.loads(await self._inner.receive()))
            if event is not None:
                return json.dumps(event)

    async def close(self):
        if self._closes:
            await self._inner.close()


class FilteredConnector:
    def __init__(self, keep=keep_all, send=keep_all, closes=True):
        self._options = (keep, send, closes)

    async def open(self, config):
        return FilteredConnection(await WebSocketConnector().open(config), *self._options)


SERVER_TRUNCATES = dataclasses.replace(FEATURES, interruption="server_truncates")
DOUBLES = (
    ("silent", FilteredConnector(keep=without_audio), FEATURES),
    ("toolless", FilteredConnector(keep=without_calls), FEATURES),
    ("pcmonly", FilteredConnector(send=pcm_only), FEATURES),
    ("noclose", FilteredConnector(closes=False), FEATURES),
    ("falsetrunc", FilteredConnector(), SERVER_TRUNCATES),
)


@liveloop.plugin.hookimpl
def register_transports(register):
    for transport, connector, features in DOUBLES:
        register(
            liveloop.plugin.TransportSpec(
                provider="openai", transport=transport, connector=connector, features=features
            )
        )
'''

LOSSY_PLUGIN = '''
"""A transport claiming an audio format (opus) that the openai codec does not speak."""

import dataclasses

import liveloop
from liveloop_openai_websocket import WebSocketConnector
from liveloop_openai_websocket.plugin import FEATURES

OPUS = dataclasses.replace(FEATURES, audio_formats=("pcm16", "opus"))


@liveloop.plugin.hookimpl
def register_transports(register):
    register(
        liveloop.plugin.TransportSpec(
            provider="openai", transport="opus", connector=WebSocketConnector(), features=OPUS
        )
    )
'''

REGISTERING_CONFTEST = """
import liveloop.plugin

import {module}


def pytest_configure(config):
    name = liveloop.plugin.register({module})
    config.add_cleanup(lambda: liveloop.plugin.unregister(name))
"""

TARGET_CONFTEST = """
from pathlib import Path

from liveloop.testing import EmulatorTarget, emulated_provider
from liveloop.testing.plugin import kit_script


class MarkedTarget(EmulatorTarget):
    def start(self):
        Path("target-started").write_text("yes")
        super().start()


def pytest_liveloop_conformance_target(config, capability):
    _, emulated = emulated_provider(capability.provider)
    return MarkedTarget(emulated, speed=4.0, script=kit_script())
"""


def _literal(name: str) -> str:
    # A parametrized test id has brackets, which fnmatch reads as a character class.
    return name.replace("[", "[[]")


def _pairs() -> set[str]:
    return {f"{row.provider}/{row.transport}" for row in liveloop.capabilities()}


@pytest.fixture
def broken(project: pytest.Pytester) -> pytest.Pytester:
    """The project registers the transports that break a promise: openai/silent,
    openai/toolless, openai/pcmonly, openai/noclose and openai/falsetrunc."""
    project.makepyfile(broken_transport=BROKEN_PLUGIN)
    project.makeconftest(REGISTERING_CONFTEST.format(module="broken_transport"))
    return project


@pytest.mark.parametrize("pair", sorted(SKIPPED))
def test_the_kit_passes_on_the_built_in_transports(pair: str, run_child: RunChild) -> None:
    if pair not in _pairs():
        pytest.skip(f"{pair} is not installed")
    result = run_child(f"--liveloop-conformance={pair}", "-v", "-rs")
    # Only the tests of flags the pair does not claim are skipped.
    skipped = SKIPPED[pair]
    result.assert_outcomes(passed=KIT_TESTS - len(skipped), skipped=len(skipped))
    result.stdout.fnmatch_lines(
        [f"::{_literal(name)} SKIPPED*" for name in skipped], consecutive=False
    )


def test_the_kit_replaces_the_collected_tests(
    project: pytest.Pytester, run_child: RunChild
) -> None:
    project.makepyfile(test_mine="def test_mine():\n    raise AssertionError('not run')\n")
    result = run_child("--liveloop-conformance=openai/websocket", "-k", "connects")
    result.assert_outcomes(passed=1, deselected=KIT_TESTS - 1)


def test_a_claimed_audio_flag_that_does_not_hold_fails(
    broken: pytest.Pytester, run_child: RunChild
) -> None:
    result = run_child("--liveloop-conformance=openai/silent", "-v", "-k", "not audio_format")
    result.assert_outcomes(passed=KIT_TESTS - 6, failed=2, skipped=1, deselected=3)
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


def test_a_claimed_audio_format_that_does_not_carry_speech_fails(
    broken: pytest.Pytester, run_child: RunChild
) -> None:
    result = run_child("--liveloop-conformance=openai/pcmonly", "-v", "-k", "audio_format")
    result.assert_outcomes(passed=1, failed=2, deselected=KIT_TESTS - 3)
    result.stdout.fnmatch_lines(
        [
            "::test_audio_format_carries_speech_both_ways[[]pcm16[]] PASSED*",
            "::test_audio_format_carries_speech_both_ways[[]g711_ulaw[]] FAILED*",
            "::test_audio_format_carries_speech_both_ways[[]g711_alaw[]] FAILED*",
        ],
        consecutive=False,
    )


def test_a_close_that_leaves_the_provider_session_open_fails(
    broken: pytest.Pytester, run_child: RunChild
) -> None:
    result = run_child("--liveloop-conformance=openai/noclose", "-v", "-k", "close_ends")
    result.assert_outcomes(failed=1, deselected=KIT_TESTS - 1)
    result.stdout.fnmatch_lines(
        ["E * AssertionError: the provider's session was still open 1 s after close() returned"],
        consecutive=False,
    )


def test_a_false_claim_that_the_server_truncates_fails(
    broken: pytest.Pytester, run_child: RunChild
) -> None:
    result = run_child("--liveloop-conformance=openai/falsetrunc", "-v", "-k", "barge_in")
    result.assert_outcomes(failed=1, deselected=KIT_TESTS - 1)
    result.stdout.fnmatch_lines(
        [
            "E * AssertionError: openai/falsetrunc claims the server truncates on barge-in, "
            "but the provider truncated no item*"
        ],
        consecutive=False,
    )


def test_a_claimed_format_the_codec_lacks_is_named_at_registration(
    project: pytest.Pytester, run_child: RunChild
) -> None:
    project.makepyfile(opus_transport=LOSSY_PLUGIN)
    project.makeconftest(REGISTERING_CONFTEST.format(module="opus_transport"))
    result = run_child("--liveloop-conformance=openai/opus")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *openai/opus *claims audio format(s) opus*"])


def test_the_target_comes_from_the_plugins_hook(
    project: pytest.Pytester, run_child: RunChild
) -> None:
    project.makeconftest(TARGET_CONFTEST)
    result = run_child("--liveloop-conformance=openai/websocket", "-k", "connects")
    result.assert_outcomes(passed=1, deselected=KIT_TESTS - 1)
    assert (project.path / "target-started").read_text() == "yes"


@pytest.mark.parametrize("pair", ["openai/nosuch", "nosuch/websocket", "websocket"])
def test_an_unknown_pair_is_a_usage_error(pair: str, run_child: RunChild) -> None:
    result = run_child(f"--liveloop-conformance={pair}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: *{pair}*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
