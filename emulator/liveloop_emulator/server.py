"""The HTTP/WebSocket side of the emulator (Starlette + uvicorn) and the :class:`Emulator`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .auth import (
    SECRET_DEFAULT_SECONDS,
    SECRET_MAX_SECONDS,
    SECRET_MIN_SECONDS,
    ClientSecret,
    KeyStore,
    bearer_token,
    openai_error_body,
)
from .engine import events as ev
from .faults import Faults
from .gemini import GeminiService, gemini_routes
from .realtime import ProtocolError, RealtimeFrontEnd, default_session, merge_session
from .replies import Rule, iter_rules
from .tls import self_signed_certificate

if TYPE_CHECKING:
    from .webrtc import WebRTCCall

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_SDP_BYTES",
    "WS_MAX_SIZE",
    "Emulator",
    "EmulatorSession",
    "build_app",
]

WS_MAX_SIZE = 16 * 1024 * 1024
"""The WebSocket frame limit: above OpenAI's 15 MiB event cap, so oversized events that still fit
get an ``error`` event instead of a dropped connection."""

MAX_BODY_BYTES = 1024 * 1024
"""Largest accepted REST request body."""

MAX_SDP_BYTES = 64 * 1024
"""Largest accepted SDP offer (a raw ``application/sdp`` body, or the ``sdp`` part)."""

MAX_EVENT_BYTES = 15 * 1024 * 1024
"""OpenAI's limit for one client event (15 MiB)."""

INSECURE_KEY_PROTOCOL = "openai-insecure-api-key."
DEFAULT_MODEL = "gpt-realtime"


@dataclass
class EmulatorSession:
    """One session (a WebSocket session, or a WebRTC call), as the tests see it.

    A call's record (``call_id`` set) holds the client events of its data channel and of every
    sideband WebSocket, and every server event sent to them, in order.
    """

    id: str
    model: str
    client_events: list[dict[str, Any]] = field(default_factory=list)
    """Every client event that parsed as a JSON object, in order (invalid ones included)."""
    server_events: list[dict[str, Any]] = field(default_factory=list)
    """Every server event sent, in order."""
    closed: bool = False
    close_code: int | None = None
    engine: RealtimeFrontEnd | None = field(default=None, repr=False)
    websocket: WebSocket | None = field(default=None, repr=False)
    started_at: float = field(default_factory=time.time)
    call_id: str | None = None
    """The WebRTC call this session belongs to (None: a WebSocket session)."""
    on_close: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    def events_of(self, type: str) -> list[dict[str, Any]]:
        """The server events of one ``type``."""
        return [e for e in self.server_events if e.get("type") == type]

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the session from the server side (bounded)."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        if self.engine is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.engine.close(), 1.0)
        ws = self.websocket
        if ws is not None and ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=code, reason=reason), 0.5)
        if self.on_close is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.on_close(), 0.8)


