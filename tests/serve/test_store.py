"""Many workers on one Redis: a real ``redis-server`` per test (a free port, stopped after),
and real ``liveloop serve`` processes sharing it, with the bundled emulator as the provider.
No mock of Redis anywhere here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from liveloop_emulator import Emulator
from liveloop_serve import CallRecord, RedisStore

from .conftest import KEY, real_offer
from .procs import HAS_REDIS, ServeProcess, app_module, redis_server, serve_processes

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not HAS_REDIS, reason="redis-server is not installed"),
]

APP = """
import liveloop

TOKENS = {"alice-token": "alice", "bob-token": "bob", "carol-token": "carol"}


def authorize(request):
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return TOKENS.get(token) if scheme == "Bearer" else None


app = liveloop.App(authorize=authorize, auto_respond=False)


@app.session("echo")
async def echo(session):
    async for turn in session.turns():
        pass
"""


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


def as_(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {who}-token"}


async def offer(client: httpx.AsyncClient, server: ServeProcess, who: str) -> httpx.Response:
    return await client.post(
        f"{server.url}/sessions/echo/offer",
        content=await real_offer(),
        headers={"Content-Type": "application/sdp", **as_(who)},
    )


async def test_redis_store_caps_leases_deliveries_and_messages(redis_url: str) -> None:
    store = RedisStore(redis_url, prefix="test")
    other = RedisStore(redis_url, prefix="test")  # a second worker on the same Redis
    try:
        assert await store.ping()
        caps = {"max_total": 3, "max_per_caller": 2, "lease": 30.0}
        assert await store.reserve("s1", "alice", **caps) == "ok"
        assert await other.reserve("s2", "alice", **caps) == "ok"
        assert await store.reserve("s3", "alice", **caps) == "caller_full"
        assert await other.reserve("s3", "bob", **caps) == "ok"
        assert await store.reserve("s4", "carol", **caps) == "full"
        record = CallRecord("s1", "echo", "alice", "kind", "rtc_1", "w1")
        await store.put_call(record)
        assert await other.get_call("s1") == record

        await store.release("s2", "alice")  # a slot given back counts no more
        assert await other.reserve("s4", "carol", lease=0.2, max_total=3, max_per_caller=2) == "ok"
        claimed: list[tuple[str, CallRecord | None]] = []
        for _ in range(50):  # the 0.2 s lease runs out; exactly one claimer gets the slot
            claimed += await store.claim_expired() + await other.claim_expired()
            if claimed:
                break
            await asyncio.sleep(0.05)
        assert claimed == [("s4", None)]
        await store.renew([("s1", "alice"), ("s3", "bob")], 30.0)
        assert await store.claim_expired() == []

        assert await store.first_delivery("evt_1", 60) is True
        assert await other.first_delivery("evt_1", 60) is False

        inbox = other.messages("w2")
        first = asyncio.ensure_future(anext(inbox))
        for _ in range(100):  # published only once the subscription is up
            await store.send("w2", {"op": "hello"})
            done, _ = await asyncio.wait({first}, timeout=0.05)
            if done:
                break
        assert first.result() == {"op": "hello"}
        await inbox.aclose()
    finally:
        await store.aclose()
        await other.aclose()


async def test_two_workers_share_calls_rate_limits_and_caps(redis_url: str, tmp_path: Path) -> None:
    target = app_module(tmp_path, APP)
    async with Emulator() as emu:
        options = ("--store", redis_url, "--base-url", emu.base_url, "--max-sessions", "3")
        options += ("--max-per-caller", "2", "--rate", "4/minute")
        env = {"OPENAI_API_KEY": KEY}
        async with (
            serve_processes(target, *options, cwd=tmp_path, env=env, count=2) as (a, b),
            httpx.AsyncClient(timeout=20) as client,
        ):
            # A call started through one worker is hung up through the other.
            first = await offer(client, a, "alice")
            assert first.status_code == 201, first.text
            [call] = emu.calls.values()
            hangup = f"{b.url}{first.headers['location']}/hangup"
            assert (await client.post(hangup, headers=as_("bob"))).status_code == 404
            assert not call.session.closed
            assert (await client.post(hangup, headers=as_("alice"))).status_code == 204
            await asyncio.wait_for(call.closed.wait(), 5)

            # The caller's cap (2) and rate (4 starts a minute) hold across both workers.
            assert (await offer(client, a, "alice")).status_code == 201
            assert (await offer(client, b, "alice")).status_code == 201
            capped = await offer(client, a, "alice")
            assert capped.status_code == 429 and capped.json()["error"]["code"] == "too_many_calls"
            limited = await offer(client, b, "alice")
            assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"

            # The global cap (3) too: the hung-up call's slot was freed, a fourth is refused.
            assert (await offer(client, b, "bob")).status_code == 201
            full = await offer(client, a, "carol")
            assert full.status_code == 503 and int(full.headers["retry-after"]) > 0
            assert len(emu.calls) == 4  # no provider call for any refused offer


async def test_a_dead_workers_calls_are_hung_up_by_another_within_the_bound(
    redis_url: str, tmp_path: Path
) -> None:
    lease = 2.0
    bound = lease + 5.0  # the documented bound: the lease, one reaper round, one hang-up
    target = app_module(tmp_path, APP)
    async with Emulator() as emu:
        options = ("--store", redis_url, "--base-url", emu.base_url, "--max-sessions", "1")
        options += ("--lease", str(lease))
        env = {"OPENAI_API_KEY": KEY}
        async with (
            serve_processes(target, *options, cwd=tmp_path, env=env, count=2) as (a, b),
            httpx.AsyncClient(timeout=20) as client,
        ):
            assert (await offer(client, a, "alice")).status_code == 201
            [call] = emu.calls.values()
            assert (await offer(client, b, "bob")).status_code == 503  # the one slot is taken

            a.proc.kill()  # SIGKILL: no shutdown, no hang-up from the dying worker
            killed = time.monotonic()
            await asyncio.wait_for(call.closed.wait(), bound + 1)
            assert time.monotonic() - killed <= bound
            assert "hanging up a call whose worker is gone" in b.output()
            assert (await offer(client, b, "bob")).status_code == 201  # the slot is free
