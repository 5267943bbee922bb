"""``liveloop serve``: browsers talk to the provider over WebRTC, handlers run here.

The browser posts its SDP offer to ``POST /sessions/{name}/offer``. This server asks the
app's ``authorize`` callable who the caller is, applies the caller's rate limit and the
concurrent-session cap, checks the offer (content type, size, that it is an SDP offer
with audio), adds handler ``name``'s session configuration and forwards both to the
provider's ``POST /v1/realtime/calls`` with the server's key. The SDP answer goes back
to the browser (``201``, ``Location: /sessions/{name}/calls/{id}``), and the handler runs
in this process over a sideband WebSocket attached to the call
(``openai/webrtc_sideband``): ``input()`` gets the browser user's turns, ``say()`` speaks
into the browser's audio, tools run here. The browser never sees the server's key.

Other routes: ``POST /sessions/{name}/calls/{id}/hangup`` (only by the caller that opened
the call), ``POST /client_secrets/{name}`` (a short-lived ``ek_`` secret for apps whose
browser talks to the provider directly; the handler does not run then), and the files of
a static directory (the browser example) at ``/``.

State (live calls, rate-limit windows) lives in the worker process that accepted the
offer; see ``docs/serve.md`` for deployments with several workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import math
import os
import re
import secrets
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

import liveloop
from liveloop import LiveloopError, get_logger
from liveloop.app import Handler
from liveloop.log import bind_context
from liveloop_openai.session_config import session_update_payload

from ._ratelimit import Rate, RateLimiter
from .peer import calls_url

__all__ = [
    "DEFAULT_MAX_OFFER_BYTES",
    "DEFAULT_MAX_SESSIONS",
    "DEFAULT_RATE",
    "DEFAULT_SECRET_TTL",
    "SIDEBAND_TRANSPORT",
    "ServeError",
    "SessionServer",
    "check_offer",
    "create_app",
    "serving",
]

_log = get_logger("liveloop.serve")

DEFAULT_MAX_SESSIONS = 20
"""Concurrent calls one server (worker process) runs; more get ``503``."""
DEFAULT_RATE = Rate(10, 60.0)
"""Session starts (offers and client secrets) per caller: 10 a minute."""
DEFAULT_MAX_OFFER_BYTES = 64 * 1024
"""Largest SDP offer accepted (a browser's audio + data channel offer is 3-8 KB)."""
DEFAULT_SECRET_TTL = 60
"""Lifetime of the client secrets ``/client_secrets/{name}`` mints, in seconds."""
SIDEBAND_TRANSPORT = "webrtc_sideband"
PROVIDER_TIMEOUT = 10.0
HANGUP_TIMEOUT = 3.0
END_TIMEOUT = 2.0
CAP_RETRY_AFTER = 5

_STATIC_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}\.(html|js|mjs|css|svg|png|ico|wav)$")
_CALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_PAGE_HEADERS = {
    **_SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "media-src 'self' blob: mediastream:; img-src 'self' data:; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
}

Authorize = Callable[[Request], Any]
"""``authorize(request) -> identity | None`` (or an awaitable of it); see :class:`SessionServer`."""


class ServeError(LiveloopError):
    """``liveloop serve`` cannot start: no ``authorize``, no key, a bad option."""


@dataclass
class _Call:
    id: str
    name: str
    owner: str
    call_id: str
    session: liveloop.Session | None = None
    task: asyncio.Task[None] | None = None
    hung_up: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={**_SECURITY_HEADERS, **(headers or {})},
    )


def check_offer(sdp: str) -> str | None:
    """Why ``sdp`` is not a usable WebRTC audio offer, or ``None`` when it looks like one."""
    if not sdp.startswith("v=0"):
        return "the offer is not SDP (it must start with v=0)"
    lines = sdp.replace("\r\n", "\n").split("\n")
    if not any(line.startswith("m=audio ") for line in lines):
        return "the offer has no audio section (m=audio)"
    if any("\x00" in line for line in lines):
        return "the offer holds a NUL byte"
    return None


