"""The server behind ``liveloop serve``: the app's handlers, the guards, the registry of live
calls and the store, and the routes the installed plugins contribute (``register_routes``).

:class:`Server` is what a route plugin's ``RouteSpec.routes(server)`` gets: everything a
route needs to check a caller and run a handler on a call. :func:`create_app` builds the
Starlette app around it.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

import liveloop
from liveloop import LiveloopError, get_logger
from liveloop.app import Handler
from liveloop.plugin import RouteSpec, get_plugin_manager

from .guards import Guards, read_body
from .ratelimit import Rate, RateLimiter
from .registry import CapacityError, Registry
from .responses import PAGE_HEADERS, SECURITY_HEADERS, error
from .store import Store, open_store

__all__ = [
    "DEFAULT_AUTH_FAILURES",
    "DEFAULT_DRAIN_TIMEOUT",
    "DEFAULT_LEASE",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_PER_CALLER",
    "DEFAULT_MAX_SESSIONS",
    "DEFAULT_RATE",
    "DEFAULT_SECRET_TTL",
    "DRAIN_REASON",
    "ServeError",
    "Server",
    "create_app",
]

_log = get_logger("liveloop.serve")

DEFAULT_MAX_SESSIONS = 20
"""Concurrent calls of the whole deployment (all workers sharing a store); more get ``503``."""
DEFAULT_MAX_PER_CALLER = 2
"""Concurrent calls one caller may hold; more get ``429``."""
DEFAULT_RATE = Rate(10, 60.0)
"""Session starts (offers and client secrets) per caller: 10 a minute."""
DEFAULT_AUTH_FAILURES = Rate(20, 60.0)
"""Failed authorizations per client address before it gets ``429``: 20 a minute."""
DEFAULT_MAX_BODY_BYTES = 64 * 1024
"""Largest request body a route reads (a browser's SDP offer is 3-8 KB)."""
DEFAULT_BODY_TIMEOUT = 10.0
"""Seconds a request body has to arrive in full; slower gets ``408``."""
DEFAULT_SECRET_TTL = 60
"""Lifetime of the client secrets a route mints, in seconds."""
DEFAULT_CONNECT_TIMEOUT = 15.0
"""Seconds a caller has to confirm its media connected before its call is hung up."""
DEFAULT_LEASE = 10.0
"""Seconds a call's slot outlives its worker's last renewal (renewed every third of it)."""
PROVIDER_TIMEOUT = 10.0
CAP_RETRY_AFTER = 5
DRAIN_REASON = "the server is draining"
"""What a handler's ``SessionClosed`` says when a draining server ends its call."""
DEFAULT_DRAIN_TIMEOUT = 30.0
"""Seconds active calls may run on after SIGTERM before they are ended."""
READY_TIMEOUT = 1.0

_STATIC_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}\.(html|js|mjs|css|svg|png|ico|wav)$")


class ServeError(LiveloopError):
    """``liveloop serve`` cannot start: no ``authorize``, no key, a bad option, a route clash."""


