"""Barge-in on a sideband session: the assistant's audio plays on the user's device (media
"direct"), so no audio item passes through this process; the user talking over the response
the provider generates or plays there still ends its speech interrupted, not cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

import liveloop
from liveloop.events import (
    AssistantTranscriptDelta,
    Interrupted,
    PlaybackStarted,
    PlaybackStopped,
    ResponseDone,
    ResponseStarted,
    UserSpeechStarted,
    UserTurn,
)
from liveloop.session import Session

from .conftest import FakeConnection, PassThroughCodec
from .test_media_features import SIDEBAND


async def settle(rounds: int = 10) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


@pytest.fixture
async def sideband() -> AsyncIterator[tuple[Session, FakeConnection]]:
    connection = FakeConnection()
    session = Session(
        config=liveloop.SessionConfig(
            provider="fake", transport="sideband", call_id="rtc_1", auto_respond=False
        ),
        codec=PassThroughCodec(),
        connection=connection,
        capability=SIDEBAND,
    )
    await session._start()
    try:
        yield session, connection
    finally:
        await session.close()


async def start_say(session: Session, conn: FakeConnection, text: str) -> liveloop.Speech:
    speech = session.say(text)
    await settle()
    [create] = conn.sent_kinds("create_response")
    request: dict[str, Any] = create["metadata"]
    conn.push(ResponseStarted(response_id="r1", metadata=request))
    conn.push(AssistantTranscriptDelta(response_id="r1", item_id="a1", delta="a long"))
    conn.push(PlaybackStarted(response_id="r1"))
    await settle()
    return speech


async def test_talking_over_a_response_being_generated_interrupts_it(
    sideband: tuple[Session, FakeConnection],
) -> None:
    session, conn = sideband
    events: list[Any] = []

    async def watch() -> None:
        async for event in session.events():
            events.append(event)

    watcher = asyncio.create_task(watch())
    await settle()
    speech = await start_say(session, conn, "a long answer")
    conn.push(UserSpeechStarted(item_id="u1", audio_start_ms=100))
    conn.push(ResponseDone(response_id="r1", status="cancelled", reason="turn_detected"))
    conn.push(PlaybackStopped(response_id="r1", cleared=True))
    done = await speech.wait(2)
    assert done.interrupted
    conn.push(UserTurn(turn=liveloop.SessionTurn(text="stop", channel="audio", item_id="u1")))
    turn = await asyncio.wait_for(session.input(), 2)
    assert turn.text == "stop" and turn.interrupted
    await settle()
    watcher.cancel()
    [marker] = [e for e in events if isinstance(e, Interrupted)]
    assert marker.response_id == "r1" and marker.item_id == "a1"


async def test_talking_over_a_response_still_playing_interrupts_it(
    sideband: tuple[Session, FakeConnection],
) -> None:
    session, conn = sideband
    speech = await start_say(session, conn, "a long answer")
    conn.push(ResponseDone(response_id="r1", status="completed"))
    await settle()
    assert not speech.done()  # generated, still playing on the user's device
    conn.push(UserSpeechStarted(item_id="u1", audio_start_ms=100))
    done = await speech.wait(2)
    assert done.interrupted


async def test_speaking_when_nothing_plays_interrupts_nothing(
    sideband: tuple[Session, FakeConnection],
) -> None:
    session, conn = sideband
    speech = await start_say(session, conn, "short")
    conn.push(ResponseDone(response_id="r1", status="completed"))
    conn.push(PlaybackStopped(response_id="r1"))
    done = await speech.wait(2)
    assert done.status == "done"
    conn.push(UserSpeechStarted(item_id="u1", audio_start_ms=100))
    conn.push(UserTurn(turn=liveloop.SessionTurn(text="hello", channel="audio", item_id="u1")))
    turn = await asyncio.wait_for(session.input(), 2)
    assert not turn.interrupted
