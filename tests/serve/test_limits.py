"""The pieces of ``liveloop serve``'s limits: rates, the limiter on ``limits``' storage, the
in-memory store's caps, leases and webhook de-duplication."""

from __future__ import annotations

import pytest
from limits.aio.storage import MemoryStorage

from liveloop_serve import CallRecord, MemoryStore, Rate, RateLimiter


def test_rate_parse() -> None:
    assert Rate.parse("10/minute") == Rate(10, 60.0)
    assert Rate.parse("3/30s") == Rate(3, 30.0)
    assert Rate.parse("100/hours") == Rate(100, 3600.0)
    for bad in ("ten/minute", "0/s", "3/fortnight", "", "1/0s"):
        with pytest.raises(ValueError):
            Rate.parse(bad)


async def test_rate_limiter_counts_per_key_in_a_moving_window() -> None:
    limiter = RateLimiter(Rate(2, 10.0), MemoryStorage(), namespace="test")
    assert await limiter.acquire("a") is None
    assert await limiter.acquire("a") is None
    wait = await limiter.acquire("a")
    assert wait is not None and 0 < wait <= 10.0
    assert not await limiter.allowed("a")
    assert await limiter.allowed("b")  # callers have windows of their own
    assert await limiter.acquire("b") is None


async def test_memory_store_caps_leases_and_deliveries() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    caps = {"max_total": 3, "max_per_caller": 2, "lease": 10.0}
    assert await store.reserve("s1", "alice", **caps) == "ok"
    assert await store.reserve("s2", "alice", **caps) == "ok"
    assert await store.reserve("s3", "alice", **caps) == "caller_full"
    assert await store.reserve("s3", "bob", **caps) == "ok"
    assert await store.reserve("s4", "carol", **caps) == "full"
    record = CallRecord("s1", "echo", "alice", "kind", "rtc_1", "w1")
    await store.put_call(record)
    assert await store.get_call("s1") == record

    now[0] = 8.0
    await store.renew([("s1", "alice")], 10.0)  # only s1's worker lives on
    now[0] = 12.0
    claimed = dict(await store.claim_expired())
    assert set(claimed) == {"s2", "s3"} and claimed["s2"] is None
    assert await store.claim_expired() == []  # each expired slot is claimed once
    assert await store.reserve("s5", "carol", **caps) == "ok"

    await store.release("s1", "alice")
    assert await store.get_call("s1") is None

    assert await store.first_delivery("evt_1", 60) is True
    assert await store.first_delivery("evt_1", 60) is False
    now[0] = 100.0
    assert await store.first_delivery("evt_1", 60) is True
