"""Bounded fan-out: every subscriber gets every item published after it subscribed."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Subscription(Generic[T]):
    """One subscriber's bounded queue; when full, the oldest item is dropped and counted."""

    def __init__(self, fanout: Fanout[T], maxlen: int) -> None:
        self._fanout = fanout
        self._items: deque[T] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def _put(self, item: T) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
            self._fanout.dropped += 1
        self._items.append(item)
        self._ready.set()

    def _close(self) -> None:
        self._closed = True
        self._ready.set()

    def discard(self, drop_if: Callable[[T], bool]) -> None:
        """Drop queued items for which ``drop_if(item)`` is true."""
        kept = [item for item in self._items if not drop_if(item)]
        self._items.clear()
        self._items.extend(kept)

    async def get(self) -> T:
        """The next item; raises ``StopAsyncIteration`` once closed and drained."""
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def unsubscribe(self) -> None:
        """Stop receiving items."""
        self._fanout._subscribers.discard(self)

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._items:  # the common case, without a second coroutine per item
            return self._items.popleft()
        return await self.get()


class Fanout(Generic[T]):
    """Publishes items to every current subscriber, without ever blocking the publisher."""

    def __init__(self, maxlen: int) -> None:
        self._maxlen = maxlen
        self._subscribers: set[Subscription[T]] = set()
        self._closed = False
        self.dropped = 0

    @property
    def has_subscribers(self) -> bool:
        """Whether anyone is listening."""
        return bool(self._subscribers)

    @property
    def subscribers(self) -> tuple[Subscription[T], ...]:
        """The current subscriptions."""
        return tuple(self._subscribers)

    def subscribe(self) -> Subscription[T]:
        """A new subscription (already closed if the fan-out is)."""
        sub: Subscription[T] = Subscription(self, self._maxlen)
        if self._closed:
            sub._close()
        else:
            self._subscribers.add(sub)
        return sub

    def publish(self, item: T) -> None:
        """Queue ``item`` for every subscriber."""
        for sub in self._subscribers:
            sub._put(item)

    def close(self) -> None:
        """End every subscription once its queued items are read."""
        self._closed = True
        for sub in self._subscribers:
            sub._close()
        self._subscribers.clear()