class SessionServer:
    """The state and routes behind :func:`create_app`.

    ``app.authorize(request)`` (sync or async) decides who may open a session: it returns
    the caller's identity — any non-empty value; ``str()`` of it keys the rate limit and
    call ownership — or ``None``/``False`` to refuse (``401``); raising
    :class:`PermissionError` refuses with ``403``. ``True`` admits the caller without an
    identity, which is then the client address. Without ``authorize`` the server starts
    only with ``insecure_dev=True`` (every caller admitted, keyed by address).
    """

    def __init__(
        self,
        app: liveloop.App,
        *,
        provider_base_url: str | None = None,
        api_key: str | SecretStr | None = None,
        insecure_dev: bool = False,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        rate: Rate | str = DEFAULT_RATE,
        max_offer_bytes: int = DEFAULT_MAX_OFFER_BYTES,
        secret_ttl: int = DEFAULT_SECRET_TTL,
        static_dir: str | Path | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if app.authorize is None and not insecure_dev:
            raise ServeError(
                "refusing to serve without an authorize callable: give liveloop.App("
                "authorize=...) one that identifies callers, or use --insecure-dev for a "
                "development server that admits everyone"
            )
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ServeError("no provider key: set OPENAI_API_KEY (or use --emulator)")
        if max_sessions < 1:
            raise ServeError("max_sessions must be at least 1")
        if not 10 <= secret_ttl <= 7200:
            raise ServeError("secret_ttl must be between 10 and 7200 seconds")
        self.app = app
        self.insecure_dev = insecure_dev
        self.base_url = (
            provider_base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        ).rstrip("/")
        self._key = key if isinstance(key, SecretStr) else SecretStr(key)
        self.max_sessions = max_sessions
        self.limiter = RateLimiter(Rate.parse(rate) if isinstance(rate, str) else rate)
        self.max_offer_bytes = max_offer_bytes
        self.secret_ttl = secret_ttl
        self.static_dir = Path(static_dir).resolve() if static_dir is not None else None
        self.calls: dict[str, _Call] = {}
        self._reserved = 0
        self._client = http_client
        self._own_client = http_client is None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def active(self) -> int:
        """Calls running or being set up (what the cap counts)."""
        return self._reserved

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=PROVIDER_TIMEOUT)
        return self._client

    async def aclose(self) -> None:
        """Hang up every call, end every handler (bounded), release the HTTP client."""
        calls = list(self.calls.values())
        if calls:
            await asyncio.wait(
                [asyncio.create_task(self._end(call)) for call in calls],
                timeout=HANGUP_TIMEOUT + END_TIMEOUT,
            )
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- caller identity --------------------------------------------------------------------

    async def _identify(self, request: Request) -> str | Response:
        host = request.client.host if request.client is not None else "unknown"
        authorize = self.app.authorize
        if authorize is None:
            return f"address:{host}"
        try:
            result = authorize(request)
            if inspect.isawaitable(result):
                result = await result
        except PermissionError:
            return _error(403, "forbidden", "this caller may not open sessions")
        except Exception:
            _log.exception("authorize raised; refusing the request")
            return _error(403, "forbidden", "authorization failed")
        if result is None or result is False or result == "":
            return _error(
                401,
                "unauthorized",
                "authorization required",
                {"WWW-Authenticate": 'Bearer realm="liveloop"'},
            )
        if result is True:
            return f"address:{host}"
        return f"id:{result}"

    def _handler(self, name: str) -> Handler | None:
        return self.app.handlers.get(name)

    def _limit(self, identity: str) -> Response | None:
        wait = self.limiter.acquire(identity)
        if wait is None:
            return None
        return _error(
            429,
            "rate_limited",
            f"too many sessions started; at most {self.limiter.rate}",
            {"Retry-After": str(max(1, math.ceil(wait)))},
        )

    # -- routes -----------------------------------------------------------------------------

    async def offer(self, request: Request) -> Response:
        """``POST /sessions/{name}/offer``: an SDP offer in, the provider's answer out."""
        identity = await self._identify(request)
        if isinstance(identity, Response):
            return identity
        name = request.path_params["name"]
        handler = self._handler(name)
        if handler is None:
            return _error(404, "not_found", "no such session handler")
        refused = self._limit(identity)
        if refused is not None:
            return refused
        sdp_or_error = await self._read_offer(request)
        if isinstance(sdp_or_error, Response):
            return sdp_or_error
        if self._reserved >= self.max_sessions:
            return _error(
                503,
                "at_capacity",
                "the server runs as many sessions as it may; try again shortly",
                {"Retry-After": str(CAP_RETRY_AFTER)},
            )
        self._reserved += 1
        started = False
        try:
            response, started = await self._open_call(name, handler, identity, sdp_or_error)
            return response
        finally:
            if not started:
                self._reserved -= 1

    async def _read_offer(self, request: Request) -> str | Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/sdp":
            return _error(415, "unsupported_media_type", "the offer must be application/sdp")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_offer_bytes):
            return _error(413, "too_large", f"the offer exceeds {self.max_offer_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_offer_bytes:
                return _error(413, "too_large", f"the offer exceeds {self.max_offer_bytes} bytes")
        try:
            sdp = body.decode("utf-8")
        except UnicodeDecodeError:
            return _error(400, "invalid_offer", "the offer is not UTF-8 text")
        problem = check_offer(sdp)
        if problem is not None:
            return _error(400, "invalid_offer", problem)
        return sdp

    async def _open_call(
        self, name: str, handler: Handler, owner: str, sdp: str
    ) -> tuple[Response, bool]:
        # Returns whether a call started: its task then owns the reserved slot.
        try:
            session_json = json.dumps(session_update_payload(handler.config()))
        except LiveloopError as exc:
            _log.error("the handler's session config cannot be sent", error=str(exc))
            return _error(500, "bad_handler_config", "the session handler is misconfigured"), False
        url = calls_url(self.base_url)
        files = {
            "sdp": (None, sdp.encode(), "application/sdp"),
            "session": (None, session_json.encode(), "application/json"),
        }
        try:
            response = await self._http().post(
                url, files=files, headers=self._auth_headers({"Accept": "application/sdp"})
            )
        except httpx.HTTPError as exc:
            _log.warning("the provider could not be reached", url=url, error=str(exc))
            return _error(502, "provider_unreachable", "the provider could not be reached"), False
        location = response.headers.get("location", "")
        call_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not response.is_success or not response.text.startswith("v=0"):
            _log.warning(
                "the provider refused the call",
                status=response.status_code,
                detail=_provider_message(response),
            )
            if response.status_code == 400:
                return _error(400, "offer_rejected", "the provider rejected the offer"), False
            return _error(502, "provider_refused", "the provider did not accept the call"), False
        if not _CALL_ID.match(call_id):
            _log.warning("the provider's answer had no usable call id", location=location)
            return _error(502, "provider_refused", "the provider did not accept the call"), False
        call = _Call(id=secrets.token_urlsafe(18), name=name, owner=owner, call_id=call_id)
        self.calls[call.id] = call
        call.task = asyncio.create_task(self._run(call, handler), name=f"serve-{call.id[:8]}")
        _log.info("call started", handler=name, call_id=call_id, active=self._reserved)
        answer = Response(
            response.content,
            status_code=201,
            media_type="application/sdp",
            headers={**_SECURITY_HEADERS, "Location": f"/sessions/{name}/calls/{call.id}"},
        )
        return answer, True

    async def _run(self, call: _Call, handler: Handler) -> None:
        """Attach the sideband, run the handler; hang up and release the slot at the end."""
        with bind_context(call_id=call.call_id, handler=handler.name):
            try:
                overrides: dict[str, Any] = {
                    "transport": SIDEBAND_TRANSPORT,
                    "call_id": call.call_id,
                    "api_key": self._key,
                    "base_url": self.base_url,
                    # A sideband attaches to a call the provider keeps: replaying the
                    # conversation on a new link would duplicate it, so no reconnects.
                    "reconnect": None,
                }
                async with self.app.start(handler.name, **overrides) as run:
                    call.session = run.session
                    if call.hung_up:
                        return
                    await run.wait()
            except asyncio.CancelledError:
                raise
            except liveloop.SessionClosed:
                pass
            except Exception as exc:
                # App.start logs a handler's own exception with the session id; this line
                # covers a sideband that could not be attached too.
                _log.warning("call ended by an error", error=f"{type(exc).__name__}: {exc}")
            finally:
                self.calls.pop(call.id, None)
                self._reserved -= 1
                try:
                    await self._provider_hangup(call)
                finally:
                    call.ended.set()
                    _log.info("call ended", handler=handler.name, active=self._reserved)

    async def _provider_hangup(self, call: _Call) -> None:
        if call.hung_up:
            return
        call.hung_up = True
        url = f"{calls_url(self.base_url)}/{call.call_id}/hangup"
        try:
            async with asyncio.timeout(HANGUP_TIMEOUT):
                response = await self._http().post(url, headers=self._auth_headers())
            if not response.is_success and response.status_code != 404:
                _log.warning("the provider refused the hangup", status=response.status_code)
        except (httpx.HTTPError, TimeoutError) as exc:
            _log.warning("the hangup did not reach the provider", error=str(exc))

    async def _end(self, call: _Call) -> None:
        await self._provider_hangup(call)
        if call.session is not None:
            await call.session.close()
        try:
            async with asyncio.timeout(END_TIMEOUT):
                await call.ended.wait()
        except TimeoutError:
            if call.task is not None:
                call.task.cancel()

    async def hangup(self, request: Request) -> Response:
        """``POST /sessions/{name}/calls/{id}/hangup``: end a call this caller opened."""
        identity = await self._identify(request)
        if isinstance(identity, Response):
            return identity
        call = self.calls.get(request.path_params["id"])
        # Someone else's call and no call at all look the same: no probing for ids.
        if call is None or call.owner != identity or call.name != request.path_params["name"]:
            return _error(404, "not_found", "no such call")
        await self._end(call)
        return Response(status_code=204, headers=_SECURITY_HEADERS)

    async def client_secret(self, request: Request) -> Response:
        """``POST /client_secrets/{name}``: a short-lived ``ek_`` secret for a browser
        that talks to the provider directly (with handler ``name``'s session config)."""
        identity = await self._identify(request)
        if isinstance(identity, Response):
            return identity
        handler = self._handler(request.path_params["name"])
        if handler is None:
            return _error(404, "not_found", "no such session handler")
        refused = self._limit(identity)
        if refused is not None:
            return refused
        payload = {
            "expires_after": {"anchor": "created_at", "seconds": self.secret_ttl},
            "session": session_update_payload(handler.config()),
        }
        url = f"{self.base_url}/realtime/client_secrets"
        try:
            response = await self._http().post(url, json=payload, headers=self._auth_headers())
        except httpx.HTTPError as exc:
            _log.warning("the provider could not be reached", url=url, error=str(exc))
            return _error(502, "provider_unreachable", "the provider could not be reached")
        try:
            body: Any = response.json() if response.is_success else {}
            value, expires_at = body["value"], int(body["expires_at"])
            if not isinstance(value, str) or not value.startswith("ek_"):
                raise ValueError("not an ek_ secret")
        except (ValueError, KeyError, TypeError):
            _log.warning(
                "the provider did not mint a client secret",
                status=response.status_code,
                detail=_provider_message(response),
            )
            return _error(502, "provider_refused", "the provider did not mint a secret")
        return JSONResponse(
            {"value": value, "expires_at": expires_at}, headers=dict(_SECURITY_HEADERS)
        )

    async def static(self, request: Request) -> Response:
        """The static directory's top-level pages and scripts (``/`` is ``index.html``)."""
        name = request.path_params.get("file", "index.html")
        if self.static_dir is None or not _STATIC_NAME.match(name):
            return _error(404, "not_found", "not found")
        path = self.static_dir / name
        if not path.is_file():
            return _error(404, "not_found", "not found")
        return FileResponse(path, headers=_PAGE_HEADERS)

    def _auth_headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._key.get_secret_value()}",
            "User-Agent": "liveloop-serve",
            **(extra or {}),
        }