def _duration_text(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if float(seconds).is_integer():
        whole = int(seconds)
        return f"{whole} second{'s' if whole != 1 else ''}"
    return f"{seconds:g} seconds"


class Emulator:
    """An OpenAI-Realtime-compatible server with a deterministic model.

    ``async with Emulator() as emu:`` serves on a free port of 127.0.0.1 in the current event
    loop; point the SDK at ``emu.base_url`` / ``emu.ws_base_url``.
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        script: Sequence[Rule] = (),
        speed: float = 1.0,
        max_session_seconds: float = 3600,
        chunk_ms: int = 40,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        gemini_connection_seconds: float | None = None,
        gemini_session_seconds: float | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if max_session_seconds <= 0:
            raise ValueError("max_session_seconds must be positive")
        if not 20 <= chunk_ms <= 100:
            raise ValueError("chunk_ms must be between 20 and 100")
        self.keys = KeyStore(api_keys)
        self._open_keys = api_keys is None
        self.script: tuple[Rule, ...] = iter_rules(script)
        self.speed = speed
        self.max_session_seconds = max_session_seconds
        self.chunk_ms = chunk_ms
        self.host = host
        self.port = port
        self.sessions: list[EmulatorSession] = []
        self.calls: dict[str, WebRTCCall] = {}
        """WebRTC calls by call id (ended ones stay, with ``session.closed`` set)."""
        self.faults = Faults(self)
        """Fault injection: cuts, stalls, raw frames, close codes, expiry, refusals."""
        self.tls = tls
        self.gemini = GeminiService(
            accepts=self._accepts_gemini_key,
            script=self.script,
            speed=speed,
            chunk_ms=chunk_ms,
            connection_lifetime=gemini_connection_seconds,
            session_limit=gemini_session_seconds,
        )
        """Gemini Live: its connections, resumption handles, tokens and connection cap."""
        self._cert: tuple[Path, Path] | None = None
        self._cert_dir: tempfile.TemporaryDirectory[str] | None = None
        self.app = build_app(self)
        self._server: uvicorn.Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- addresses

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1`` (the SDK's ``base_url``; ``https`` with ``tls``)."""
        return f"{'https' if self.tls else 'http'}://{self._url_host}:{self.port}/v1"

    @property
    def ws_base_url(self) -> str:
        """``ws://HOST:PORT/v1`` (the SDK's ``websocket_base_url``; ``wss`` with ``tls``)."""
        return f"{'wss' if self.tls else 'ws'}://{self._url_host}:{self.port}/v1"

    @property
    def gemini_base_url(self) -> str:
        """``http(s)://HOST:PORT``: the Gemini API root (google-genai's ``base_url``)."""
        return f"{'https' if self.tls else 'http'}://{self._url_host}:{self.port}"

    @property
    def cert_path(self) -> Path:
        """The generated certificate clients trust (``tls=True``, once started)."""
        if self._cert is None:
            raise RuntimeError("no certificate: the emulator serves TLS only with tls=True")
        return self._cert[0]

    def _accepts_gemini_key(self, key: str) -> bool:
        # Google keys start "AIza"; the emulator's OpenAI keys are accepted too.
        if self.keys.is_api_key(key):
            return True
        return self._open_keys and key.startswith("AIza") and not any(c.isspace() for c in key)

    @property
    def _url_host(self) -> str:
        host = self.host
        if host in ("0.0.0.0", ""):
            return "127.0.0.1"
        if ":" in host and not host.startswith("["):
            return f"[{host}]"
        return host

    # -- lifecycle

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start serving in the current event loop; returns once the socket listens."""
        if self._serve_task is not None:
            raise RuntimeError("the emulator is already running")
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            lifespan="off",
            log_level="warning",
            log_config=None,  # embedded in someone's process: leave their logging alone
            ws="websockets-sansio",
            ws_max_size=WS_MAX_SIZE,
            ws_per_message_deflate=False,
            timeout_graceful_shutdown=1,
            **self._tls_options(),
        )
        server = _EmbeddedServer(config)
        self._server = server
        self._serve_task = asyncio.create_task(server.serve())
        while not server.started:
            if self._serve_task.done():
                self._serve_task.result()  # raises the startup error
                raise RuntimeError("the emulator's server stopped during startup")
            await asyncio.sleep(0.005)
        sockets = [sock for srv in server.servers for sock in (srv.sockets or ())]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    def _tls_options(self) -> dict[str, Any]:
        if not self.tls:
            return {}
        if self._cert is None:
            self._cert_dir = tempfile.TemporaryDirectory(prefix="liveloop-emulator-")
            self._cert = self_signed_certificate(Path(self._cert_dir.name), self._url_host)
        cert, key = self._cert
        return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}

    async def stop(self) -> None:
        """Close every open session and stop the server (bounded: well under a second)."""
        server, task = self._server, self._serve_task
        if server is None or task is None:
            return
        open_sessions = [s for s in self.sessions if not s.closed]
        if open_sessions:
            await asyncio.wait(
                [asyncio.create_task(s.close(1001, "server shutting down")) for s in open_sessions],
                timeout=0.5,
            )
        for pending in list(self._tasks):
            pending.cancel()
        server.should_exit = True
        server.force_exit = True
        done, _ = await asyncio.wait({task}, timeout=0.8)
        if not done:
            task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait({task}, timeout=0.1)
        self._server = None
        self._serve_task = None
        if self._cert_dir is not None:
            self._cert_dir.cleanup()
            self._cert_dir, self._cert = None, None

    # -- client secrets

    def create_client_secret(
        self, ttl_seconds: float = SECRET_DEFAULT_SECONDS, session: dict[str, Any] | None = None
    ) -> ClientSecret:
        """Mint an ``ek_`` secret (as ``POST /v1/realtime/client_secrets`` does).

        ``session`` is session config applied to sessions opened with the secret; it is
        validated like a ``session.update`` (:class:`ProtocolError` when invalid).
        """
        config = dict(session or {})
        config.setdefault("type", "realtime")
        merge_session(_template_session(config), config)
        return self.keys.mint(ttl_seconds, config)

    async def hangup(self, call_id: str) -> None:
        """End a WebRTC call, as ``POST /v1/realtime/calls/{call_id}/hangup`` does.

        Raises KeyError for an unknown call id.
        """
        await self.calls[call_id].hangup()

    async def open_headless_call(self, session: dict[str, Any] | None = None) -> str:
        """Open a call without a WebRTC peer and return its call id.

        The call is a real one (``emu.calls``, a record in ``emu.sessions``, sidebands attach
        with ``/v1/realtime?call_id=``, :meth:`hangup` ends it) whose output audio plays out of
        a server-side playout buffer in real time and is discarded, so
        ``output_audio_buffer.*`` events and truncation on barge-in behave as on WebRTC. The
        user's microphone is :meth:`speak_into_call`. ``session`` is session config, validated
        like a ``session.update`` (:class:`ProtocolError` when invalid); its ``model`` names
        the model.
        """
        config = dict(session or {})
        config.setdefault("type", "realtime")
        merge_session(_template_session(config), config)
        model = config.get("model")
        call = _new_call(
            self, model if isinstance(model, str) else DEFAULT_MODEL, config, headless=True
        )
        _register_call(self, call)
        call.play_headless()
        return call.id

    async def speak_into_call(self, call_id: str, pcm: bytes, *, pace: float | None = None) -> None:
        """Feed ``pcm`` (PCM16 24 kHz mono) to a call as its caller's microphone would.

        With ``pace`` the 20 ms chunks are spaced at ``pace`` times real time; by default they
        go as fast as the engine takes them. Raises KeyError for an unknown call id.
        """
        await self.calls[call_id].speak(pcm, pace=pace)

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the host program owns signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _template_session(config: dict[str, Any]) -> dict[str, Any]:
    model = config.get("model")
    return default_session(
        model if isinstance(model, str) else DEFAULT_MODEL,
        session_id="sess_template",
        expires_at=int(time.time()) + 3600,
    )


def _error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    type: str = "invalid_request_error",
) -> JSONResponse:
    return JSONResponse(
        openai_error_body(message, type=type, code=code, param=param), status_code=status
    )


def build_app(emulator: Emulator) -> Starlette:
    """The Starlette app serving ``/v1/realtime`` and ``/v1/realtime/client_secrets``."""

    async def client_secrets(request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        if not emulator.keys.is_api_key(token):
            return _error(401, emulator.keys.describe_failure(token), code="invalid_api_key")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _error(413, "Request body too large.", code="request_too_large")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _error(413, "Request body too large.", code="request_too_large")
        payload: Any = {}
        if body.strip():
            content_type = request.headers.get("content-type", "")
            if content_type.split(";")[0].strip().lower() != "application/json":
                return _error(
                    415,
                    "Unsupported content type: expected 'application/json'.",
                    code="unsupported_content_type",
                )
            try:
                payload = json.loads(bytes(body))
            except (ValueError, UnicodeDecodeError):
                return _error(
                    400,
                    "We could not parse the JSON body of your request. The OpenAI API expects "
                    "a JSON payload, but what was sent was not valid JSON.",
                )
        if not isinstance(payload, dict):
            return _error(400, "Invalid request body: expected a JSON object.", code="invalid_type")
        for key in payload:
            if key not in ("expires_after", "session"):
                return _error(
                    400, f"Unknown parameter: '{key}'.", code="unknown_parameter", param=key
                )
        ttl: Any = SECRET_DEFAULT_SECONDS
        expires_after = payload.get("expires_after")
        if expires_after is not None:
            if not isinstance(expires_after, dict):
                return _error(
                    400,
                    "Invalid type for 'expires_after': expected an object.",
                    code="invalid_type",
                    param="expires_after",
                )
            for key in expires_after:
                if key not in ("anchor", "seconds"):
                    return _error(
                        400,
                        f"Unknown parameter: 'expires_after.{key}'.",
                        code="unknown_parameter",
                        param=f"expires_after.{key}",
                    )
            if expires_after.get("anchor", "created_at") != "created_at":
                return _error(
                    400,
                    "Invalid value for 'expires_after.anchor': expected 'created_at'.",
                    code="invalid_value",
                    param="expires_after.anchor",
                )
            ttl = expires_after.get("seconds", SECRET_DEFAULT_SECONDS)
            if isinstance(ttl, bool) or not isinstance(ttl, int):
                return _error(
                    400,
                    "Invalid type for 'expires_after.seconds': expected an integer.",
                    code="invalid_type",
                    param="expires_after.seconds",
                )
            if not SECRET_MIN_SECONDS <= ttl <= SECRET_MAX_SECONDS:
                return _error(
                    400,
                    f"Invalid 'expires_after.seconds': expected a value between "
                    f"{SECRET_MIN_SECONDS} and {SECRET_MAX_SECONDS}, got {ttl}.",
                    code="invalid_value",
                    param="expires_after.seconds",
                )
        session_config = payload.get("session") or {"type": "realtime"}
        if not isinstance(session_config, dict):
            return _error(
                400,
                "Invalid type for 'session': expected an object.",
                code="invalid_type",
                param="session",
            )
        try:
            template = _template_session(session_config)
            full = merge_session(template, session_config)
        except ProtocolError as exc:
            return _error(400, exc.message, code=exc.code, param=exc.param)
        secret = emulator.keys.mint(ttl, session_config)
        full["id"] = "sess_" + secret.value[3:23]
        full["expires_at"] = int(secret.expires_at)
        return JSONResponse(
            {"value": secret.value, "expires_at": int(secret.expires_at), "session": full}
        )

    async def realtime(websocket: WebSocket) -> None:
        refusal = await emulator.faults.admit()
        if refusal is not None:
            await websocket.send_denial_response(
                _error(refusal, "The service is unavailable.", type="server_error")
            )
            return
        offered: list[str] = list(websocket.scope.get("subprotocols") or [])
        token = bearer_token(websocket.headers.get("authorization"))
        if token is None:
            for proto in offered:
                if proto.startswith(INSECURE_KEY_PROTOCOL):
                    token = proto[len(INSECURE_KEY_PROTOCOL) :]
                    break
        credential = emulator.keys.authenticate(token)
        if credential is None:
            await websocket.send_denial_response(
                _error(401, emulator.keys.describe_failure(token), code="invalid_api_key")
            )
            return
        call_id = websocket.query_params.get("call_id")
        if call_id:
            call = emulator.calls.get(call_id)
            if call is None or call.session.closed:
                await websocket.send_denial_response(
                    _error(
                        404,
                        "No call found with the given call_id.",
                        code="call_not_found",
                        param="call_id",
                    )
                )
                return
            await websocket.accept(subprotocol="realtime" if "realtime" in offered else None)
            await _run_sideband(call, websocket)
            return
        secret_config = credential.secret.session if credential.secret is not None else {}
        model = secret_config.get("model") or websocket.query_params.get("model")
        if not model:
            await websocket.send_denial_response(
                _error(
                    400,
                    "Missing required parameter: 'model'.",
                    code="missing_required_parameter",
                    param="model",
                )
            )
            return
        await websocket.accept(subprotocol="realtime" if "realtime" in offered else None)
        await _run_session(emulator, websocket, str(model), secret_config)

    async def azure_realtime(websocket: WebSocket) -> None:
        # The Azure OpenAI shape of the same API: /openai/realtime?api-version=…&deployment=…,
        # the key in an `api-key` header; the deployment names the model.
        refusal = await emulator.faults.admit()
        if refusal is not None:
            await websocket.send_denial_response(
                _error(refusal, "The service is unavailable.", type="server_error")
            )
            return
        token = websocket.headers.get("api-key") or None
        credential = emulator.keys.authenticate(token)
        if credential is None:
            await websocket.send_denial_response(
                _error(
                    401,
                    "Access denied due to invalid subscription key or wrong API endpoint. "
                    "Make sure to provide a valid key for an active subscription in an "
                    "'api-key' header.",
                    code="invalid_api_key",
                )
            )
            return
        for name in ("api-version", "deployment"):
            if not websocket.query_params.get(name):
                await websocket.send_denial_response(
                    _error(
                        400,
                        f"Missing required query parameter: '{name}'.",
                        code="missing_required_parameter",
                        param=name,
                    )
                )
                return
        secret_config = credential.secret.session if credential.secret is not None else {}
        model = secret_config.get("model") or websocket.query_params["deployment"]
        offered: list[str] = list(websocket.scope.get("subprotocols") or [])
        await websocket.accept(subprotocol="realtime" if "realtime" in offered else None)
        await _run_session(emulator, websocket, str(model), secret_config)

    async def calls(request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        credential = emulator.keys.authenticate(token)
        if credential is None:
            return _error(401, emulator.keys.describe_failure(token), code="invalid_api_key")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("application/sdp", "multipart/form-data"):
            return _error(
                415,
                "Unsupported content type: expected 'application/sdp' or 'multipart/form-data'.",
                code="unsupported_content_type",
            )
        body = await _read_body(request, MAX_SDP_BYTES if kind == "application/sdp" else None)
        if body is None:
            return _error(413, "Request body too large.", code="request_too_large")
        part: Any = None
        if kind == "application/sdp":
            sdp_bytes = body
        else:
            try:
                form = await MultiPartParser(request.headers, _replay(body)).parse()
            except MultiPartException as exc:
                return _error(400, f"Invalid multipart body: {exc.message}")
            fields: dict[str, bytes] = {}
            for name, value in form.multi_items():
                if name not in ("sdp", "session"):
                    return _error(
                        400, f"Unknown parameter: '{name}'.", code="unknown_parameter", param=name
                    )
                if isinstance(value, UploadFile):
                    fields[name] = await value.read()
                else:
                    fields[name] = value.encode("utf-8")
            if "sdp" not in fields:
                return _error(
                    400,
                    "Missing required parameter: 'sdp'.",
                    code="missing_required_parameter",
                    param="sdp",
                )
            sdp_bytes = fields["sdp"]
            if len(sdp_bytes) > MAX_SDP_BYTES:
                return _error(413, "The SDP offer is too large.", code="request_too_large")
            if "session" in fields:
                try:
                    part = json.loads(fields["session"])
                except (ValueError, UnicodeDecodeError):
                    return _error(
                        400,
                        "Invalid 'session': expected a JSON object.",
                        code="invalid_json",
                        param="session",
                    )
                if not isinstance(part, dict):
                    return _error(
                        400,
                        "Invalid type for 'session': expected an object.",
                        code="invalid_type",
                        param="session",
                    )
        try:
            sdp = sdp_bytes.decode("utf-8")
        except UnicodeDecodeError:
            return _error(400, "Invalid SDP offer: not UTF-8 text.", param="sdp")
        from . import webrtc  # aiortc is imported on the first call only

        problem = webrtc.check_offer(sdp)
        if problem is not None:
            return _error(400, problem, code="invalid_offer", param="sdp")
        config = dict(credential.secret.session) if credential.secret is not None else {}
        if part is not None:
            try:
                merge_session(_template_session(part), part)
            except ProtocolError as exc:
                return _error(400, exc.message, code=exc.code, param=exc.param)
            config.update(part)
        model = config.get("model") or request.query_params.get("model") or DEFAULT_MODEL
        return await _open_call(emulator, str(model), config, sdp)

    async def hangup(request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        if emulator.keys.authenticate(token) is None:
            return _error(401, emulator.keys.describe_failure(token), code="invalid_api_key")
        call = emulator.calls.get(request.path_params["call_id"])
        if call is None or call.session.closed:
            return _error(
                404, "No call found with the given call_id.", code="call_not_found", param="call_id"
            )
        await call.hangup()
        return Response(status_code=200)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return _error(
            status,
            f"Invalid URL ({request.method} {request.url.path})",
            code="unknown_url" if status == 404 else None,
        )

    return Starlette(
        routes=[
            WebSocketRoute("/v1/realtime", realtime),
            WebSocketRoute("/openai/realtime", azure_realtime),
            Route("/v1/realtime/client_secrets", client_secrets, methods=["POST"]),
            Route("/v1/realtime/calls", calls, methods=["POST"]),
            Route("/v1/realtime/calls/{call_id}/hangup", hangup, methods=["POST"]),
            *gemini_routes(emulator.gemini),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )


async def _run_session(
    emulator: Emulator, websocket: WebSocket, model: str, config: dict[str, Any]
) -> None:
    session = EmulatorSession(id="", model=model, websocket=websocket)

    async def send(event: dict[str, Any]) -> None:
        if session.closed or emulator.faults.stalled:
            return
        session.server_events.append(event)
        try:
            await websocket.send_text(json.dumps(event))
        except Exception:
            session.closed = True

    expires_at = int(time.time() + emulator.max_session_seconds)
    overrides = {k: v for k, v in config.items() if k != "model"}
    engine = RealtimeFrontEnd(
        send,
        model=model,
        script=emulator.script,
        speed=emulator.speed,
        chunk_ms=emulator.chunk_ms,
        session=overrides or None,
        expires_at=expires_at,
    )
    session.engine = engine
    session.id = engine.session["id"]
    emulator.sessions.append(session)

    timer = asyncio.create_task(_expire(emulator, session, engine))
    emulator._track(timer)
    try:
        await engine.start()
        await _receive_events(websocket, session, engine)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away while the session started
    finally:
        timer.cancel()
        await session.close(1000)


async def _receive_events(
    websocket: WebSocket, session: EmulatorSession, engine: RealtimeFrontEnd
) -> None:
    """Feed the socket's client events to ``engine`` until either side ends (a dropped
    socket ends it quietly: the caller cleans up)."""
    try:
        while not session.closed:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is not None:
                await _on_text(session, engine, text)
            elif message.get("bytes") is not None:
                await engine.error(
                    "Binary frames are not supported: send each event as a JSON text frame.",
                    code="invalid_value",
                )
    except (WebSocketDisconnect, RuntimeError, OSError):
        return


async def _expire(emulator: Emulator, session: EmulatorSession, engine: RealtimeFrontEnd) -> None:
    await asyncio.sleep(emulator.max_session_seconds)
    if session.closed:
        return
    limit = _duration_text(emulator.max_session_seconds)
    await engine.error(f"Your session hit the maximum duration of {limit}.", code="session_expired")
    await session.close(1001, f"Your session hit the maximum duration of {limit}.")


async def _read_body(request: Request, limit: int | None) -> bytes | None:
    """The request body, or None when it exceeds ``limit`` (default: ``MAX_BODY_BYTES``)."""
    cap = MAX_BODY_BYTES if limit is None else limit
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > cap:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            return None
    return bytes(body)


async def _replay(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


def _new_call(
    emulator: Emulator, model: str, config: dict[str, Any], headless: bool = False
) -> WebRTCCall:
    """A call's engine, playout buffer and record; a peer connection unless ``headless``."""
    from . import webrtc

    call_id = webrtc.new_call_id()
    session = EmulatorSession(id="", model=model, call_id=call_id)
    call: webrtc.WebRTCCall | None = None

    async def send(event: dict[str, Any]) -> None:
        if call is not None:
            await call.send(event)

    def notify(event: ev.EngineEvent) -> None:
        if call is not None:
            call.notify(event)

    buffer = webrtc.PlayoutBuffer(notify)
    overrides = {k: v for k, v in config.items() if k != "model"}
    engine = RealtimeFrontEnd(
        send,
        model=model,
        script=emulator.script,
        speed=emulator.speed,
        chunk_ms=emulator.chunk_ms,
        session=overrides or None,
        expires_at=int(time.time() + emulator.max_session_seconds),
        output=buffer,
    )
    session.engine = engine
    session.id = engine.session["id"]
    pc = None if headless else webrtc.peer_connection()
    call = webrtc.WebRTCCall(call_id, session, engine, buffer, pc, _on_text)
    return call


