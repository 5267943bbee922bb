"""Rate limits of ``liveloop serve``, on the ``limits`` library (memory or Redis storage).

A :class:`Rate` is parsed from the command line's ``N/PERIOD``; a :class:`RateLimiter`
counts hits per key in a moving window (at most N in any span of PERIOD), in the storage
the server's store provides, so every worker sharing a Redis store shares the windows.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

__all__ = ["Rate", "RateLimiter"]

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
_UNITS |= {"h": 3600.0, "hour": 3600.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)?\s*([a-z]*)\s*$")


@dataclass(frozen=True)
class Rate:
    """``count`` hits per ``per`` seconds (a whole number of seconds)."""

    count: int
    per: float

    def __post_init__(self) -> None:
        if self.count < 1 or not math.isfinite(self.per) or self.per < 1:
            raise ValueError(f"a rate needs a positive count and a period of 1 s or more ({self})")

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"10/minute"``, ``"10/60s"``, ``"5/s"``, ``"100/h"`` or ``"3/30"`` (seconds)."""
        match = _RATE.match(text.lower())
        unit = match.group(3) if match else ""
        if unit not in _UNITS:
            unit = unit.removesuffix("s")
        if match is None or (unit and unit not in _UNITS):
            raise ValueError(f"expected a rate like 10/minute or 3/30s, got {text!r}")
        factor = _UNITS[unit] if unit else 1.0
        amount = float(match.group(2)) if match.group(2) else 1.0
        return cls(int(match.group(1)), amount * factor)

    def __str__(self) -> str:
        return f"{self.count}/{self.per:g}s"


class RateLimiter:
    """At most ``rate.count`` hits per key in any window of ``rate.per`` seconds."""

    def __init__(self, rate: Rate, storage: Storage, *, namespace: str) -> None:
        self.rate = rate
        self._item = RateLimitItemPerSecond(rate.count, round(rate.per), namespace=namespace)
        self._limiter = MovingWindowRateLimiter(storage)

    async def acquire(self, key: str) -> float | None:
        """Count a hit for ``key``: ``None`` when allowed, else the seconds to wait."""
        if await self._limiter.hit(self._item, key):
            return None
        stats = await self._limiter.get_window_stats(self._item, key)
        return max(stats.reset_time - time.time(), 0.001)

    async def allowed(self, key: str) -> bool:
        """Whether a hit for ``key`` would be allowed now (counts nothing)."""
        return await self._limiter.test(self._item, key)
