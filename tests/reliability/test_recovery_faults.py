"""Recovery that survives its own failures, through a WebSocket proxy between liveloop and
the emulator: cuts during the restore, restores never confirmed, a cut while a tool
runs, and what each close code means."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from reliability._proxy import ProxiedLink, Proxy
from reliability._support import KEY, Watch

import liveloop
from liveloop_emulator import Emulator, Rule

pytestmark = pytest.mark.timeout(60)


def through(proxy: Proxy, **extra: Any) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": proxy.base_url, "auto_respond": False, **extra}


def restores(link: ProxiedLink, event: dict[str, Any]) -> bool:
    """The restore of a replacement connection (its session.update)."""
    return link.index >= 1 and event.get("type") == "session.update"


async def closes_within(waiting: asyncio.Task[Any], bound: float) -> liveloop.SessionClosed:
    started = time.monotonic()
    with pytest.raises(liveloop.SessionClosed) as caught:
        await asyncio.wait_for(waiting, bound + 1)
    assert time.monotonic() - started < bound
    assert str(caught.value) and str(caught.value.cause)  # a cause that names what failed
    return caught.value


async def test_a_cut_during_the_restore_is_one_failed_attempt_and_the_policy_goes_on(
    proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    policy = {"attempts": 4, "within": 6.0, "initial_delay": 0.05}
    proxy.cut_when = lambda link, event: link.index in (1, 2) and restores(link, event)
    async with liveloop.connect(**through(proxy, reconnect=policy)) as session:
        watch = await Watch.start(session)
        await session.send_text("remember me")
        assert (await asyncio.wait_for(session.input(), 10)).text == "remember me"
        proxy.cut(proxy.links[0])
        [reconnected] = await watch.wait_for("reconnected")
        assert reconnected.attempts == 3  # two restores cut, the third one held
        await session.send_text("still here")
        assert (await asyncio.wait_for(session.input(), 10)).text == "still here"
        await watch.stop()
    assert len(proxy.links) == 4
    assert "remember me" in str(proxy.links[3].sent)  # the conversation was restored
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_restores_cut_every_time_close_the_session_within_the_window(
    proxy: Proxy,
) -> None:
    policy = {"attempts": 3, "within": 2.0, "initial_delay": 0.05}
    proxy.cut_when = restores
    async with liveloop.connect(**through(proxy, reconnect=policy)) as session:
        waiting = asyncio.create_task(session.input())
        await asyncio.sleep(0.05)
        proxy.cut(proxy.links[0])
        closed = await closes_within(waiting, policy["within"] + 2)
    assert "not restored" in str(closed)
    assert "while restoring" in str(closed.cause)
    assert len(proxy.links) == 4  # the first connection and three attempts


async def test_a_restore_never_confirmed_fails_its_attempt_and_the_next_one_succeeds(
    proxy: Proxy,
) -> None:
    policy = {"attempts": 3, "within": 6.0, "initial_delay": 0.05}
    proxy.hold_when = lambda link, event: link.index == 1 and event["type"] == "session.updated"
    async with liveloop.connect(**through(proxy, reconnect=policy)) as session:
        watch = await Watch.start(session)
        proxy.cut(proxy.links[0])
        [reconnected] = await watch.wait_for("reconnected")
        assert reconnected.attempts == 2
        await session.send_text("after the retry")
        assert (await asyncio.wait_for(session.input(), 10)).text == "after the retry"
        await watch.stop()


async def test_restores_never_confirmed_close_within_the_window_naming_the_cause(
    proxy: Proxy,
) -> None:
    policy = {"attempts": 3, "within": 2.0, "initial_delay": 0.05}
    proxy.hold_when = lambda link, event: link.index >= 1 and event["type"] == "session.updated"
    async with liveloop.connect(**through(proxy, reconnect=policy)) as session:
        waiting = asyncio.create_task(session.input())
        await asyncio.sleep(0.05)
        proxy.cut(proxy.links[0])
        closed = await closes_within(waiting, policy["within"] + 2)
    assert "did not confirm the restored session" in str(closed.cause)


async def test_a_cut_while_a_tool_runs_restores_its_output_and_one_response_speaks_it() -> None:
    started = asyncio.Event()
    calls: list[str] = []

    async def lookup_booking(code: str) -> dict[str, str]:
        """Look a booking up (slowly)."""
        calls.append(code)
        started.set()
        await asyncio.sleep(0.5)
        return {"code": code, "status": "confirmed"}

    script = [Rule(match="booking", tool="lookup_booking", arguments={"code": "B7"})]
    async with Emulator(speed=8.0, script=script) as emu, Proxy(emu.base_url) as proxy:
        options = through(proxy, auto_respond=True)
        async with liveloop.connect(**options, tools=[lookup_booking]) as session:
            watch = await Watch.start(session)
            await session.send_text("check my booking")
            await asyncio.wait_for(started.wait(), 10)
            proxy.cut(proxy.links[0])
            await watch.wait_for("reconnected")
            spoken = await watch.wait_for("assistant.transcript_done")
            await asyncio.sleep(0.3)  # room for a second response, which must not come
            await watch.stop()
    assert calls == ["B7"]
    [line] = [e.transcript for e in spoken]  # the user hears the result, once
    assert "lookup_booking" in line and "confirmed" in line
    new = proxy.links[1].sent_types()
    assert new.count("response.create") == 1
    assert new.index("response.create") > max(i for i, t in enumerate(new) if "item" in t)


RECONNECTED = [
    (None, "cut without a close frame (1006)"),
    (1001, "going away"),
    (1011, "internal error"),
    (1012, "service restart"),
    (1013, "try again later"),
    (1001, "Your session hit the maximum duration of 60 minutes."),
]


@pytest.mark.parametrize(("code", "reason"), RECONNECTED)
async def test_close_codes_that_reconnect(proxy: Proxy, code: int | None, reason: str) -> None:
    async with liveloop.connect(**through(proxy)) as session:
        watch = await Watch.start(session)
        await session.send_text("before")
        await asyncio.wait_for(session.input(), 10)
        if code is None:
            proxy.cut()
        else:
            await proxy.close(code, reason)
        await watch.wait_for("reconnected")
        await session.send_text("after")
        assert (await asyncio.wait_for(session.input(), 10)).text == "after"
        await watch.stop()
    assert len(proxy.links) == 2


@pytest.mark.parametrize(
    ("code", "reason"), [(1008, "policy violation"), (1003, "unsupported data")]
)
async def test_close_codes_that_end_the_session(proxy: Proxy, code: int, reason: str) -> None:
    async with liveloop.connect(**through(proxy)) as session:
        waiting = asyncio.create_task(session.input())
        await asyncio.sleep(0.05)
        await proxy.close(code, reason)
        closed = await closes_within(waiting, 2.0)
    assert f"code {code}: {reason}" in str(closed)
    assert isinstance(closed.cause, liveloop.ConnectionLost)
    assert len(proxy.links) == 1  # never reconnected


async def test_a_refused_key_on_reconnect_ends_the_session_after_one_attempt(
    proxy: Proxy,
) -> None:
    refusal = {"error": {"code": "invalid_api_key", "message": "Incorrect API key provided"}}
    async with liveloop.connect(**through(proxy)) as session:
        waiting = asyncio.create_task(session.input())
        await asyncio.sleep(0.05)
        proxy.refuse(401, refusal, times=3)
        proxy.cut()
        closed = await closes_within(waiting, 2.0)
    assert proxy.refused == 1
    assert isinstance(closed.cause, liveloop.ProviderError)
    assert closed.cause.code == "invalid_api_key"
