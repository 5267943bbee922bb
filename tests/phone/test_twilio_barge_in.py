"""Barge-in over a Twilio Media Stream: the provider's item is truncated to what the caller
heard (on the simulated caller's own clock), Twilio's buffer is cleared even when the
provider had finished generating, and the echoes of cleared marks count for nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import liveloop
from liveloop.testing.phone import TwilioCaller
from liveloop_emulator import EmulatorSession, tones

from .conftest import TOKEN, phone_server

LONG = (
    "thank you for calling the grand hotel. our front desk is open day and night, "
    "and our restaurant serves dinner from six."
)


@dataclass
class Seen:
    speeches: list[liveloop.Speech] = field(default_factory=list)
    turns: list[str] = field(default_factory=list)
    metrics: list[liveloop.SessionMetrics] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


def announcer(seen: Seen) -> liveloop.App:
    app = liveloop.App()

    @app.session("desk")
    async def desk(session: liveloop.Session) -> None:
        seen.metrics.append(session.metrics)
        speech = await session.say(LONG)
        seen.speeches.append(speech)
        seen.turns.append((await session.input()).text)
        seen.done.set()
        await session.input()

    return app


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def truncates_of(session: EmulatorSession) -> list[dict[str, Any]]:
    return [e for e in session.client_events if e.get("type") == "conversation.item.truncate"]


def heard_ms_before(caller: TwilioCaller, moment: float) -> float:
    return sum(len(h.audio) for h in caller.heard if h.at <= moment) / 8


def rounds_past(caller: TwilioCaller, from_ms: float, moment: float) -> int:
    """How many rounds of the caller's playout played past ``from_ms`` (of all it heard)
    before ``moment``."""
    rounds: set[float] = set()
    played = 0.0
    for heard in caller.heard:
        if heard.at > moment:
            break
        played += len(heard.audio) / 8
        if played > from_ms:
            rounds.add(heard.at)
    return len(rounds)


def check_truncation(caller: TwilioCaller, truncate: dict[str, Any]) -> float:
    """The truncate is what the caller had heard when the bridge learnt it (never more),
    and the clear came soon after; returns what the caller heard until the clear."""
    heard = heard_ms_before(caller, caller.clears[0])
    truncated = truncate["audio_end_ms"]
    assert truncated <= heard, (truncate, heard)
    # Meanwhile the caller played on (the marks' echoes and the clear were on their way),
    # 5 ms a round: two frames is 8 rounds. Counted in rounds, not ms: where the process
    # stalls (a loaded machine), a late round plays all the stall held back.
    assert rounds_past(caller, truncated, caller.clears[0]) <= 8, (truncate, heard)
    return heard


@pytest.mark.parametrize(
    ("speed", "wait_ms"),
    [(4.0, 2500), (1.0, 1500)],
    ids=["after-generation-finished", "while-generating"],
)
async def test_truncation_is_what_the_caller_heard(speed: float, wait_ms: int) -> None:
    seen = Seen()
    async with (
        phone_server(announcer(seen), speed=speed) as server,
        TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller,
    ):
        await caller.wait_played(wait_ms)
        if speed > 1:  # the announcement was generated in full (4x) before the caller talks
            await until(lambda: seen.metrics[0].responses == 1)
        await caller.speak("stop", wait=False)
        await asyncio.wait_for(seen.done.wait(), 10)
        await caller.wait_for("clear", after=0)
        await caller.wait_heard("you said: stop", since=caller.clears[0])
        session = next(s for s in server.emulator.sessions if s.call_id is None)
        truncates = truncates_of(session)
        assert len(truncates) == 1
        truncated = truncates[0]["audio_end_ms"]
        heard = check_truncation(caller, truncates[0])
        pending_echoes = len(caller.echoed)
        # The reply's last marks are echoed as it ends: then all of it counts as heard.
        reply_ms = tones.duration_ms("you said: stop", 8000)
        await until(lambda: seen.metrics[0].audio_played_ms >= truncated + reply_ms - 20)
        await caller.hang_up()

    full_ms = tones.duration_ms(LONG, 8000)
    assert wait_ms <= heard < full_ms - 500
    # After the clear, nothing more of the announcement: only the reply to "stop".
    assert caller.heard_text(since=caller.clears[0]) == tones.sanitize("you said: stop")
    # The clear returned marks (echoed at once); none of them counted as heard.
    speech = seen.speeches[0]
    assert pending_echoes > 0
    assert speech.interrupted
    assert speech.played_ms == truncated
    # Heard: the announcement up to its truncation, then the whole reply.
    assert abs(seen.metrics[0].audio_played_ms - truncated - reply_ms) <= 20
    assert seen.turns == ["stop"]
    assert not caller.violations


async def test_dtmf_while_the_assistant_talks_cuts_it_off() -> None:
    seen = Seen()
    async with (
        phone_server(announcer(seen), speed=4.0) as server,
        TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller,
    ):
        await caller.wait_played(2500)
        await until(lambda: seen.metrics[0].responses == 1)  # generated in full (4x speed)
        before = len(caller.received)
        await caller.press("1")
        await caller.wait_for("clear", after=before)
        session = next(s for s in server.emulator.sessions if s.call_id is None)
        # The truncate went to the provider as the clear went to the caller.
        await until(lambda: bool(truncates_of(session)))
        await caller.hang_up()
    truncates = truncates_of(session)
    assert len(truncates) == 1
    check_truncation(caller, truncates[0])
    # Generation had finished: interrupt() cancelled no response (none was active).
    assert not [e for e in session.client_events if e.get("type") == "response.cancel"]
