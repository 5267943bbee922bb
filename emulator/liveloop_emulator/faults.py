"""Fault injection: network cuts, stalls, bad frames, close codes, expiry, refusals.

Every :class:`~liveloop_emulator.Emulator` has one :class:`Faults` as ``emu.faults``. Its
methods run on the emulator's event loop (from another thread, go through
``EmulatorThread.call``). They act on the WebSocket sessions (``emu.sessions``); frames they
inject are recorded in ``faults.injected``, not in a session's ``server_events`` (which hold
only what the protocol engine sent). The records keep the newest :data:`MAX_RECORDS` entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from .records import EmulatorSession
from .server.state import ServerState

__all__ = ["MAX_RECORDS", "Faults", "Injected"]

_POLL = 0.1

MAX_RECORDS = 1000
"""How many injected frames and refusals :class:`Faults` remembers (the newest)."""


@dataclass(frozen=True)
class Injected:
    """One frame a fault method sent to a session."""

    session_id: str
    frame: str | bytes


class Faults:
    """The fault-injection controls of one emulator (``emu.faults``)."""

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self.stalled = False
        """Whether the server is stalled (see :meth:`stall`)."""
        self.refusal: int | None = None
        """The HTTP status new WebSocket connections are refused with (None: accepted)."""
        self.refused_at: deque[float] = deque(maxlen=MAX_RECORDS)
        """``time.monotonic()`` of every connection refused by :meth:`refuse_connections`."""
        self.injected: deque[Injected] = deque(maxlen=MAX_RECORDS)
        """Every frame sent by :meth:`send_raw` / :meth:`send_event`, in order."""
        self.dropped = 0
        """Connections cut by :meth:`drop_all` so far."""
        self._paused: list[asyncio.Transport] = []
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._timers: set[asyncio.Task[None]] = set()

    # -- the network

    def _transports(self) -> list[asyncio.Transport]:
        server = self._state.server
        if server is None:
            return []
        found: list[asyncio.Transport] = []
        for connection in list(server.server_state.connections):
            transport: Any = getattr(connection, "transport", None)
            # By behaviour, not class: uvloop's transports do not subclass asyncio.Transport.
            if all(hasattr(transport, m) for m in ("abort", "pause_reading", "is_closing")):
                found.append(transport)
        return found

    async def drop_all(self) -> int:
        """Cut every open connection at once, as a network failure would: the TCP connections
        are aborted, no close frame is sent. Returns how many connections were cut."""
        transports = self._transports()
        for transport in transports:
            transport.abort()
        self.dropped += len(transports)
        open_sessions = [s for s in self._state.sessions if not s.closed and s.call_id is None]
        for session in open_sessions:
            await session.close(1006, "connection dropped")
        for session in open_sessions:
            session.close_code = 1006  # whichever close ran first: the link was cut
        return len(transports)

    def stall(self, stalled: bool = True) -> None:
        """Stall (``True``) or resume (``False``) the server.

        While stalled, open connections are not read (so client pings go unanswered and
        client events are not processed), server events are discarded instead of sent, and new
        WebSocket connections get no handshake answer until the stall ends (or the client gives
        up). Resuming reads the open connections again.
        """
        self.stalled = stalled
        if stalled:
            self._resumed.clear()
            for transport in self._transports():
                if transport not in self._paused and not transport.is_closing():
                    transport.pause_reading()
                    self._paused.append(transport)
            return
        self._resumed.set()
        paused, self._paused = self._paused, []
        for transport in paused:
            if not transport.is_closing():
                transport.resume_reading()

    def refuse_connections(self, status: int | None = 503) -> None:
        """Refuse new WebSocket connections with HTTP ``status`` (an endpoint that is gone or
        overloaded), or accept them again with ``None``. Open sessions are not affected."""
        if status is not None and not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        self.refusal = status

    async def admit(self) -> int | None:
        """Called by the server before a WebSocket handshake: waits while stalled, then returns
        the status to refuse the connection with (None: go ahead)."""
        server = self._state.server
        while self.stalled and server is not None and not server.should_exit:
            with contextlib.suppress(TimeoutError):  # re-check now and then: a stop ends it
                await asyncio.wait_for(self._resumed.wait(), _POLL)
        if self.refusal is not None:
            self.refused_at.append(time.monotonic())
        return self.refusal

    # -- frames and closes

    def _targets(self, session: EmulatorSession | None) -> list[EmulatorSession]:
        if session is not None:
            return [session]
        return [
            s
            for s in self._state.sessions
            if not s.closed and s.websocket is not None and s.call_id is None
        ]

    async def send_raw(self, frame: str | bytes, session: EmulatorSession | None = None) -> int:
        """Send ``frame`` as is (text for ``str``, binary for ``bytes``) to ``session`` or to
        every open WebSocket session. Returns how many sessions it was sent to."""
        sent = 0
        for target in self._targets(session):
            ws = target.websocket
            if ws is None or target.closed:
                continue
            try:
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:
                    await ws.send_text(frame)
            except Exception:  # the connection went away meanwhile
                continue
            self.injected.append(Injected(target.id, frame))
            sent += 1
        return sent

    async def send_event(self, event: Any, session: EmulatorSession | None = None) -> int:
        """Send ``event`` (any JSON value: an unknown event type, a known one with missing or
        mistyped fields...) as a JSON text frame; see :meth:`send_raw`."""
        return await self.send_raw(json.dumps(event), session)

    async def close_sessions(
        self, code: int = 1011, reason: str = "", session: EmulatorSession | None = None
    ) -> int:
        """Close ``session`` or every open WebSocket session with WebSocket close ``code`` and
        ``reason`` (a clean close frame; compare :meth:`drop_all`). Returns how many."""
        targets = self._targets(session)
        for target in targets:
            await target.close(code, reason)
        return len(targets)

    def expire_after(self, seconds: float, session: EmulatorSession | None = None) -> None:
        """Expire sessions after ``seconds``, as OpenAI does at its session limit: an ``error``
        event with code ``session_expired``, then a close with code 1001.

        Without ``session`` this applies to sessions opened from now on (it sets
        ``emu.max_session_seconds``); with one, that open session expires ``seconds`` from now.
        """
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        if session is None:
            self._state.max_session_seconds = seconds
            return
        task = asyncio.get_running_loop().create_task(self._expire(session, seconds))
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)
        self._state.track(task)

    async def _expire(self, session: EmulatorSession, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if session.closed:
            return
        message = f"Your session hit the maximum duration of {seconds:g} seconds."
        if session.engine is not None:
            await session.engine.error(message, code="session_expired")
        await session.close(1001, message)
