"""Connections that hold a socket without sending a request: a bound and a deadline.

uvicorn reads request headers with no deadline, so a client that opens a connection and
sends its headers slowly (or never) holds a socket, and enough of them exhaust the
process's file descriptors; then nobody gets in. :class:`GuardedH11Protocol` (uvicorn's
h11 protocol with two rules) prevents that:

- a connection must complete a request's headers within ``header_timeout`` seconds of
  opening (or of its previous response, on a kept-alive connection), else it is closed;
- at most ``max_connections`` connections are open: a new one beyond the bound closes the
  oldest connection that is waiting for a request (the slow ones), so a client that sends
  its request promptly always gets a socket. If every connection is busy, the new one is
  closed instead.

A connection upgraded to a WebSocket leaves the guard (its route authenticates it).
"""

from __future__ import annotations

import resource
from collections import OrderedDict
from typing import Any, ClassVar

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from liveloop import get_logger

__all__ = ["ConnectionGuard", "GuardedH11Protocol", "default_max_connections", "protocol_for"]

_log = get_logger("liveloop.serve")

FD_RESERVE = 128
"""Descriptors kept for everything but client connections (provider calls, the store, files)."""


def default_max_connections() -> int:
    """1,000, or fewer when the process may open fewer files (its soft ``RLIMIT_NOFILE``
    less :data:`FD_RESERVE`)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(16, min(1000, soft - FD_RESERVE))


class ConnectionGuard:
    """The open connections of one server, oldest first."""

    def __init__(self, *, max_connections: int, header_timeout: float) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.open: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
        self.evicted = 0
        """Connections closed for the bound or the deadline (for tests and metrics)."""

    def admit(self, new: GuardedH11Protocol) -> None:
        self.open[new] = None
        if len(self.open) <= self.max_connections:
            return
        victim = next((c for c in self.open if c is not new and c.waiting), new)
        _log.debug("too many connections: closing one that sent no request")
        self.close(victim)

    def close(self, connection: GuardedH11Protocol) -> None:
        self.evicted += 1
        self.open.pop(connection, None)
        connection.transport.abort()  # frees the socket now; no graceful close for these

    def discard(self, connection: GuardedH11Protocol) -> None:
        self.open.pop(connection, None)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol under a :class:`ConnectionGuard` (see :func:`protocol_for`)."""

    guard: ClassVar[ConnectionGuard]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: Any = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._deadline: Any = None

    @property
    def waiting(self) -> bool:
        """No request in progress: before the first, or between kept-alive requests."""
        return self.cycle is None or self.cycle.response_complete

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()
        self.guard.admit(self)

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        started = self.cycle
        self._deadline = self.loop.call_later(self.guard.header_timeout, self._expire, started)

    def _expire(self, started: Any) -> None:
        # Still no new request since the deadline was armed: a slow (or idle) client.
        if self.cycle is started and self.waiting and not self.transport.is_closing():
            _log.debug("closing a connection that sent no request in time")
            self.guard.close(self)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on a kept-alive connection has a deadline too

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self.guard.discard(self)
        super().connection_lost(exc)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self.guard.discard(self)
        super().handle_websocket_upgrade(event)


def protocol_for(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """The protocol class to give uvicorn (``Config(http=...)``) for connections under
    ``guard``."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": guard})
