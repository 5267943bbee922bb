"""A Twilio call bridged to a Gemini Live session (gemini/websocket on the emulator's Gemini
front end): Gemini takes no µ-law, so the bridge transcodes both ways (µ-law 8 kHz to the
session's PCM and back), and the call behaves as over OpenAI."""

from __future__ import annotations

import asyncio
import time

from liveloop.testing.phone import TwilioCaller
from liveloop_emulator import Rule

from .conftest import TOKEN, phone_server
from .test_twilio_calls import Record, desk_app


async def test_a_call_bridged_to_gemini_takes_turns_tools_and_hang_up() -> None:
    record = Record()
    rule = Rule(match="book", tool="book_room", arguments={"night": "friday"}, reply="{output}")
    async with phone_server(desk_app(record), provider="gemini", script=[rule]) as server:
        async with TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller:
            await caller.wait_heard("front desk, how can i help")  # say(), transcoded to µ-law
            await caller.speak("hello there")
            await asyncio.wait_for(record.turn_seen.wait(), 30)
            await caller.speak("book a room")
            await caller.wait_heard("booked for friday", timeout=30)
            await caller.hang_up()
            hung_up = time.monotonic()
            await asyncio.wait_for(record.ended.wait(), 5)
        assert len(server.emulator.gemini.sessions) == 1 and not server.emulator.sessions
    assert [turn.text for turn in record.turns] == ["hello there", "book a room"]
    assert record.bookings == ["friday"]
    closed_at, _ = record.closed[0]
    assert closed_at - hung_up < 2.0
    call = record.calls[0]
    assert call is not None and call.channel == "twilio"
    assert call.carrier_ids["call_sid"] == caller.call_sid
    assert not caller.violations
    assert caller.media_sizes and all(size % 160 == 0 for size in caller.media_sizes)
