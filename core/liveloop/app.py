"""Declaring session handlers: ``app = liveloop.App()``, ``@app.session("name", ...)``."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .calls import CallControl, PhoneCall
from .config import SessionConfig
from .connecting import connect
from .errors import LiveloopError, SessionClosed
from .log import bind_context, get_logger
from .session import Session
from .tools import Tool

__all__ = ["App", "Handler", "HandlerRun", "RouteCall", "SessionHandler"]

SessionHandler = Callable[[Session], Awaitable[None]]
"""A handler: ``async def handler(session: liveloop.Session) -> None``."""

RouteCall = Callable[[PhoneCall], "str | Awaitable[str | None] | None"]
"""``route_call(call) -> handler name | None`` (or an awaitable of it): picks the handler for
an incoming phone call; ``None`` rejects the call."""

_log = get_logger("liveloop.app")


@dataclass(frozen=True)
class Handler:
    """A declared handler: its name, function, session options and tools."""

    name: str
    function: SessionHandler
    options: dict[str, Any] = field(default_factory=dict)
    tools: tuple[Callable[..., Any] | Tool, ...] = ()
    record_dir: Path | None = None
    """Where each of its sessions is recorded (a WAV and a transcript per session)."""

    def recording(self, record_dir: str | os.PathLike[str] | None = None) -> Path | None:
        """The recording path (no suffix) for a new session: in ``record_dir`` (default:
        the handler's), named by time and handler, or ``None`` when not recording."""
        folder = Path(record_dir) if record_dir is not None else self.record_dir
        if folder is None:
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return folder / f"{stamp}-{self.name}-{uuid.uuid4().hex[:6]}"

    def config(self, **overrides: Any) -> SessionConfig:
        """The session configuration this handler runs with (``overrides`` applied)."""
        tool_defs = [Tool.from_function(tool).definition for tool in self.tools]
        data = {**self.options, **overrides}
        if tool_defs:
            data["tools"] = tool_defs
        return SessionConfig.model_validate(data)


class App:
    """A set of named session handlers, run directly or served by ``liveloop serve``.

    ``defaults`` are session options shared by every handler. ``authorize`` is the
    callable a server asks before opening a session for a caller (``liveloop serve``
    refuses to start without one unless told it is a development server). ``route_call``
    picks the handler of an incoming phone call (see :meth:`route`).
    """

    def __init__(
        self,
        *,
        authorize: Callable[..., Any] | None = None,
        route_call: RouteCall | None = None,
        **defaults: Any,
    ) -> None:
        self.authorize = authorize
        self.route_call = route_call
        self.defaults = defaults
        self.handlers: dict[str, Handler] = {}

    def session(
        self,
        name: str | None = None,
        *,
        tools: Iterable[Callable[..., Any] | Tool] = (),
        record_dir: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> Callable[[SessionHandler], SessionHandler]:
        """Declare a handler: ``@app.session("concierge", instructions=..., tools=[...])``.

        The options are validated now, so a mistake fails at import, not at the first call.
        ``record_dir`` records every session of the handler there (a WAV and a JSON Lines
        transcript each, see :mod:`liveloop.recording`).
        """

        def decorate(function: SessionHandler) -> SessionHandler:
            handler_name = name or function.__name__
            if handler_name in self.handlers:
                raise LiveloopError(f"a session handler named {handler_name!r} already exists")
            folder = Path(record_dir) if record_dir is not None else None
            options_ = {**self.defaults, **options}
            handler = Handler(handler_name, function, options_, tuple(tools), folder)
            handler.config()  # validate early
            self.handlers[handler_name] = handler
            return function

        return decorate

    def record_to(self, record_dir: str | os.PathLike[str]) -> None:
        """Record every session of every handler declared so far in ``record_dir``
        (``liveloop serve --record DIR``); see :mod:`liveloop.recording`."""
        folder = Path(record_dir)
        for name, handler in self.handlers.items():
            self.handlers[name] = dataclasses.replace(handler, record_dir=folder)

    def handler(self, name: str | None = None) -> Handler:
        """The handler called ``name`` (or the only one)."""
        if name is None:
            if len(self.handlers) != 1:
                raise LiveloopError(
                    f"name the handler to run (declared: {', '.join(self.handlers) or 'none'})"
                )
            return next(iter(self.handlers.values()))
        try:
            return self.handlers[name]
        except KeyError:
            declared = ", ".join(self.handlers) or "none"
            raise LiveloopError(f"no session handler {name!r} (declared: {declared})") from None

    async def route(self, call: PhoneCall, name: str | None = None) -> Handler | None:
        """The handler for an incoming phone call, or ``None`` to reject it.

        With ``route_call`` set, it decides (it gets the call's details and returns a
        handler name or ``None``; an unknown name rejects the call, logged). Otherwise
        the handler ``name`` (the one named in the route's path), else the only handler.
        """
        if self.route_call is not None:
            chosen = self.route_call(call)
            if inspect.isawaitable(chosen):
                chosen = await chosen
            if chosen is None:
                return None
            if chosen not in self.handlers:
                _log.error("route_call named no declared handler", handler=chosen)
                return None
            return self.handlers[chosen]
        if name is not None:
            return self.handlers.get(name)
        return next(iter(self.handlers.values())) if len(self.handlers) == 1 else None

    @asynccontextmanager
    async def start(
        self,
        name: str | None = None,
        *,
        call: PhoneCall | None = None,
        call_control: CallControl | None = None,
        **overrides: Any,
    ) -> AsyncIterator[HandlerRun]:
        """Open a session and run handler ``name`` on it in a task, yielding a
        :class:`HandlerRun` (its ``session`` is what a caller or a test drives).

        ``call`` and ``call_control`` make the session serve a phone call (servers pass
        them). On exit the handler is cancelled if still running and the session closed.
        ``record=PATH`` or ``record_dir=DIR`` record this session (``record_dir`` defaults
        to the handler's; see :mod:`liveloop.recording`).
        """
        handler = self.handler(name)
        record = overrides.pop("record", None) or handler.recording(
            overrides.pop("record_dir", None)
        )
        options = {**handler.options, **overrides}
        async with connect(tools=handler.tools, record=record, **options) as session:
            if call is not None and call_control is not None:
                session.attach_call(call, call_control)
            task = asyncio.create_task(
                _run_handler(handler, session), name=f"handler-{handler.name}"
            )
            try:
                yield HandlerRun(handler, session, task)
            finally:
                if not task.done():
                    task.cancel()
                await asyncio.wait({task}, timeout=1.0)

    async def run(self, name: str | None = None, **overrides: Any) -> None:
        """Run handler ``name`` on a fresh session until it returns or the session ends.

        The session is always closed afterwards. A handler that raises has its exception
        logged with the session id and re-raised; a session that ends under the handler
        (the user hung up) is a normal end.
        """
        async with self.start(name, **overrides) as run:
            await run.wait()


@dataclass
class HandlerRun:
    """A handler running on a live session."""

    handler: Handler
    session: Session
    task: asyncio.Task[None]

    async def wait(self, timeout: float | None = None) -> None:
        """Wait (at most ``timeout`` seconds) for the handler to finish; re-raise its error."""
        async with asyncio.timeout(timeout):
            await asyncio.shield(self.task)


async def _run_handler(handler: Handler, session: Session) -> None:
    with bind_context(session_id=session.id, handler=handler.name):
        try:
            await handler.function(session)
        except SessionClosed as exc:
            if exc.cause is not None:
                _log.warning("session ended under the handler", reason=str(exc))
        except Exception:
            _log.exception("session handler raised", handler=handler.name)
            await session.close()
            raise