def _provider_message(response: httpx.Response) -> str:
    # For the log only (it is redacted there): providers may echo part of a key back.
    try:
        error = response.json().get("error") or {}
        return str(error.get("message") or error)[:300]
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"


def create_app(
    app: liveloop.App,
    *,
    provider_base_url: str | None = None,
    api_key: str | SecretStr | None = None,
    insecure_dev: bool = False,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    rate: Rate | str = DEFAULT_RATE,
    max_offer_bytes: int = DEFAULT_MAX_OFFER_BYTES,
    secret_ttl: int = DEFAULT_SECRET_TTL,
    static_dir: str | Path | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> Starlette:
    """The ASGI app of ``liveloop serve`` for ``app`` (see :class:`SessionServer` for
    the options and the ``authorize`` contract).

    ``api_key`` defaults to ``OPENAI_API_KEY``, ``provider_base_url`` to
    ``OPENAI_BASE_URL`` and then OpenAI. The :class:`SessionServer` is at
    ``asgi.state.liveloop``; the app's lifespan hangs up every call on shutdown.
    Raises :class:`ServeError` without ``authorize`` (unless ``insecure_dev``) or a key.
    """
    server = SessionServer(
        app,
        provider_base_url=provider_base_url,
        api_key=api_key,
        insecure_dev=insecure_dev,
        max_sessions=max_sessions,
        rate=rate,
        max_offer_bytes=max_offer_bytes,
        secret_ttl=secret_ttl,
        static_dir=static_dir,
        http_client=http_client,
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await server.aclose()

    routes = [
        Route("/sessions/{name}/offer", server.offer, methods=["POST"]),
        Route("/sessions/{name}/calls/{id}/hangup", server.hangup, methods=["POST"]),
        Route("/client_secrets/{name}", server.client_secret, methods=["POST"]),
        Route("/", server.static, methods=["GET", "HEAD"]),
        Route("/{file}", server.static, methods=["GET", "HEAD"]),
    ]
    asgi = Starlette(routes=routes, lifespan=lifespan)
    asgi.state.liveloop = server
    return asgi


class _QuietServer(uvicorn.Server):
    """uvicorn without its signal handlers (the embedding program owns them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


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
        ws="none",
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


EMULATOR_KEY = "sk-liveloop-serve-emulator"
"""The key ``--emulator`` gives the bundled emulator (a local stand-in, not a secret)."""


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
    insecure_dev: bool = False,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    rate: Rate | str = DEFAULT_RATE,
    emulator: bool = False,
    static_dir: str | Path | None = None,
    provider_base_url: str | None = None,
) -> None:
    """What ``liveloop serve`` runs: load ``module:app``, optionally start the bundled
    emulator as the provider, serve until interrupted (then hang up every call)."""
    from liveloop.console import load_app

    app = load_app(target)
    async with contextlib.AsyncExitStack() as stack:
        key: str | None = None
        if emulator:
            try:
                from liveloop_emulator import Emulator
            except ImportError:
                raise ServeError(
                    "--emulator needs the bundled emulator: pip install liveloop-emulator"
                ) from None
            running = await stack.enter_async_context(Emulator())
            key, provider_base_url = EMULATOR_KEY, running.base_url
        asgi = create_app(
            app,
            provider_base_url=provider_base_url,
            api_key=key,
            insecure_dev=insecure_dev,
            max_sessions=max_sessions,
            rate=rate,
            static_dir=static_dir if static_dir is not None else default_static_dir(target),
        )
        server: SessionServer = asgi.state.liveloop
        config = uvicorn.Config(
            asgi, host=host, port=port, lifespan="on", log_config=None, ws="none"
        )
        where = "the bundled emulator" if emulator else server.base_url
        _log.warning(
            "liveloop serve listening",
            url=f"http://{host}:{port}",
            provider=where,
            handlers=sorted(app.handlers),
            static=str(server.static_dir) if server.static_dir else None,
            insecure_dev=insecure_dev,
        )
        await uvicorn.Server(config).serve()