def _register_call(emulator: Emulator, call: WebRTCCall) -> None:
    call.session.on_close = call.teardown
    emulator.sessions.append(call.session)
    emulator.calls[call.id] = call
    assert call.session.engine is not None
    call.spawn(_expire(emulator, call.session, call.session.engine))


async def _open_call(emulator: Emulator, model: str, config: dict[str, Any], sdp: str) -> Response:
    """Answer an offer that passed the checks: a peer connection, an engine, a call record."""
    from . import webrtc

    live = _new_call(emulator, model, config)
    pc = live.pc
    assert pc is not None
    pc.on("datachannel", live.attach_channel)
    pc.on("track", live.attach_track)

    @pc.on("connectionstatechange")
    async def on_state() -> None:
        if pc.connectionState in ("failed", "closed"):
            await live.hangup()

    try:
        answer = await webrtc.answer(
            pc, sdp, webrtc.SpeechTrack(live.buffer), webrtc.loopback_addresses(emulator.host)
        )
    except Exception as exc:
        live.session.closed = True
        await live.teardown()
        message = str(exc) or type(exc).__name__
        return _error(400, f"Could not answer the SDP offer: {message}", param="sdp")
    _register_call(emulator, live)
    return Response(
        answer,
        status_code=201,
        media_type="application/sdp",
        headers={"Location": f"/v1/realtime/calls/{live.id}"},
    )


