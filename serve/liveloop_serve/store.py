"""What ``liveloop serve`` keeps about calls, and where: the :class:`Store` interface and the
in-memory store (one process). ``redis_store`` holds the same in Redis for many workers.

The store answers: may a caller open one more call (the global cap and the per-caller cap,
counted over slots that hold a lease), which call belongs to whom and runs on which worker,
which calls lost their worker (their lease ran out), whether a webhook delivery was seen
before, and the single-use tickets a route hands out on one worker and redeems on another
(a phone call's webhook and its media stream may reach different workers). It also
carries control messages to a worker (a hang-up routed to the worker that runs the call's
handler). Rate-limit windows live in ``rate_storage``, the ``limits``
storage on the same backend.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from limits.aio.storage import MemoryStorage, Storage

__all__ = ["CallRecord", "MemoryStore", "Reservation", "Store", "open_store"]

Reservation = Literal["ok", "full", "caller_full"]
"""The answer to :meth:`Store.reserve`: a slot, the server is full, the caller is at its cap."""


@dataclass(frozen=True)
class CallRecord:
    """A live call as every worker sees it."""

    id: str
    """Opaque id this server made (the ``{id}`` in ``/sessions/{name}/calls/{id}``)."""
    name: str
    """The handler's name."""
    owner: str
    """The identity of the caller that opened it."""
    kind: str
    """Who hangs it up at the provider (a name a route plugin registered a hang-up under)."""
    provider_call_id: str
    worker: str
    """The worker that runs its handler."""

    def dumps(self) -> str:
        """As JSON."""
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str | bytes) -> CallRecord:
        """From :meth:`dumps`'s JSON."""
        return cls(**json.loads(text))


class Store(ABC):
    """Shared state of the workers of one ``liveloop serve`` deployment."""

    rate_storage: Storage
    """Where the rate limiters keep their windows."""

    async def start(self) -> None:  # noqa: B027 - optional for stores without connections
        """Connect (called once, when the server starts)."""

    async def aclose(self) -> None:  # noqa: B027
        """Disconnect (called once, when the server stops)."""

    @abstractmethod
    async def ping(self) -> bool:
        """Whether the store answers (``/readyz``)."""

    @abstractmethod
    async def reserve(
        self, slot: str, owner: str, *, max_total: int, max_per_caller: int, lease: float
    ) -> Reservation:
        """Take a slot for ``owner`` if fewer than ``max_total`` slots and fewer than
        ``max_per_caller`` of ``owner``'s slots hold a lease; it holds one for ``lease`` s."""

    @abstractmethod
    async def renew(self, slots: Iterable[tuple[str, str]], lease: float) -> None:
        """Extend the lease of ``(slot, owner)`` pairs this worker still runs."""

    @abstractmethod
    async def release(self, slot: str, owner: str) -> None:
        """Give a slot back and forget its call."""

    @abstractmethod
    async def put_call(self, record: CallRecord) -> None:
        """Record a live call (its slot was reserved under ``record.id``)."""

    @abstractmethod
    async def get_call(self, call_id: str) -> CallRecord | None:
        """The live call ``call_id``, or ``None``."""

    @abstractmethod
    async def claim_expired(self) -> list[tuple[str, CallRecord | None]]:
        """Slots whose lease ran out (their worker is gone), each claimed by exactly one
        caller of this method and removed; with its call when it had one."""

    @abstractmethod
    async def first_delivery(self, delivery_id: str, ttl: float) -> bool:
        """``True`` the first time ``delivery_id`` is seen within ``ttl`` seconds, then
        ``False``: webhook providers retry deliveries, a handler must run once."""

    @abstractmethod
    async def put_ticket(self, ticket: str, data: str, ttl: float) -> None:
        """Keep ``data`` under ``ticket`` for ``ttl`` seconds, for :meth:`take_ticket`."""

    @abstractmethod
    async def take_ticket(self, ticket: str) -> str | None:
        """The data of a live ``ticket``, removed as it is read: of two workers taking the
        same ticket, one gets it. ``None`` when it expired, was taken, or never existed."""

    @abstractmethod
    async def send(self, worker: str, message: dict[str, Any]) -> None:
        """Deliver a control message to ``worker`` (dropped when no such worker listens)."""

    @abstractmethod
    def messages(self, worker: str) -> AsyncIterator[dict[str, Any]]:
        """The control messages sent to ``worker``, as they arrive."""


