"""The WebSocket protocol the emulator's uvicorn runs: uvicorn's sans-I/O ``websockets``
protocol, with the frames written in one pass of the event loop going to the socket as one
write.

A reply's tick sends an audio delta and a transcript delta back to back, and a response's
start and end send several events at once; each was a socket write (a system call) of its
own. The frames are still framed by ``websockets``, in the order they were sent; only the
write is held until the loop's current pass ends.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["CoalescingWebSocketProtocol"]


class _Flusher:
    """One per event loop: the transports holding writes, flushed by one callback per pass."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: list[_CoalescingTransport] = []

    def hold(self, transport: _CoalescingTransport) -> None:
        if not self._waiting:
            self._loop.call_soon(self._flush)
        self._waiting.append(transport)

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        for transport in waiting:
            transport.flush()


_flushers: dict[asyncio.AbstractEventLoop, _Flusher] = {}


def _flusher(loop: asyncio.AbstractEventLoop) -> _Flusher:
    flusher = _flushers.get(loop)
    if flusher is None:
        for old in [old for old in _flushers if old.is_closed()]:
            del _flushers[old]  # a test's loop that ended
        flusher = _flushers[loop] = _Flusher(loop)
    return flusher


class _CoalescingTransport:
    """The connection's transport, its writes held until the loop's pass ends (``close``
    writes what is held first; ``abort`` drops it, as a cut connection loses it)."""

    def __init__(self, transport: Any, flusher: _Flusher) -> None:
        self._transport = transport
        self._flusher = flusher
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._held:
            self._flusher.hold(self)
        self._held.append(data)

    def flush(self) -> None:
        held, self._held = self._held, []
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # Everything else (reading, closing state, extra info) is the transport's own.
        return getattr(self._transport, name)


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol over a :class:`_CoalescingTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        held: Any = _CoalescingTransport(transport, _flusher(asyncio.get_running_loop()))
        super().connection_made(held)
