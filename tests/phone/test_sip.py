"""Phone calls over OpenAI's SIP: the emulator rings a signed ``realtime.call.incoming``
webhook at ``liveloop serve``'s ``POST /phone/openai``; the handler runs over the sideband."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

import liveloop
from liveloop.events import Dtmf
from liveloop_emulator import Emulator, Rule
from liveloop_emulator.sip import SipCall
from liveloop_openai_webrtc.sip import sip_routes
from liveloop_serve import create_app, serving

KEY = "sk-sip-tests"
SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


@dataclass
class Seen:
    turns: list[str] = field(default_factory=list)
    calls: list[liveloop.PhoneCall | None] = field(default_factory=list)
    digits: list[str] = field(default_factory=list)
    closed: list[float] = field(default_factory=list)
    bookings: list[str] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


def desk(seen: Seen) -> liveloop.App:
    app = liveloop.App(authorize=lambda request: None)

    def book_room(night: str) -> str:
        """Book a room for a night."""
        seen.bookings.append(night)
        return f"booked for {night}"

    @app.session("desk", tools=[book_room])
    async def handler(session: liveloop.Session) -> None:
        seen.calls.append(session.call)

        async def keys() -> None:
            async for event in session.events():
                if isinstance(event, Dtmf):
                    seen.digits.append(event.digit)

        watcher = asyncio.create_task(keys())
        try:
            await session.say("front desk")
            while True:
                turn = await session.input()
                seen.turns.append(turn.text)
                if turn.text == "transfer me":
                    await session.transfer("tel:+15550009999")
                elif turn.text == "goodbye":
                    await session.say("goodbye")
                    return
        except liveloop.SessionClosed:
            seen.closed.append(time.monotonic())
            seen.ended.set()
        finally:
            watcher.cancel()

    return app


@dataclass
class Sip:
    emulator: Emulator
    url: str


@asynccontextmanager
async def sip_server(
    app: liveloop.App,
    monkeypatch: pytest.MonkeyPatch,
    max_sessions: int = 100,
    **emulator: object,
) -> AsyncIterator[Sip]:
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    spec = liveloop.plugin.RouteSpec(name="openai-sip", routes=sip_routes)
    async with Emulator(api_keys=[KEY], speed=4.0, **emulator) as emu:  # type: ignore[arg-type]
        asgi = create_app(
            app,
            routes=[spec],
            api_key=KEY,
            provider_base_url=emu.base_url,
            max_sessions=max_sessions,
        )
        async with serving(asgi) as url:
            yield Sip(emu, f"{url}/phone/openai")


async def ring(sip: Sip, **options: object) -> SipCall:
    return await sip.emulator.sip.place_call(sip.url, secret=SECRET, **options)  # type: ignore[arg-type]


async def test_a_sip_call_runs_the_handler_over_the_sideband(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = Seen()
    rule = Rule(match="book", tool="book_room", arguments={"night": "friday"}, reply="{output}")
    async with sip_server(desk(seen), monkeypatch, script=[rule]) as sip:
        call = await ring(sip, headers=[("X-Tenant", "acme")])
        assert call.webhook_status == 200
        assert call.state == "active"
        await call.wait_heard("front desk")
        await call.speak("hello there")
        await call.wait_heard("you said: hello there")
        await call.speak("book a room")
        await call.wait_heard("booked for friday")
        await call.press("12")
        await call.speak("transfer me")
        await call.wait_state("referred")
        assert call.refer_target == "tel:+15550009999"
    assert seen.turns[:3] == ["hello there", "book a room", "transfer me"]
    assert seen.bookings == ["friday"]
    assert seen.digits == ["1", "2"]
    info = seen.calls[0]
    assert info is not None and info.channel == "sip" and info.call_id == call.id
    assert info.from_ == "+15550001111" and info.to == "+15550002222"
    assert info.header("x-tenant") == "acme"


async def test_caller_hang_up_ends_input_within_2s(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = Seen()
    async with sip_server(desk(seen), monkeypatch) as sip:
        call = await ring(sip)
        await call.wait_heard("front desk")
        hung_up = time.monotonic()
        await call.hang_up()
        await asyncio.wait_for(seen.ended.wait(), 2.0)
        assert seen.closed[0] - hung_up < 2.0


async def test_a_returning_handler_hangs_up(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = Seen()
    async with sip_server(desk(seen), monkeypatch) as sip:
        call = await ring(sip)
        await call.wait_heard("front desk")
        await call.speak("goodbye")
        assert await call.wait_state("ended") == "ended"


async def test_a_call_no_handler_takes_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = Seen()
    app = desk(seen)
    app.route_call = lambda call: None
    async with sip_server(app, monkeypatch) as sip:
        call = await ring(sip)
        assert call.state == "rejected" and call.reject_status == 603
    assert seen.calls == []


async def test_a_call_beyond_the_servers_cap_is_rejected_486(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = Seen()
    async with sip_server(desk(seen), monkeypatch, max_sessions=1) as sip:
        first = await ring(sip)
        assert first.state == "active"
        second = await ring(sip)  # no slot: a reject, never silence on the line
        assert second.webhook_status == 200
        assert second.state == "rejected" and second.reject_status == 486
        assert [s for s in sip.emulator.sessions if s.call_id == second.id] == []
        await first.wait_heard("front desk")
    assert len(seen.calls) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
        {"signature": ""},
        {"timestamp": datetime.now(tz=UTC) - timedelta(minutes=10)},
    ],
    ids=["bad-signature", "missing-signature", "expired-timestamp"],
)
async def test_an_unverified_webhook_is_refused_and_nothing_accepted(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, object]
) -> None:
    seen = Seen()
    async with sip_server(desk(seen), monkeypatch) as sip:
        call = await ring(sip, **change)
        assert call.webhook_status == 400
        assert call.state == "pending"
        assert [s for s in sip.emulator.sessions if s.call_id] == []
    assert seen.calls == []


async def test_a_replayed_delivery_accepts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = Seen()
    async with sip_server(desk(seen), monkeypatch) as sip:
        call = await ring(sip, webhook_id="wh_replayed")
        assert call.state == "active"
        status = await sip.emulator.sip.deliver(
            sip.url,
            secret=SECRET,
            body=sip.emulator.sip.incoming_body(call),
            webhook_id="wh_replayed",
        )
        assert status == 200
        await call.wait_heard("front desk")
        assert len(seen.calls) == 1
        assert len([s for s in sip.emulator.sessions if s.call_id == call.id]) == 1


async def test_an_unknown_event_type_is_acknowledged_and_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = Seen()
    async with sip_server(desk(seen), monkeypatch) as sip:
        call = await ring(sip, event_type="realtime.call.something_new")
        assert call.webhook_status == 200
        assert call.state == "pending"
    assert seen.calls == []


async def test_the_emulator_refuses_unknown_and_decided_calls() -> None:
    import httpx

    async with Emulator(api_keys=[KEY]) as emu, httpx.AsyncClient() as client:
        auth = {"Authorization": f"Bearer {KEY}"}
        base = f"{emu.base_url}/realtime/calls"
        unknown = await client.post(
            f"{base}/rtc_nope/accept", json={"type": "realtime"}, headers=auth
        )
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "call_id_not_found"
        call = SipCall("rtc_test", "+1", "+2", [])
        emu.sip.calls[call.id] = call
        rejected = await client.post(
            f"{base}/{call.id}/reject", json={"status_code": 486}, headers=auth
        )
        assert rejected.status_code == 200 and call.reject_status == 486
        again = await client.post(
            f"{base}/{call.id}/accept", json={"type": "realtime"}, headers=auth
        )
        assert again.status_code == 404  # a decided (rejected) call is over
        noauth = await client.post(f"{base}/{call.id}/accept", json={"type": "realtime"})
        assert noauth.status_code == 401
