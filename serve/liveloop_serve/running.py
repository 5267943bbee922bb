"""Running the app: :func:`serving` (uvicorn in this event loop, for tests and embedding) and
:func:`run_server` (what ``liveloop serve`` runs)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette

from liveloop import get_logger
from liveloop.loops import choice

from .connections import ConnectionGuard, default_max_connections, protocol_for
from .server import DEFAULT_DRAIN_TIMEOUT, DRAIN_REASON, ServeError, Server, create_app
from .telemetry import Telemetry, otlp_from_env

__all__ = ["EMULATOR_KEY", "default_static_dir", "run_server", "serving"]

_log = get_logger("liveloop.serve")

DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a connection has to send a request's headers (see ``connections``)."""
EMULATOR_KEY = "sk-liveloop-serve-emulator"
"""The key ``--emulator`` gives the bundled emulator (a local stand-in, not a secret)."""
WS_MAX_BYTES = 64 * 1024
"""Largest WebSocket message a route accepts (a carrier's 20 ms media message is ~400 B)."""


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers (the embedding program owns them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


def _listen(host: str, port: int) -> socket.socket:
    # uvicorn reports a bind error with a traceback and exits from inside its task.
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.create_server((host, port), family=family)
    except (OSError, OverflowError) as exc:
        errno = getattr(exc, "errno", None)
        reason = os.strerror(errno) if errno else str(exc)
        raise ServeError(f"cannot listen on {host}:{port}: {reason}") from None
    # Accepted connections inherit it: asyncio sets TCP_NODELAY only on sockets made with
    # proto=IPPROTO_TCP (create_server's have proto 0), and with Nagle on, a small frame
    # sent right after another waits for the peer's delayed ACK (about 40 ms on Linux).
    listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listening


@asynccontextmanager
async def serving(
    asgi: Starlette, *, host: str = "127.0.0.1", port: int = 0, signals: bool = False
) -> AsyncIterator[str]:
    """Run ``asgi`` with uvicorn in this event loop; yields its base URL (``http://…``).

    ``port=0`` picks a free port. On exit the server stops (lifespan shutdown included).
    """
    config = uvicorn.Config(
        asgi,
        host=host,
        port=port,
        lifespan="on",
        log_level="warning",
        log_config=None,  # the host process owns logging (liveloop.configure_logging)
        ws="auto",  # route plugins may serve WebSockets (carrier media streams)
        ws_max_size=WS_MAX_BYTES,
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config) if signals else _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise ServeError("the server stopped during startup")
        await asyncio.sleep(0.01)
    sockets = [sock for srv in server.servers for sock in (srv.sockets or ())]
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    try:
        yield f"http://{shown}:{bound}"
    finally:
        server.should_exit = True
        done, _ = await asyncio.wait({task}, timeout=5.0)
        if not done:
            task.cancel()


class _DrainingServer(uvicorn.Server):
    """uvicorn that drains on SIGTERM or Ctrl-C instead of stopping at once.

    The first signal starts :meth:`Server.drain` (the listening socket stays open, so new
    offers get ``503``); once the calls are over, uvicorn shuts down and the process exits
    with 0. A second signal ends the remaining calls now.
    """

    def __init__(self, config: uvicorn.Config, server: Server, drain_timeout: float) -> None:
        super().__init__(config)
        self._server = server
        self._drain_timeout = drain_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[Any] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: Any) -> None:
        # A signal handler: the loop is this thread's, but not running a coroutine now.
        if self._loop is None or not self.started:
            super().handle_exit(sig, frame)
        elif self._drain is None:
            self._loop.call_soon_threadsafe(self._start_drain)
        else:
            self._loop.call_soon_threadsafe(self._drain.cancel)

    def _start_drain(self) -> None:
        self._drain = asyncio.ensure_future(self._drain_then_exit())

    async def _drain_then_exit(self) -> None:
        try:
            await self._server.drain(self._drain_timeout)
        except asyncio.CancelledError:
            _log.warning("second signal: ending the calls now")
            await self._server.registry.drain(0, DRAIN_REASON)
        finally:
            self.should_exit = True


