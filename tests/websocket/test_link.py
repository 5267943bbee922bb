"""The WebSocket link both WebSocket transports share, against a real ``websockets`` server
on 127.0.0.1: messages whole and in order, a lagging consumer pushing back on the socket
without losing anything, the close frame's code and reason after the buffered messages,
sends while open and after the close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection, serve

import liveloop
from liveloop_websocket import HIGH_WATER, WebSocketLink, dial, error_body, wire_logger

Handler = Callable[[ServerConnection], Awaitable[None]]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def refused(status: int, body: bytes) -> liveloop.ProviderError:
    message, code = error_body(body)
    return liveloop.ProviderError(f"refused {status}: {message}", code=code or str(status))


@contextlib.asynccontextmanager
async def linked(handler: Handler) -> AsyncIterator[WebSocketLink]:
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        socket = await dial(
            f"ws://127.0.0.1:{port}/",
            {"Authorization": "Bearer sk-test-secret"},
            connect_timeout=5,
            ping_interval=10,
            ping_timeout=10,
            logger=wire_logger("tests.websocket.wire"),
            refusal=refused,
        )
        link = WebSocketLink(socket)
        try:
            yield link
        finally:
            await link.close()


async def test_fragmented_text_and_binary_messages_arrive_whole_and_in_order() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send('{"a": 1}')
        await ws.send(['{"b": ', "2}"])  # one message in two frames
        await ws.send(b"\x00\x01")
        await ws.wait_closed()

    async with linked(handler) as link:
        assert [await link.receive() for _ in range(3)] == [b'{"a": 1}', b'{"b": 2}', b"\x00\x01"]


async def paused(link: WebSocketLink) -> None:
    # Pausing is a transport call with no event to wait on (uvloop's transports take no
    # instrumentation), so this polls the link's own flag.
    while not link._socket.reading_paused:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def test_a_lagging_consumer_pauses_reading_and_gets_every_message_then_the_close() -> None:
    count = HIGH_WATER * 3
    sent = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        for n in range(count):
            await ws.send(f"message {n}")
        sent.set()
        await ws.close(4001, "done here")

    async with linked(handler) as link:
        await asyncio.wait_for(sent.wait(), 5)
        await asyncio.wait_for(paused(link), 5)  # the link stopped reading at its limit
        assert len(link._socket.inbox) >= HIGH_WATER
        got = [await link.receive() for _ in range(count)]
        assert got == [f"message {n}".encode() for n in range(count)]
        with pytest.raises(liveloop.ConnectionLost) as caught:
            await asyncio.wait_for(link.receive(), 5)
    assert (caught.value.close_code, caught.value.close_reason) == (4001, "done here")


async def test_sends_reach_the_server_and_a_send_after_the_close_is_a_lost_link() -> None:
    received: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            received.append(str(message))
            if len(received) == 3:
                await ws.close(1000)

    async with linked(handler) as link:
        for n in range(3):
            await link.send(f"hello {n}")
        with pytest.raises(liveloop.ConnectionLost) as caught:
            await asyncio.wait_for(link.receive(), 5)
        assert caught.value.close_code == 1000
        with pytest.raises(liveloop.ConnectionLost):
            await link.send("too late")
    assert received == ["hello 0", "hello 1", "hello 2"]


async def test_closing_ends_the_keepalive_task() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with linked(handler) as link:
        keepalive = link._socket.keepalive_task
        assert keepalive is not None and not keepalive.done()
        await link.close()
        assert keepalive.done()


async def test_a_refused_handshake_is_the_transports_error_and_the_key_is_never_logged() -> None:
    from websockets.http11 import Response

    def refuse(connection: ServerConnection, request: object) -> Response:
        return connection.respond(401, '{"error": {"message": "bad key", "code": "nope"}}\n')

    async def handler(ws: ServerConnection) -> None:  # never reached
        await ws.wait_closed()

    # A handler of the test's own on the wire logger: what other tests did to the root
    # logger's handlers and levels cannot hide a line from it.
    logger = wire_logger("tests.websocket.wire.refused")
    handler_ = _Lines()
    logger.addHandler(handler_)
    logger.setLevel(logging.DEBUG)
    try:
        async with serve(handler, "127.0.0.1", 0, process_request=refuse) as server:
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(liveloop.ProviderError) as caught:
                await dial(
                    f"ws://127.0.0.1:{port}/",
                    {"Authorization": "Bearer sk-test-secret"},
                    connect_timeout=30,
                    ping_interval=10,
                    ping_timeout=10,
                    logger=logger,
                    refusal=refused,
                )
    finally:
        logger.removeHandler(handler_)
    assert caught.value.code == "nope" and "bad key" in str(caught.value)
    text = "\n".join(handler_.lines)
    assert "Authorization" in text  # websockets logged the handshake...
    assert "sk-test-secret" not in text  # ...with the key masked
