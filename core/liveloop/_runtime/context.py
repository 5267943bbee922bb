"""What every component of one session shares: its identity, configuration and counters."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from ..config import SessionConfig
from ..events import Event
from ..features import Features
from ..metrics import SessionMetrics
from ..provider_errors import ProviderErrors
from .tasks import Tasks


@dataclass
class Context:
    """One session's shared state; components hold it, none of them owns it."""

    session_id: str
    config: SessionConfig  # replaced by Session.update()
    features: Features
    errors: ProviderErrors
    publish: Callable[[Event], None]  # to events() subscribers
    tasks: Tasks
    metrics: SessionMetrics = field(default_factory=SessionMetrics)
    closed: bool = False
    log: dict[str, str] = field(default_factory=dict)  # bound to every log line
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        """A number unique within the session."""
        return next(self._ids)

    def event_id(self) -> str:
        """A client event id the provider's errors can correlate to."""
        return f"ll_{self.session_id}_{self.next_id()}"