def default_static_dir(target: str) -> Path | None:
    """The directory of ``target``'s module when it holds an ``index.html``."""
    module = sys.modules.get(target.partition(":")[0])
    filename = getattr(module, "__file__", None)
    if filename is None:
        return None
    folder = Path(filename).resolve().parent
    return folder if (folder / "index.html").is_file() else None


async def run_server(
    target: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    emulator: bool = False,
    static_dir: str | Path | None = None,
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
    max_connections: int | None = None,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    record_dir: str | Path | None = None,
    metrics: bool = False,
    otlp: str | None = None,
    **settings: Any,
) -> None:
    """What ``liveloop serve`` runs: load ``module:app``, optionally start the bundled
    emulator as the provider, serve until SIGTERM or Ctrl-C, then drain: new calls get
    ``503``, active calls run for up to ``drain_timeout`` seconds, then end.
    ``metrics`` serves Prometheus text at ``/metrics``; ``otlp`` exports traces and
    metrics to that OTLP/HTTP endpoint. ``settings`` are :class:`~liveloop_serve.Server`'s
    options."""
    from liveloop.console import load_app

    app = load_app(target)
    if record_dir is not None:
        app.record_to(record_dir)  # a recording per call, see liveloop.recording
    async with contextlib.AsyncExitStack() as stack:
        if emulator:
            try:
                from liveloop_emulator import Emulator
            except ImportError:
                raise ServeError(
                    "--emulator needs the bundled emulator: pip install liveloop-emulator"
                ) from None
            running = await stack.enter_async_context(Emulator())
            settings.update(api_key=EMULATOR_KEY, provider_base_url=running.base_url)
        telemetry = None
        if metrics or otlp is not None or otlp_from_env():
            telemetry = Telemetry(metrics=metrics, otlp=otlp)
            # Spans of the last calls are flushed after the drain, before the exit.
            stack.push_async_callback(asyncio.to_thread, telemetry.shutdown)
        asgi = create_app(
            app,
            static_dir=static_dir if static_dir is not None else default_static_dir(target),
            extra_routes=telemetry.routes if telemetry else (),
            **settings,
        )
        server: Server = asgi.state.liveloop
        try:  # a store that does not answer is one line, not uvicorn's startup traceback
            await asyncio.wait_for(server.store.ping(), 5.0)
        except Exception as exc:
            await server.store.aclose()
            raise ServeError(f"the store does not answer: {type(exc).__name__}: {exc}") from None
        guard = ConnectionGuard(
            max_connections=max_connections or default_max_connections(),
            header_timeout=header_timeout,
        )
        # The command runs on liveloop's loop choice (uvloop unless LIVELOOP_LOOP=asyncio,
        # see liveloop.loops); uvicorn is told the same.
        config = uvicorn.Config(
            asgi,
            loop=choice(),
            host=host,
            port=port,
            http=protocol_for(guard),
            timeout_keep_alive=5,
            lifespan="on",
            log_config=None,
            # the cheapest of uvicorn's three per message (bench/_phone_ws.py), as "auto" picks
            # today: carrier media streams exchange 100 messages a second per call
            ws="websockets-sansio",
            ws_max_size=WS_MAX_BYTES,
            ws_per_message_deflate=False,
        )
        listening = _listen(host, port)  # bound first: "listening" is said once it is true
        _log.warning(
            "liveloop serve listening",
            url=f"http://{host}:{listening.getsockname()[1]}",
            provider="the bundled emulator" if emulator else server.provider_base_url,
            handlers=sorted(app.handlers),
            static=str(server.static_dir) if server.static_dir else None,
            insecure_dev=server.insecure_dev,
        )
        await _DrainingServer(config, server, drain_timeout).serve(sockets=[listening])
