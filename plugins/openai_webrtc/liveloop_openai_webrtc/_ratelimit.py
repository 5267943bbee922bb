"""A per-caller rate limit for ``liveloop serve``: at most N starts in any window of T seconds."""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Rate", "RateLimiter"]

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
_UNITS |= {"h": 3600.0, "hour": 3600.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([a-z]*)\s*$")


@dataclass(frozen=True)
class Rate:
    """``count`` starts per ``per`` seconds."""

    count: int
    per: float

    def __post_init__(self) -> None:
        if self.count < 1 or not math.isfinite(self.per) or self.per <= 0:
            raise ValueError(f"a rate needs a positive count and period (got {self})")

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
    """Sliding-window limiter keyed by caller identity.

    Memory is bounded: at most ``max_keys`` callers are remembered (the least recently
    seen are forgotten first, which can only make the limit more lenient for them).
    """

    def __init__(
        self,
        rate: Rate,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self._max_keys = max_keys
        self._clock = clock
        self._starts: OrderedDict[str, deque[float]] = OrderedDict()

    def acquire(self, key: str) -> float | None:
        """Count a start for ``key``: ``None`` when allowed, else the seconds to wait."""
        now = self._clock()
        starts = self._starts.pop(key, None) or deque()
        while starts and starts[0] <= now - self.rate.per:
            starts.popleft()
        self._starts[key] = starts
        while len(self._starts) > self._max_keys:
            self._starts.popitem(last=False)
        if len(starts) >= self.rate.count:
            return max(starts[0] + self.rate.per - now, 0.001)
        starts.append(now)
        return None
