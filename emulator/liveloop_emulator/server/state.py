"""What the server's routes share: the emulator's settings, its session records and calls.

Routes are module-level handlers; they find this state on the app (``app.state.emulator``,
see :func:`state_of`). The :class:`~liveloop_emulator.Emulator` owns it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import uvicorn
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from ..auth import KeyStore
from ..realtime import RealtimeFrontEnd
from ..records import EmulatorSession, EventLog
from ..replies import Rule

__all__ = [
    "DEFAULT_MODEL",
    "Admission",
    "Call",
    "ServerState",
    "state_of",
]

DEFAULT_MODEL = "gpt-realtime"


class Call(Protocol):
    """A live call as the routes see it (``webrtc.WebRTCCall``)."""

    id: str
    session: EmulatorSession
    engine: RealtimeFrontEnd
    sidebands: set[WebSocket]

    def session_created(self) -> dict[str, Any]: ...

    async def hangup(self) -> None: ...


class Admission(Protocol):
    """The fault controls the routes consult (``Faults`` implements it)."""

    stalled: bool

    async def admit(self) -> int | None: ...


@dataclass
class ServerState:
    """The emulator's configuration and live records, shared by its routes.

    ``event_history`` bounds each session's event logs (None: keep all); ``session_history``
    bounds how many closed session records are kept (None: all).
    """

    keys: KeyStore
    script: tuple[Rule, ...]
    speed: float
    chunk_ms: int
    max_session_seconds: float
    host: str
    event_history: int | None = None
    session_history: int | None = None
    sessions: list[EmulatorSession] = field(default_factory=list)
    calls: dict[str, Call] = field(default_factory=dict)
    """WebRTC calls by call id (ended ones stay, with ``session.closed`` set)."""
    server: uvicorn.Server | None = None
    admission: Admission | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def new_session(self, model: str, call_id: str | None = None) -> EmulatorSession:
        """A session record with logs bounded as configured (not yet listed)."""
        return EmulatorSession(
            id="",
            model=model,
            call_id=call_id,
            client_events=EventLog(maxlen=self.event_history),
            server_events=EventLog(maxlen=self.event_history),
        )

    def add(self, session: EmulatorSession) -> None:
        """List a session; forget the oldest closed records beyond ``session_history``."""
        self.sessions.append(session)
        limit = self.session_history
        if limit is None:
            return
        closed = [s for s in self.sessions if s.closed]
        if len(closed) > limit:
            drop = {id(s) for s in closed[: len(closed) - limit]}
            self.sessions[:] = [s for s in self.sessions if id(s) not in drop]
            for call_id in [c for c, call in self.calls.items() if id(call.session) in drop]:
                del self.calls[call_id]

    def open_sessions(self) -> Iterable[EmulatorSession]:
        return [s for s in self.sessions if not s.closed]

    def track(self, task: asyncio.Task[Any]) -> None:
        """Own ``task`` until it ends (cancelled when the emulator stops)."""
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def admit(self) -> int | None:
        """The status to refuse a new connection with (None: admitted); waits while stalled."""
        return None if self.admission is None else await self.admission.admit()

    @property
    def stalled(self) -> bool:
        return self.admission is not None and self.admission.stalled


def state_of(connection: HTTPConnection) -> ServerState:
    """The state of the app serving ``connection`` (a request or a WebSocket)."""
    state = connection.app.state.emulator
    assert isinstance(state, ServerState)
    return state
