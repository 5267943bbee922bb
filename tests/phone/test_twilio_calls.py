"""Phone calls over a Twilio Media Stream, end to end: the simulated caller, the Twilio routes
on real sockets, a provider session on the emulator (µ-law passed through both ways)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import liveloop
from liveloop.testing.phone import TwilioCaller
from liveloop_emulator import Rule

from .conftest import TOKEN, phone_server


@dataclass
class Record:
    turns: list[liveloop.SessionTurn] = field(default_factory=list)
    calls: list[liveloop.PhoneCall | None] = field(default_factory=list)
    closed: list[tuple[float, str]] = field(default_factory=list)
    bookings: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    turn_seen: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


def desk_app(record: Record, **options: object) -> liveloop.App:
    app = liveloop.App()

    def book_room(night: str) -> str:
        """Book a room for a night."""
        record.bookings.append(night)
        return f"booked for {night}"

    @app.session("desk", tools=[book_room], **options)
    async def desk(session: liveloop.Session) -> None:
        record.calls.append(session.call)
        try:
            await session.say("front desk, how can i help")
            while True:
                turn = await session.input()
                record.turns.append(turn)
                record.turn_seen.set()
                if turn.text == "transfer me":
                    try:
                        await session.transfer("tel:+15550009999")
                    except liveloop.LiveloopError as exc:
                        record.errors.append(str(exc))
                        await session.say("i cannot transfer you")
                elif turn.text == "goodbye":
                    await session.say("goodbye")
                    return
        except liveloop.SessionClosed as exc:
            record.closed.append((time.monotonic(), str(exc)))
            record.ended.set()

    return app


async def test_a_spoken_turn_reaches_input_and_say_is_heard() -> None:
    record = Record()
    async with phone_server(desk_app(record)) as server:
        async with TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller:
            await caller.wait_heard("front desk, how can i help")
            await caller.speak("hello there")
            await asyncio.wait_for(record.turn_seen.wait(), 10)
            assert record.turns[0].text == "hello there"
            assert record.turns[0].channel == "audio"
            await caller.wait_heard("hello there", since=0.0)
            await caller.hang_up()
        call = record.calls[0]
        assert call is not None and call.channel == "twilio"
        assert call.from_ == caller.from_ and call.to == caller.to
        assert call.carrier_ids["call_sid"] == caller.call_sid
        assert call.carrier_ids["stream_sid"] == caller.stream_sid
        assert "liveloop_ticket" not in call.parameters
        assert not caller.violations
        assert caller.media_sizes and all(size % 160 == 0 for size in caller.media_sizes)


async def test_a_tool_runs_exactly_once_and_its_result_is_heard() -> None:
    record = Record()
    rule = Rule(match="book", tool="book_room", arguments={"night": "friday"}, reply="{output}")
    async with (
        phone_server(desk_app(record), script=[rule]) as server,
        TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller,
    ):
        await caller.wait_heard("front desk")
        await caller.speak("book a room")
        await caller.wait_heard("booked for friday")
        await caller.hang_up()
    assert record.bookings == ["friday"]


async def test_caller_hang_up_ends_input_within_2s() -> None:
    record = Record()
    async with phone_server(desk_app(record)) as server:
        async with TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller:
            await caller.wait_heard("front desk")
            hung_up = time.monotonic()
            await caller.hang_up()
        await asyncio.wait_for(record.ended.wait(), 2.0)
        assert record.closed[0][0] - hung_up < 2.0
        assert record.closed[0][1] == "the caller hung up"


async def test_an_abrupt_close_ends_input_too() -> None:
    record = Record()
    async with phone_server(desk_app(record)) as server:
        async with TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller:
            await caller.wait_heard("front desk")
            closed = time.monotonic()
            await caller.close()  # no stop message
        await asyncio.wait_for(record.ended.wait(), 2.0)
        assert record.closed[0][0] - closed < 2.0


async def test_transfer_redirects_the_call_through_the_carrier_api() -> None:
    record = Record()
    async with (
        phone_server(desk_app(record)) as server,
        TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller,
    ):
        await caller.wait_heard("front desk")
        await caller.speak("transfer me")
        updates = await server.carrier.wait_for(1)
        await caller.hang_up()
    assert updates[0]["call_sid"] == caller.call_sid
    assert "<Dial>+15550009999</Dial>" in updates[0]["Twiml"]
    assert not record.errors


async def test_transfer_without_credentials_is_a_clear_error() -> None:
    record = Record()
    async with (
        phone_server(desk_app(record), credentials=False) as server,
        TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller,
    ):
        await caller.wait_heard("front desk")
        await caller.speak("transfer me")
        await caller.wait_heard("i cannot transfer you")
        await caller.hang_up()
    assert "TWILIO_ACCOUNT_SID" in record.errors[0]
    assert server.carrier.updates == []


async def test_a_handler_that_returns_hangs_up_through_the_carrier() -> None:
    record = Record()
    async with (
        phone_server(desk_app(record)) as server,
        TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller,
    ):
        await caller.wait_heard("front desk")
        await caller.speak("goodbye")
        updates = await server.carrier.wait_for(1)
        # say() completes once the caller heard it, so the goodbye was heard in full.
        assert "goodbye" in caller.heard_text()
        await caller.hang_up()
    assert updates == [{"call_sid": caller.call_sid, "Status": "completed"}]


async def test_without_credentials_a_returning_handler_closes_the_stream() -> None:
    record = Record()
    async with (
        phone_server(desk_app(record), credentials=False) as server,
        TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller,
    ):
        await caller.wait_heard("front desk")
        await caller.speak("goodbye")
        await asyncio.wait_for(caller.closed.wait(), 10)
        assert "goodbye" in caller.heard_text()


async def test_dtmf_arrives_as_events_and_turns() -> None:
    record = Record()
    app = desk_app(record, dtmf_turns=True)
    async with (
        phone_server(app) as server,
        TwilioCaller(server.webhook("desk"), auth_token=TOKEN) as caller,
    ):
        await caller.wait_heard("front desk")
        await caller.press("42#")
        await asyncio.wait_for(record.turn_seen.wait(), 5)
        await caller.hang_up()
    assert [(t.text, t.channel) for t in record.turns] == [("42", "dtmf")]


async def test_route_call_rejects_with_twiml_that_hangs_up() -> None:
    record = Record()
    app = desk_app(record)
    app.route_call = lambda call: None if call.from_ == "+15550006666" else "desk"
    async with phone_server(app) as server:
        caller = TwilioCaller(server.webhook("desk"), auth_token=TOKEN, from_="+15550006666")
        twiml = await caller.ring()
        assert "<Hangup" in twiml and caller.stream_url is None
        assert await app.route(liveloop.PhoneCall(channel="twilio")) == app.handlers["desk"]
    assert record.calls == []