class Server:
    """The state and the checks of one ``liveloop serve`` worker (see :func:`create_app`).

    ``connect_timeout``: a route that asks for it (``Registry.start(connect_within=...)``)
    hangs up a call whose caller has not confirmed its media connected in that many
    seconds (``None`` or ``0``: never).
    ``provider_base_url`` and ``api_key`` are what the routes use to reach the provider; a
    route plugin falls back to its provider's environment variables when they are ``None``.
    ``public_url`` is the server's URL as the outside world reaches it (behind a proxy:
    ``https://voice.example.com``); routes that sign or hand out URLs (phone webhooks) use
    it instead of the request's ``Host``.
    """

    def __init__(
        self,
        app: liveloop.App,
        *,
        provider_base_url: str | None = None,
        api_key: str | SecretStr | None = None,
        insecure_dev: bool = False,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        max_per_caller: int = DEFAULT_MAX_PER_CALLER,
        rate: Rate | str = DEFAULT_RATE,
        auth_failures: Rate | str = DEFAULT_AUTH_FAILURES,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        secret_ttl: int = DEFAULT_SECRET_TTL,
        static_dir: str | Path | None = None,
        http_client: httpx.AsyncClient | None = None,
        store: Store | str | None = None,
        lease: float = DEFAULT_LEASE,
        connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
        public_url: str | None = None,
    ) -> None:
        if app.authorize is None and not insecure_dev:
            raise ServeError(
                "refusing to serve without an authorize callable: give liveloop.App("
                "authorize=...) one that identifies callers, or use --insecure-dev for a "
                "development server that admits everyone"
            )
        if max_sessions < 1 or max_per_caller < 1:
            raise ServeError("max_sessions and max_per_caller must be at least 1")
        if not 10 <= secret_ttl <= 7200:
            raise ServeError("secret_ttl must be between 10 and 7200 seconds")
        if lease < 1:
            raise ServeError("the call lease must be at least 1 second")
        if public_url is not None and not re.match(r"^https?://[^/?#\s]+$", public_url.rstrip("/")):
            raise ServeError(f"--public-url must be http(s)://host[:port], not {public_url!r}")
        self.app = app
        self.insecure_dev = insecure_dev
        self.public_url = public_url.rstrip("/") if public_url else None
        self.provider_base_url = provider_base_url.rstrip("/") if provider_base_url else None
        self.api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.connect_timeout = connect_timeout or None
        self.secret_ttl = secret_ttl
        self.static_dir = Path(static_dir).resolve() if static_dir is not None else None
        try:
            self.store = store if isinstance(store, Store) else open_store(store)
        except ValueError as exc:
            raise ServeError(str(exc)) from None
        self.instance = secrets.token_hex(4)
        self.guards = Guards(
            None if insecure_dev and app.authorize is None else app.authorize,
            starts=RateLimiter(_rate(rate), self.store.rate_storage, namespace="starts"),
            failures=RateLimiter(_rate(auth_failures), self.store.rate_storage, namespace="auth"),
        )
        self.registry = Registry(
            app, self.store, max_sessions=max_sessions, max_per_caller=max_per_caller, lease=lease
        )
        self.draining = False
        self._client = http_client
        self._own_client = http_client is None

    # -- what routes use ----------------------------------------------------------------------

    @property
    def calls(self) -> dict[str, Any]:
        """This worker's live calls by id."""
        return self.registry.calls

    @property
    def active(self) -> int:
        """Calls this worker runs or sets up."""
        return self.registry.active

    def handler(self, name: str) -> Handler | None:
        """The app's handler called ``name``."""
        return self.app.handlers.get(name)

    async def identify(self, request: Request) -> str | Response:
        """The caller's identity, or the refusal to answer with (see :class:`Guards`)."""
        return await self.guards.identify(request)

    async def limit(self, identity: str) -> Response | None:
        """Count a session start for ``identity``; the ``429`` when over the rate."""
        return await self.guards.limit(identity)

    async def read_body(
        self, request: Request, *kinds: str, what: str = "the body"
    ) -> bytes | Response:
        """The body, checked for type, size and time (``max_body_bytes``,
        ``body_timeout``), or the refusal."""
        return await read_body(
            request,
            kinds=kinds,
            max_bytes=self.max_body_bytes,
            timeout=self.body_timeout,
            what=what,
        )

    async def reserve(self, identity: str, slot: str | None = None) -> str | Response:
        """A slot for a call of ``identity`` (see :meth:`Registry.reserve`), or the ``503``
        (draining or full) / ``429`` (the caller's cap) to answer with."""
        if self.draining:
            return error(
                503,
                "draining",
                "the server is shutting down; try again",
                {"Retry-After": str(CAP_RETRY_AFTER)},
            )
        try:
            return await self.registry.reserve(identity, slot)
        except CapacityError as full:
            if full.scope == "caller":
                return error(
                    429,
                    "too_many_calls",
                    f"this caller already has {self.registry.max_per_caller} calls",
                    {"Retry-After": str(CAP_RETRY_AFTER)},
                )
            return error(
                503,
                "at_capacity",
                "the server runs as many sessions as it may; try again shortly",
                {"Retry-After": str(CAP_RETRY_AFTER)},
            )

    def http(self) -> httpx.AsyncClient:
        """The HTTP client for provider requests (shared; closed with the server)."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=PROVIDER_TIMEOUT)
        return self._client

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect the store and start the registry's background jobs; raises
        :class:`ServeError` when the store does not answer."""
        await self.store.start()
        try:
            await asyncio.wait_for(self.store.ping(), READY_TIMEOUT * 5)
        except Exception as exc:
            raise ServeError(f"the store does not answer: {type(exc).__name__}: {exc}") from None
        await self.registry.start_background()

    async def drain(self, timeout: float) -> None:
        """Stop taking calls (offers get ``503``, ``/readyz`` says not ready), let the
        active calls run for up to ``timeout`` seconds, then end the rest: their handlers'
        sessions close with ``SessionClosed("the server is draining")``."""
        self.draining = True
        _log.warning("draining", active=self.active, timeout=timeout)
        await self.registry.drain(timeout, DRAIN_REASON)

    async def aclose(self) -> None:
        """Hang up every call of this worker (bounded), then release the store and client."""
        await self.registry.aclose()
        await self.store.aclose()
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def healthz(self, request: Request) -> Response:
        """``GET /healthz``: the process is alive."""
        return JSONResponse({"ok": True}, headers=SECURITY_HEADERS)

    async def readyz(self, request: Request) -> Response:
        """``GET /readyz``: ``200`` while this worker accepts calls; ``503`` while it drains
        or when its store does not answer (a load balancer then sends calls elsewhere)."""
        try:
            store_ok = await asyncio.wait_for(self.store.ping(), READY_TIMEOUT)
        except Exception:
            store_ok = False
        ready = store_ok and not self.draining
        body = {"ready": ready, "draining": self.draining, "store": store_ok}
        return JSONResponse(body, status_code=200 if ready else 503, headers=SECURITY_HEADERS)

    async def static(self, request: Request) -> Response:
        """The static directory's top-level pages and scripts (``/`` is ``index.html``)."""
        name = request.path_params.get("file", "index.html")
        if self.static_dir is None or not _STATIC_NAME.match(name):
            return error(404, "not_found", "not found")
        path = self.static_dir / name
        if not path.is_file():
            return error(404, "not_found", "not found")
        return FileResponse(path, headers=PAGE_HEADERS)


