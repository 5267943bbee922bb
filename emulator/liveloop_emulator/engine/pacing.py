"""Waiting between pieces of a response: one timer for all the responses of an event loop.

Every paced response waits once per audio chunk. With a timer each, N sessions cost N timer
fires and about as many loop iterations per chunk interval; here the waits of a loop share
one timer, and each fire wakes every wait due within its *slack* of it (a wait may end that
much early; the speaker gives a small part of a chunk's interval), so the loop wakes once
for a batch of sessions instead of once for each.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import weakref
from dataclasses import dataclass, field

from .responses import Response

__all__ = ["pause"]


@dataclass(slots=True)
class _Pacer:
    """The pending waits of one loop, by due time, and the one timer for the earliest (it
    holds no reference to its loop, so a loop that is dropped takes its pacer along)."""

    waits: list[tuple[float, int, float, asyncio.Future[None]]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None
    armed_at: float = float("inf")
    order: itertools.count[int] = field(default_factory=itertools.count)

    def wait_until(
        self, loop: asyncio.AbstractEventLoop, due: float, slack: float
    ) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self.waits, (due, next(self.order), slack, waiter))
        if due < self.armed_at:
            if self.timer is not None:
                self.timer.cancel()
            self.armed_at = due
            self.timer = loop.call_at(due, self._fire)
        return waiter

    def _fire(self) -> None:
        self.timer = None
        self.armed_at = float("inf")
        loop = asyncio.get_running_loop()
        now = loop.time()
        waits = self.waits
        while waits and waits[0][0] - waits[0][2] <= now:
            waiter = heapq.heappop(waits)[3]
            if not waiter.done():  # a cancel may have ended it already
                waiter.set_result(None)
        if waits:
            self.armed_at = waits[0][0]
            self.timer = loop.call_at(self.armed_at, self._fire)


_pacers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pacer] = weakref.WeakKeyDictionary()


async def pause(response: Response, seconds: float, slack: float = 0.0) -> bool:
    """Wait up to ``seconds`` (ending at most ``slack`` early); True if the response was
    cancelled meanwhile (a cancel resolves the wait at once)."""
    if response.cancelled:
        return True
    if seconds > 0:
        loop = asyncio.get_running_loop()
        pacer = _pacers.get(loop)
        if pacer is None:
            pacer = _pacers[loop] = _Pacer()
        waiter = pacer.wait_until(loop, loop.time() + seconds, slack)
        response.waiter = waiter
        try:
            await waiter
        finally:
            response.waiter = None
    else:
        await asyncio.sleep(0)
    return response.cancelled
