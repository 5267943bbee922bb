"""The emulator's record of a session, as tests read it (``emu.sessions``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, SupportsIndex, overload

from starlette.websockets import WebSocket, WebSocketState

from .realtime import RealtimeFrontEnd

__all__ = ["EmulatorSession", "EventLog"]


class EventLog(deque[dict[str, Any]]):
    """A session's events, oldest first: a ring of the newest ``maxlen`` (None: all) that
    also slices like a list."""

    @overload
    def __getitem__(self, index: SupportsIndex) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return list(self)[index]
        return super().__getitem__(index)


@dataclass
class EmulatorSession:
    """One session (a WebSocket session, or a WebRTC call), as the tests see it.

    A call's record (``call_id`` set) holds the client events of its data channel and of every
    sideband WebSocket, and every server event sent to them, in order. Both logs keep every
    event unless the emulator bounds them (``event_history``: the newest events only).
    """

    id: str
    model: str
    client_events: EventLog = field(default_factory=EventLog)
    """Every client event that parsed as a JSON object, in order (invalid ones included)."""
    server_events: EventLog = field(default_factory=EventLog)
    """Every server event sent, in order."""
    closed: bool = False
    close_code: int | None = None
    engine: RealtimeFrontEnd | None = field(default=None, repr=False)
    websocket: WebSocket | None = field(default=None, repr=False)
    started_at: float = field(default_factory=time.time)
    call_id: str | None = None
    """The WebRTC call this session belongs to (None: a WebSocket session)."""
    on_close: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    def events_of(self, type: str) -> list[dict[str, Any]]:
        """The server events of one ``type``."""
        return [e for e in self.server_events if e.get("type") == type]

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the session from the server side (bounded)."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        if self.engine is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.engine.close(), 1.0)
        ws = self.websocket
        if ws is not None and ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=code, reason=reason), 0.5)
        if self.on_close is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.on_close(), 0.8)