def _rate(rate: Rate | str) -> Rate:
    try:
        return Rate.parse(rate) if isinstance(rate, str) else rate
    except ValueError as exc:
        raise ServeError(str(exc)) from None


def _plugin_routes(server: Server, specs: Sequence[tuple[str, RouteSpec]]) -> list[BaseRoute]:
    built: list[BaseRoute] = []
    owners: dict[tuple[str, str], str] = {}
    for plugin, spec in specs:
        for route in spec.routes(server):
            if isinstance(route, WebSocketRoute):
                keys = [(route.path, "WEBSOCKET")]
            elif isinstance(route, Route):
                keys = [(route.path, method) for method in sorted(route.methods or ())]
            else:
                raise ServeError(f"routes {spec.name!r} ({plugin}) gave {route!r}, not a route")
            for key in keys:
                if key in owners:
                    raise ServeError(
                        f"{key[1]} {key[0]} is served twice: by {owners[key]} and by "
                        f"{spec.name!r} ({plugin}); uninstall one of them"
                    )
                owners[key] = f"{spec.name!r} ({plugin})"
            built.append(route)
    return built


def create_app(
    app: liveloop.App,
    *,
    routes: Sequence[RouteSpec] | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    middleware: Sequence[Middleware] = (),
    **settings: Any,
) -> Starlette:
    """The ASGI app of ``liveloop serve`` for ``app``.

    ``routes`` defaults to every :class:`~liveloop.plugin.RouteSpec` the installed plugins
    register; ``extra_routes`` and ``middleware`` are added as given (before the static
    files). ``settings`` are :class:`Server`'s options. The :class:`Server` is at
    ``asgi.state.liveloop``; the app's lifespan starts it and, at the end, hangs up every
    call. Raises :class:`ServeError` when the server cannot start.
    """
    server = Server(app, **settings)
    if routes is None:
        specs = [(reg.distribution, reg.spec) for reg in get_plugin_manager().routes()]
    else:
        specs = [("given", spec) for spec in routes]
    contributed = _plugin_routes(server, specs)
    if not contributed:
        _log.warning("no plugin contributes routes: only static files are served")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await server.start()
        try:
            yield
        finally:
            await server.aclose()

    asgi = Starlette(
        routes=[
            *contributed,
            *extra_routes,
            Route("/healthz", server.healthz, methods=["GET"]),
            Route("/readyz", server.readyz, methods=["GET"]),
            Route("/", server.static, methods=["GET", "HEAD"]),
            Route("/{file}", server.static, methods=["GET", "HEAD"]),
        ],
        middleware=list(middleware),
        lifespan=lifespan,
    )
    asgi.state.liveloop = server
    return asgi


def env_key(name: str | None) -> SecretStr | None:
    """The key in environment variable ``name`` (for route plugins), or ``None``."""
    value = os.environ.get(name) if name else None
    return SecretStr(value) if value else None