async def _run_sideband(call: WebRTCCall, websocket: WebSocket) -> None:
    """A sideband WebSocket attached to a live call: it gets the call's server events, and its
    client events drive the call's engine."""
    session, engine = call.session, call.engine
    try:
        await websocket.send_text(json.dumps(call.session_created()))
        call.sidebands.add(websocket)
        await _receive_events(websocket, session, engine)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        call.sidebands.discard(websocket)
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(1000), 0.5)


async def _on_text(session: EmulatorSession, engine: RealtimeFrontEnd, text: str) -> None:
    size = len(text) if len(text) * 4 <= MAX_EVENT_BYTES else len(text.encode("utf-8"))
    try:
        event: Any = json.loads(text)
    except ValueError:
        await engine.error(
            "We could not parse the JSON body of your request. The Realtime API expects each "
            "WebSocket message to be a JSON object.",
            code="invalid_json",
        )
        return
    if not isinstance(event, dict):
        await engine.error(
            f"Invalid type for event: expected an object, but got "
            f"{'an array' if isinstance(event, list) else type(event).__name__} instead.",
            code="invalid_type",
        )
        return
    session.client_events.append(event)
    event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
    if size > MAX_EVENT_BYTES:
        await engine.error(
            f"Event too large: {size} bytes exceeds the maximum of {MAX_EVENT_BYTES} bytes "
            "(15 MiB) per event.",
            code="event_too_large",
            event_id=event_id,
        )
        return
    await engine.handle(event)
