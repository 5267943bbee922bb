"""The WebSocket link both WebSocket transports use: ``websockets``' own client (handshake,
TLS, proxies, framing, masking, keepalive pings, the closing handshake) with a lean
message path on top of it.

websockets' asyncio layer hands every message through its assembler (a queue of frames,
a future per wait, a join per message) and wraps every send in an async context manager.
Here complete messages go straight from the frame parser into a deque that
:meth:`WebSocketLink.receive` pops without suspending while it is not empty, and a send
writes its frame at once while the socket is open and the peer keeps up.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN, Event

from liveloop import ConnectionLost, ProviderError
from liveloop.transport import MediaChannel

__all__ = [
    "CLOSE_TIMEOUT",
    "HIGH_WATER",
    "MAX_MESSAGE_BYTES",
    "LinkSocket",
    "Refusal",
    "WebSocketLink",
    "dial",
    "error_body",
    "lost",
]

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
CLOSE_TIMEOUT = 0.5
HIGH_WATER = 64
"""Messages waiting for the consumer before the socket stops reading (TCP then pushes
back on the server); reading resumes at :data:`LOW_WATER`."""
LOW_WATER = 16

Refusal = Callable[[int, bytes], ProviderError]
"""Turns a refused handshake (HTTP status, response body) into the provider's error."""

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT


class LinkSocket(ClientConnection):
    """A ``ClientConnection`` that queues whole messages as bytes instead of frames."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inbox: deque[bytes] = deque()
        self.reading_paused = False
        self.ended = False  # the TCP connection is gone: nothing more will arrive
        self._fragments: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None

    def process_event(self, event: Event) -> None:
        if self.response is None or not isinstance(event, Frame):
            super().process_event(event)  # the handshake's response
            return
        opcode = event.opcode
        if opcode is not _TEXT and opcode is not _BINARY and opcode is not _CONT:
            super().process_event(event)  # pongs answer the keepalive's pings
            return
        if not event.fin or self._fragments:
            self._fragments.append(bytes(event.data))
            if not event.fin:
                return
            message = b"".join(self._fragments)
            self._fragments.clear()
        else:
            message = bytes(event.data)
        inbox = self.inbox
        inbox.append(message)
        if len(inbox) >= HIGH_WATER and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.ended = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def caught_up(self) -> None:
        """The consumer took the inbox down to :data:`LOW_WATER`: read again."""
        self.reading_paused = False
        if not self.ended:
            self.transport.resume_reading()

    async def wait_message(self) -> None:
        """Until a message is queued; raises ``ConnectionClosed`` once none can come."""
        while not self.inbox:
            if self.ended:
                # The close frames' codes and reasons are settled once the TCP
                # connection is gone (as websockets' own recv does).
                await asyncio.shield(self.connection_lost_waiter)
                raise self.protocol.close_exc from self.recv_exc
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None


class WebSocketLink:
    """One open WebSocket to a provider; raises :class:`ConnectionLost` (with the close
    frame's code and reason, after every message that arrived before it) once it is gone."""

    media: MediaChannel | None = None

    def __init__(self, socket: LinkSocket) -> None:
        self._socket = socket
        self._protocol = socket.protocol

    async def send(self, message: str) -> None:
        """Send one text frame (waiting while the peer does not keep up)."""
        socket = self._socket
        if self._protocol.state is OPEN and not socket.transport.is_closing():
            self._protocol.send_text(message.encode())
            socket.send_data()
            if socket.paused:
                await socket.drain()
            return
        try:  # closing or closed: websockets' own send raises the right ConnectionClosed
            await socket.send(message)
        except ConnectionClosed as exc:
            raise lost(exc) from None

    async def receive(self) -> bytes:
        """The next message, as the bytes it arrived as (text frames undecoded: the codecs'
        JSON parsers take UTF-8 bytes and check them themselves)."""
        socket = self._socket
        if not socket.inbox:
            try:
                await socket.wait_message()
            except ConnectionClosed as exc:
                raise lost(exc) from None
        inbox = socket.inbox
        message = inbox.popleft()
        if socket.reading_paused and len(inbox) <= LOW_WATER:
            socket.caught_up()
        return message

    async def close(self) -> None:
        """Close within about half a second, even if the server never answers the close."""
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT + 0.1):
                await self._socket.close()
        except (TimeoutError, OSError, ConnectionClosed):
            pass
        finally:
            if self._socket.transport is not None:
                self._socket.transport.abort()
        # websockets cancels its keepalive task when the connection is lost; the link owns
        # the connection, so it also waits for that task to end (bounded, like the close).
        keepalive = self._socket.keepalive_task
        if keepalive is not None and not keepalive.done():
            keepalive.cancel()
            await asyncio.wait({keepalive}, timeout=CLOSE_TIMEOUT)


async def dial(
    url: str,
    headers: dict[str, str],
    *,
    connect_timeout: float,
    ping_interval: float,
    ping_timeout: float | None,
    logger: logging.Logger,
    refusal: Refusal,
) -> LinkSocket:
    """Open a WebSocket to ``url`` (no compression: audio does not compress and deflate
    costs CPU on every event). A refused handshake raises ``refusal``'s
    :class:`ProviderError`; any other failure :class:`ConnectionLost`."""
    try:
        socket = await connect(
            url,
            additional_headers=headers,
            compression=None,
            max_size=MAX_MESSAGE_BYTES,
            open_timeout=connect_timeout,
            close_timeout=CLOSE_TIMEOUT,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            user_agent_header="liveloop",
            logger=logger,
            create_connection=LinkSocket,
        )
    except InvalidStatus as exc:
        raise refusal(exc.response.status_code, exc.response.body or b"") from None
    except (InvalidURI, InvalidHandshake, OSError, TimeoutError) as exc:
        raise ConnectionLost(f"could not connect to {url}", exc) from None
    assert isinstance(socket, LinkSocket)
    return socket


def error_body(body: bytes) -> tuple[str | None, str | None]:
    """``(message, code)`` from a JSON ``{"error": {"message", "code" or "type"}}`` body."""
    try:
        error = json.loads(body or b"{}").get("error") or {}
        return error.get("message") or None, error.get("code") or error.get("type") or None
    except (ValueError, AttributeError):
        return None, None


def lost(exc: ConnectionClosed) -> ConnectionLost:
    """The link is gone. The close code and reason tell the runtime whether reconnecting
    can help; a link that ended without a close frame is an abnormal closure (1006)."""
    close = exc.rcvd or exc.sent
    if close is None:
        message = "the connection dropped without a close frame"
        return ConnectionLost(message, exc, close_code=1006, close_reason=None)
    reason = f": {close.reason}" if close.reason else ""
    message = f"the connection closed (code {close.code}{reason})"
    return ConnectionLost(message, exc, close_code=close.code, close_reason=close.reason)
