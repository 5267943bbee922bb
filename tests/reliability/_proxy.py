"""A WebSocket proxy between liveloop and the emulator, to break the link on purpose.

liveloop connects to the proxy (``proxy.base_url``); the proxy opens one upstream
connection per client connection and relays frames both ways. Tests make it cut
connections (no close frame: the client sees 1006), close them with a code and reason,
refuse handshakes with an HTTP status, hold back ``session.updated`` (a restore never
confirmed), or cut a connection when its client sends a given event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response


@dataclass
class ProxiedLink:
    """One client connection and its upstream twin."""

    index: int
    client: ServerConnection
    upstream: ClientConnection
    sent: list[dict[str, Any]] = field(default_factory=list)  # client -> provider
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def sent_types(self) -> list[str]:
        return [event.get("type", "") for event in self.sent]


Rule = Callable[[ProxiedLink, dict[str, Any]], bool]
"""Decides, per link and event, whether to act (cut, or hold the event back)."""


class Proxy:
    """The proxy (an async context manager); ``links`` are every connection it relayed,
    ``refused`` the handshakes it refused."""

    def __init__(self, upstream_base_url: str) -> None:
        parts = urlsplit(upstream_base_url)
        self._upstream = f"ws://{parts.netloc}"
        self._server: Server | None = None
        self.links: list[ProxiedLink] = []
        self.refused = 0
        self._refuse: list[tuple[int, dict[str, Any]]] = []  # (status, body) per handshake
        self.cut_when: Rule | None = None  # client event that makes the proxy cut the link
        self.hold_when: Rule | None = None  # provider event the proxy never delivers
        self.changed = asyncio.Event()

    async def __aenter__(self) -> Proxy:
        self._server = await serve(
            self._relay, "127.0.0.1", 0, process_request=self._admit, compression=None
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for link in self.links:
            for task in link.tasks:
                task.cancel()
            await asyncio.gather(*link.tasks, return_exceptions=True)
            await link.upstream.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    # -- faults ----------------------------------------------------------------------------

    def refuse(self, status: int, body: dict[str, Any] | None = None, times: int = 1) -> None:
        """Refuse the next ``times`` handshakes with ``status`` (and a JSON error body)."""
        self._refuse += [(status, body or {"error": {"message": f"HTTP {status}"}})] * times

    def cut(self, link: ProxiedLink | None = None) -> None:
        """Drop a connection (default: the latest) without a close frame."""
        target = link or self.links[-1]
        transport = target.client.transport
        if transport is not None:
            transport.abort()

    async def close(self, code: int, reason: str, link: ProxiedLink | None = None) -> None:
        """Close a connection (default: the latest) with ``code`` and ``reason``."""
        await (link or self.links[-1]).client.close(code, reason)

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()

    # -- relaying --------------------------------------------------------------------------

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        if not self._refuse:
            return None
        status, body = self._refuse.pop(0)
        self.refused += 1
        self.changed.set()
        return connection.respond(status, json.dumps(body))

    async def _relay(self, client: ServerConnection) -> None:
        assert client.request is not None
        auth = client.request.headers.get("Authorization", "")
        upstream = await connect(
            self._upstream + client.request.path,
            additional_headers={"Authorization": auth},
            compression=None,
            max_size=None,
        )
        link = ProxiedLink(len(self.links), client, upstream)
        self.links.append(link)
        self.changed.set()
        up = asyncio.create_task(self._client_to_upstream(link))
        down = asyncio.create_task(self._upstream_to_client(link))
        link.tasks += [up, down]
        await asyncio.wait([up, down], return_when="FIRST_COMPLETED")
        await upstream.close()

    async def _client_to_upstream(self, link: ProxiedLink) -> None:
        try:
            async for message in link.client:
                event = json.loads(message)
                link.sent.append(event)
                self.changed.set()
                if self.cut_when is not None and self.cut_when(link, event):
                    self.cut(link)
                    return
                await link.upstream.send(message)
        except ConnectionClosed:
            return

    async def _upstream_to_client(self, link: ProxiedLink) -> None:
        try:
            async for message in link.upstream:
                if self.hold_when is not None and self.hold_when(link, json.loads(message)):
                    continue
                await link.client.send(message)
        except ConnectionClosed:
            return
