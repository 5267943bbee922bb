"""The handler API for phone calls: session.call, transfer/hang_up, DTMF events and turns,
and App.route."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import liveloop
from liveloop.events import Dtmf

CALL = liveloop.PhoneCall(
    channel="twilio",
    from_="+15550001111",
    to="+15550002222",
    carrier_ids={"call_sid": "CA1"},
    parameters={"tenant": "acme"},
)


class Control:
    def __init__(self) -> None:
        self.transfers: list[str] = []
        self.hung_up = 0

    async def transfer(self, target: str) -> None:
        self.transfers.append(target)

    async def hang_up(self) -> None:
        self.hung_up += 1


async def test_outside_a_call_there_is_no_call(make_runtime: Callable[..., Any]) -> None:
    session, _ = await make_runtime()
    assert session.call is None
    with pytest.raises(liveloop.LiveloopError, match="transfer\\(\\) needs a phone call"):
        await session.transfer("tel:+15550003333")
    with pytest.raises(liveloop.LiveloopError, match="hang_up\\(\\) needs a phone call"):
        await session.hang_up()


async def test_transfer_and_hang_up_act_on_the_call(make_runtime: Callable[..., Any]) -> None:
    session, _ = await make_runtime()
    control = Control()
    session.attach_call(CALL, control)
    assert session.call is CALL and session.call.from_ == "+15550001111"
    await session.transfer("tel:+15550003333")
    await session.hang_up()
    assert control.transfers == ["tel:+15550003333"] and control.hung_up == 1


async def test_dtmf_digits_are_events_not_turns_by_default(
    make_runtime: Callable[..., Any],
) -> None:
    session, _ = await make_runtime()
    events = session.events()
    first = asyncio.ensure_future(anext(events))
    for _ in range(5):  # let the iterator subscribe
        await asyncio.sleep(0)
    session.inject(Dtmf(digit="5"))
    event = await asyncio.wait_for(first, 2)
    assert isinstance(event, Dtmf) and event.digit == "5"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(session.input(), 0.3)


async def test_dtmf_turns_end_at_hash_or_a_pause(make_runtime: Callable[..., Any]) -> None:
    session, _ = await make_runtime(dtmf_turns=True, dtmf_pause_ms=200)
    for digit in "12#":
        session.inject(Dtmf(digit=digit))
    turn = await asyncio.wait_for(session.input(), 2)
    assert (turn.text, turn.channel) == ("12", "dtmf")
    session.inject(Dtmf(digit="9"))
    session.inject(Dtmf(digit="*"))
    loop = asyncio.get_running_loop()
    pressed = loop.time()
    turn = await asyncio.wait_for(session.input(), 2)
    assert (turn.text, turn.channel) == ("9*", "dtmf")
    assert loop.time() - pressed >= 0.19  # ended by the pause, not at once


def test_a_bad_digit_is_refused() -> None:
    with pytest.raises(ValueError):
        Dtmf(digit="x")


async def test_route_defaults_to_the_path_or_the_only_handler() -> None:
    app = liveloop.App()

    @app.session("desk")
    async def desk(session: liveloop.Session) -> None: ...

    assert (await app.route(CALL)).name == "desk"  # type: ignore[union-attr]
    assert (await app.route(CALL, "desk")).name == "desk"  # type: ignore[union-attr]
    assert await app.route(CALL, "nope") is None

    @app.session("rooms")
    async def rooms(session: liveloop.Session) -> None: ...

    assert await app.route(CALL) is None  # two handlers, none named: rejected


async def test_route_call_decides_sync_or_async() -> None:
    async def by_tenant(call: liveloop.PhoneCall) -> str | None:
        return "rooms" if call.parameters.get("tenant") == "acme" else None

    app = liveloop.App(route_call=by_tenant)
    for name in ("desk", "rooms"):
        app.session(name)(_noop)
    assert (await app.route(CALL, "desk")).name == "rooms"  # type: ignore[union-attr]
    assert await app.route(CALL.model_copy(update={"parameters": {}})) is None
    app.route_call = lambda call: "missing"
    assert await app.route(CALL) is None  # an unknown name rejects


async def _noop(session: liveloop.Session) -> None:
    return None
