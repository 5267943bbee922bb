"""An in-memory connection and a pass-through codec, to unit-test the session runtime.

The codec speaks liveloop's own events and actions as JSON, so these tests exercise the
runtime's logic alone; end-to-end tests in tests/e2e use the real plugins and emulator.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import TypeAdapter

import liveloop
from liveloop.actions import Action
from liveloop.errors import ConnectionLost
from liveloop.events import Event, SessionStarted, SessionUpdated
from liveloop.matrix import Capability
from liveloop.plugin import ProviderErrors
from liveloop.tools import tools_from

EVENTS: TypeAdapter[Event] = TypeAdapter(Event)

FEATURES = liveloop.plugin.Features(
    audio_in=True,
    audio_out=True,
    text=True,
    server_vad=True,
    interruption="client_truncates",
    tools=True,
    verbatim_say=True,
    media="events",
    audio_formats=("pcm16",),
)


class PassThroughCodec:
    """Wire messages are liveloop events (in) and actions (out), as JSON."""

    def decode(self, message: str | bytes) -> list[Event]:
        return [EVENTS.validate_json(message)]

    def encode(self, action: Action) -> list[str]:
        return [action.model_dump_json()]


class FakeConnection:
    """Records what the runtime sends; tests push provider events in."""

    media = None

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.incoming: asyncio.Queue[str | BaseException] = asyncio.Queue()
        self.closed = False
        self.on_send: Callable[[dict[str, Any]], None] | None = None

    async def send(self, message: str) -> None:
        data = json.loads(message)
        self.sent.append(data)
        if data["kind"] == "update_session":
            self.push(SessionUpdated())
        if self.on_send is not None:
            self.on_send(data)

    async def receive(self) -> str:
        item = await self.incoming.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def close(self) -> None:
        self.closed = True
        self.fail(ConnectionLost("closed"))  # like a real socket: a pending receive ends

    def push(self, event: Any) -> None:
        self.incoming.put_nowait(event.model_dump_json())

    def fail(self, exc: BaseException) -> None:
        self.incoming.put_nowait(exc)

    def sent_kinds(self, kind: str) -> list[dict[str, Any]]:
        return [message for message in self.sent if message["kind"] == kind]


ERRORS = ProviderErrors(
    codes={
        "conversation_already_has_active_response": "response_active",
        "response_cancel_not_active": "nothing_to_cancel",
        "invalid_api_key": "authentication",
    }
)
"""How the fake provider's error codes classify (a provider plugin declares these)."""

CAPABILITY = Capability(
    provider="fake",
    transport="memory",
    plugin="tests",
    version="0",
    provider_plugin="tests",
    provider_version="0",
    features=FEATURES,
)


class Links:
    """Hands out FakeConnections to a session's reconnects; ``refuse`` makes opens fail."""

    def __init__(self) -> None:
        self.opened: list[FakeConnection] = []
        self.refuse: BaseException | None = None
        self.attempts = 0  # reopen calls (reconnect attempts)

    def new(self) -> FakeConnection:
        connection = FakeConnection()
        connection.push(SessionStarted(session_id=f"sess_{len(self.opened)}"))
        self.opened.append(connection)
        return connection

    async def reopen(self) -> tuple[PassThroughCodec, FakeConnection]:
        self.attempts += 1
        if self.refuse is not None:
            raise self.refuse
        return PassThroughCodec(), self.new()


@pytest.fixture
async def make_runtime() -> AsyncIterator[Callable[..., Any]]:
    """Factory: ``await make_runtime(tools=[...], **config)`` -> (session, Links); sessions
    closed after."""
    sessions: list[liveloop.Session] = []

    async def make(tools: Any = (), **config: Any) -> tuple[liveloop.Session, Links]:
        links = Links()
        options: dict[str, Any] = {"provider": "fake", "transport": "memory", "tool_timeout": 1.0}
        session = liveloop.Session(
            config=liveloop.SessionConfig(**{**options, **config}),
            codec=PassThroughCodec(),
            connection=links.new(),
            capability=CAPABILITY,
            tools=tools_from(tools).values(),
            reopen=links.reopen,
            errors=ERRORS,
        )
        sessions.append(session)
        await session._start()
        return session, links

    try:
        yield make
    finally:
        for session in sessions:
            await session.close()


@pytest.fixture
async def runtime(
    make_runtime: Callable[..., Any],
) -> AsyncIterator[tuple[liveloop.Session, FakeConnection]]:
    """A started session over a FakeConnection (closed afterwards)."""
    session, links = await make_runtime()
    yield session, links.opened[0]
