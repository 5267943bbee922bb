"""The store of many workers and hosts: Redis (or Valkey), through the ``redis`` asyncio client.

What it keeps (every key under ``prefix``, default ``liveloop``):

- ``{p}:slots``: a sorted set of the deployment's slots, scored by the end of their lease
  (milliseconds, by the Redis server's clock, so hosts need no synchronized clocks);
  ``{p}:owner:{identity}`` the same per caller, and ``{p}:slot-owner`` who holds each slot;
- ``{p}:call:{id}``: each live call (its owner, handler, provider call id and worker);
- ``{p}:delivery:{id}``: webhook deliveries seen (expiring);
- ``{p}:ticket:{ticket}``: single-use tickets (expiring; taken with ``GETDEL``, Redis 6.2+);
- channel ``{p}:worker:{worker}``: control messages to one worker (pub/sub);
- the rate-limit windows (the ``limits`` library's Redis storage, prefix ``LIMITS``).

Reserving a slot, renewing leases and claiming the slots of dead workers are Lua scripts, so
each is atomic across workers. A standalone Redis or Valkey (or a primary with replicas);
Redis Cluster is not supported (the scripts touch keys they derive from each other).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from limits.aio.storage import RedisStorage

from .store import CallRecord, Reservation, Store

__all__ = ["RedisStore", "safe_url"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_RESERVE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf') >= tonumber(ARGV[3]) then
  return 'full'
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  return 'caller_full'
end
local lease = tonumber(ARGV[5])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[2], lease * 2)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return 'ok'
"""
)

_RENEW = (
    _NOW
    + """
local lease = tonumber(ARGV[1])
for i = 2, #KEYS do
  local slot = ARGV[i]
  redis.call('ZADD', KEYS[1], 'XX', now + lease, slot)
  redis.call('ZADD', KEYS[i], 'XX', now + lease, slot)
  redis.call('PEXPIRE', KEYS[i], lease * 2)
end
return #KEYS - 1
"""
)

_CLAIM = (
    _NOW
    + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)
local out = {}
for _, slot in ipairs(expired) do
  redis.call('ZREM', KEYS[1], slot)
  local owner = redis.call('HGET', KEYS[2], slot)
  redis.call('HDEL', KEYS[2], slot)
  if owner then
    redis.call('ZREM', ARGV[1] .. ':owner:' .. owner, slot)
  end
  local call = redis.call('GET', ARGV[1] .. ':call:' .. slot)
  redis.call('DEL', ARGV[1] .. ':call:' .. slot)
  table.insert(out, slot)
  table.insert(out, call or '')
end
return out
"""
)


def safe_url(url: str) -> str:
    """``url`` without its password, for logs and errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RedisStore(Store):
    """Shared state in Redis at ``url`` (``redis://HOST:PORT/DB``, ``rediss://`` for TLS)."""

    def __init__(self, url: str, *, prefix: str = "liveloop", timeout: float = 2.0) -> None:
        self.url = url
        self.prefix = prefix
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
        )
        self.rate_storage = RedisStorage(
            f"async+{url}",
            implementation="redispy",
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
        self._reserve = self._redis.register_script(_RESERVE)
        self._renew = self._redis.register_script(_RENEW)
        self._claim = self._redis.register_script(_CLAIM)

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def reserve(
        self, slot: str, owner: str, *, max_total: int, max_per_caller: int, lease: float
    ) -> Reservation:
        keys = [self._key("slots"), self._key("owner", owner), self._key("slot-owner")]
        args: list[str | int] = [slot, owner, max_total, max_per_caller, int(lease * 1000)]
        return cast(Reservation, await self._reserve(keys=keys, args=args))

    async def renew(self, slots: Iterable[tuple[str, str]], lease: float) -> None:
        pairs = list(slots)
        if pairs:
            keys = [self._key("slots")] + [self._key("owner", owner) for _, owner in pairs]
            args = [int(lease * 1000)] + [slot for slot, _ in pairs]
            await self._renew(keys=keys, args=args)

    async def release(self, slot: str, owner: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._key("slots"), slot)
            pipe.zrem(self._key("owner", owner), slot)
            pipe.hdel(self._key("slot-owner"), slot)
            pipe.delete(self._key("call", slot))
            await pipe.execute()

    async def put_call(self, record: CallRecord) -> None:
        await self._redis.set(self._key("call", record.id), record.dumps())

    async def get_call(self, call_id: str) -> CallRecord | None:
        text = await self._redis.get(self._key("call", call_id))
        return CallRecord.loads(text) if text else None

    async def claim_expired(self) -> list[tuple[str, CallRecord | None]]:
        keys = [self._key("slots"), self._key("slot-owner")]
        flat = await self._claim(keys=keys, args=[self.prefix])
        pairs = zip(flat[::2], flat[1::2], strict=True)
        return [(slot, CallRecord.loads(text) if text else None) for slot, text in pairs]

    async def first_delivery(self, delivery_id: str, ttl: float) -> bool:
        key = self._key("delivery", delivery_id)
        return bool(await self._redis.set(key, "1", nx=True, px=max(1, int(ttl * 1000))))

    async def put_ticket(self, ticket: str, data: str, ttl: float) -> None:
        await self._redis.set(self._key("ticket", ticket), data, px=max(1, int(ttl * 1000)))

    async def take_ticket(self, ticket: str) -> str | None:
        return cast("str | None", await self._redis.getdel(self._key("ticket", ticket)))

    async def send(self, worker: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self._key("worker", worker), json.dumps(message))

    async def messages(self, worker: str) -> AsyncIterator[dict[str, Any]]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._key("worker", worker))
        try:
            while True:
                # Wakes every second (None when nothing came), so a dead connection shows.
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    yield json.loads(message["data"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