class MemoryStore(Store):
    """The store of a single process (the default): plain dicts, nothing shared."""

    def __init__(self, *, clock: Any = time.monotonic) -> None:
        self.rate_storage = MemoryStorage()
        self._clock = clock
        self._slots: dict[str, tuple[str, float]] = {}  # slot -> (owner, lease end)
        self._calls: dict[str, CallRecord] = {}
        self._deliveries: dict[str, float] = {}
        self._tickets: dict[str, tuple[str, float]] = {}  # ticket -> (data, expiry)
        self._inboxes: dict[str, asyncio.Queue[dict[str, Any]]] = {}

    async def aclose(self) -> None:
        await self.rate_storage.reset()

    async def ping(self) -> bool:
        return True

    def _live(self) -> dict[str, tuple[str, float]]:
        now = self._clock()
        return {slot: held for slot, held in self._slots.items() if held[1] > now}

    async def reserve(
        self, slot: str, owner: str, *, max_total: int, max_per_caller: int, lease: float
    ) -> Reservation:
        live = self._live()
        if len(live) >= max_total:
            return "full"
        if sum(1 for held_by, _ in live.values() if held_by == owner) >= max_per_caller:
            return "caller_full"
        self._slots[slot] = (owner, self._clock() + lease)
        return "ok"

    async def renew(self, slots: Iterable[tuple[str, str]], lease: float) -> None:
        until = self._clock() + lease
        for slot, owner in slots:
            if slot in self._slots:
                self._slots[slot] = (owner, until)

    async def release(self, slot: str, owner: str) -> None:
        self._slots.pop(slot, None)
        self._calls.pop(slot, None)

    async def put_call(self, record: CallRecord) -> None:
        self._calls[record.id] = record

    async def get_call(self, call_id: str) -> CallRecord | None:
        return self._calls.get(call_id)

    async def claim_expired(self) -> list[tuple[str, CallRecord | None]]:
        now = self._clock()
        expired = [slot for slot, (_, until) in self._slots.items() if until <= now]
        claimed = []
        for slot in expired:
            del self._slots[slot]
            claimed.append((slot, self._calls.pop(slot, None)))
        return claimed

    async def first_delivery(self, delivery_id: str, ttl: float) -> bool:
        now = self._clock()
        if len(self._deliveries) > 10_000:  # bounded: forget the expired ones
            self._deliveries = {k: v for k, v in self._deliveries.items() if v > now}
        if self._deliveries.get(delivery_id, 0.0) > now:
            return False
        self._deliveries[delivery_id] = now + ttl
        return True

    async def put_ticket(self, ticket: str, data: str, ttl: float) -> None:
        now = self._clock()
        if len(self._tickets) > 10_000:  # bounded: forget the expired ones
            self._tickets = {k: v for k, v in self._tickets.items() if v[1] > now}
        self._tickets[ticket] = (data, now + ttl)

    async def take_ticket(self, ticket: str) -> str | None:
        data, expires = self._tickets.pop(ticket, (None, 0.0))
        return data if expires > self._clock() else None

    def _inbox(self, worker: str) -> asyncio.Queue[dict[str, Any]]:
        return self._inboxes.setdefault(worker, asyncio.Queue())

    async def send(self, worker: str, message: dict[str, Any]) -> None:
        if worker in self._inboxes:
            self._inboxes[worker].put_nowait(message)

    async def messages(self, worker: str) -> AsyncIterator[dict[str, Any]]:
        inbox = self._inbox(worker)
        while True:
            yield await inbox.get()


def open_store(url: str | None) -> Store:
    """The store at ``url``: ``None`` or ``memory://`` for this process alone,
    ``redis://HOST:PORT/DB`` (``rediss://`` for TLS, ``valkey://``) for many workers."""
    if url is None or url == "memory://":
        return MemoryStore()
    scheme = url.partition("://")[0]
    if scheme in ("redis", "rediss", "valkey", "valkeys"):
        from .redis_store import RedisStore

        return RedisStore(url.replace("valkey", "redis", 1) if scheme.startswith("valkey") else url)
    raise ValueError(f"unknown store {scheme}:// (expected redis://HOST:PORT/DB or memory://)")
