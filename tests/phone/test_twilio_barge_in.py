"""Barge-in over a Twilio Media Stream: the provider's item is truncated to what the caller
heard (on the simulated caller's own clock), Twilio's buffer is cleared even when the
provider had finished generating, and the echoes of cleared marks count for nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

import liveloop
from liveloop.testing.phone import TwilioCaller
from liveloop_emulator import tones

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


def heard_ms_before(caller: TwilioCaller, moment: float) -> float:
    return sum(len(h.audio) for h in caller.heard if h.at <= moment) / 8


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
        await caller.speak("stop", wait=False)
        await asyncio.wait_for(seen.done.wait(), 10)
        await caller.wait_heard("you said: stop", since=caller.clears[0])
        session = next(s for s in server.emulator.sessions if s.call_id is None)
        truncates = [
            e for e in session.client_events if e.get("type") == "conversation.item.truncate"
        ]
        heard = heard_ms_before(caller, caller.clears[0])
        pending_echoes = len(caller.echoed)
        await caller.hang_up()

    assert len(truncates) == 1
    assert abs(truncates[0]["audio_end_ms"] - heard) <= 40, (truncates[0], heard)
    full_ms = tones.duration_ms(LONG, 8000)
    assert wait_ms <= heard < full_ms - 500
    # After the clear, nothing more of the announcement: only the reply to "stop".
    assert caller.heard_text(since=caller.clears[0]) == tones.sanitize("you said: stop")
    # The clear returned marks (echoed at once); none of them counted as heard.
    speech = seen.speeches[0]
    assert pending_echoes > 0
    assert speech.interrupted
    assert speech.played_ms == truncates[0]["audio_end_ms"]
    reply_ms = tones.duration_ms("you said: stop", 8000)
    assert abs(seen.metrics[0].audio_played_ms - heard - reply_ms) <= 60
    assert seen.turns == ["stop"]
    assert not caller.violations


async def test_dtmf_while_the_assistant_talks_cuts_it_off() -> None:
    seen = Seen()
    async with (
        phone_server(announcer(seen), speed=4.0) as server,
        TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller,
    ):
        await caller.wait_played(2500)  # generation finished long ago at 4x speed
        before = len(caller.received)
        await caller.press("1")
        await caller.wait_for("clear", after=before)
        heard = heard_ms_before(caller, caller.clears[0])
        session = next(s for s in server.emulator.sessions if s.call_id is None)
        await caller.hang_up()
    truncates = [e for e in session.client_events if e.get("type") == "conversation.item.truncate"]
    assert len(truncates) == 1 and abs(truncates[0]["audio_end_ms"] - heard) <= 40
    # Generation had finished: interrupt() cancelled no response (none was active).
    assert not [e for e in session.client_events if e.get("type") == "response.cancel"]
