"""The Gemini Live routes of the emulator: the ``BidiGenerateContent`` WebSocket paths
(Developer API for ``v1``, ``v1beta`` and ``v1alpha``; the constrained method for
ephemeral tokens; Vertex's path) and ``POST /v1alpha/auth_tokens`` that mints tokens.

Credentials are read where Gemini's clients put them: ``x-goog-api-key`` (the SDK),
``?key=``, ``Authorization: Token|Bearer`` and ``?access_token=`` (tokens). A refused
credential is answered as Gemini does: the upgrade succeeds, then the socket closes with
1008 and the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..replies import Rule
from .frontend import GeminiFrontEnd
from .store import HandleStore, TokenStore

__all__ = ["BAD_KEY_REASON", "GeminiService", "gemini_routes"]

BAD_KEY_REASON = "API key not valid. Please pass a valid API key."
_VERSIONS = frozenset({"v1", "v1beta", "v1alpha"})
_METHODS = frozenset({"BidiGenerateContent", "BidiGenerateContentConstrained"})
_MAX_BODY = 64 * 1024


@dataclass
class GeminiService:
    """What the Gemini routes share: who may connect, how the model behaves, and the
    handles and tokens that outlive a connection.

    ``accepts`` says whether an API key is good; ``connection_lifetime`` (seconds, None =
    unlimited) caps each connection with ``goAway`` then a 1011 close; ``session_limit``
    caps a session without context window compression across its resumptions.
    """

    accepts: Callable[[str], bool]
    script: Sequence[Rule] = ()
    speed: float = 1.0
    chunk_ms: int = 40
    connection_lifetime: float | None = None
    go_away_lead: float | None = None
    session_limit: float | None = None
    handles: HandleStore = field(default_factory=HandleStore)
    tokens: TokenStore = field(default_factory=TokenStore)
    sessions: deque[GeminiFrontEnd] = field(default_factory=lambda: deque(maxlen=256))
    """The latest connections (their ``sent`` messages are kept for inspection)."""
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


def gemini_routes(service: GeminiService) -> list[BaseRoute]:
    """The Starlette routes serving Gemini Live from ``service``."""

    async def live(websocket: WebSocket) -> None:
        version = websocket.path_params["version"]
        method = websocket.path_params.get("method", "BidiGenerateContent")
        if version not in _VERSIONS | {"v1beta1"} or method not in _METHODS:
            await websocket.close(1008)
            return
        await _serve(service, websocket, constrained=method.endswith("Constrained"))

    async def mint(request: Request) -> Response:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not key or not service.accepts(key):
            return _google_error(401, "UNAUTHENTICATED", BAD_KEY_REASON)
        body = await request.body()
        if len(body) > _MAX_BODY:
            return _google_error(413, "INVALID_ARGUMENT", "Request payload size exceeds the limit.")
        try:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError
            uses = int(data.get("uses", 1))
        except (ValueError, TypeError):
            return _google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if not 1 <= uses <= 1000:
            return _google_error(400, "INVALID_ARGUMENT", "uses must be between 1 and 1000.")
        token = service.tokens.mint(uses=uses)
        return JSONResponse(token.as_json())

    prefix = "/ws/google.ai.generativelanguage.{version}.GenerativeService.{method}"
    return [
        WebSocketRoute(prefix, live),
        WebSocketRoute(
            "/ws/google.cloud.aiplatform.{version}.LlmBidiService/BidiGenerateContent", live
        ),
        Route("/v1alpha/auth_tokens", mint, methods=["POST"]),
    ]


def _credential(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return (
        websocket.headers.get("x-goog-api-key")
        or websocket.query_params.get("key")
        or websocket.query_params.get("access_token")
    )


def _refusal(service: GeminiService, credential: str | None, constrained: bool) -> str | None:
    if not credential:
        return "Method doesn't allow unregistered callers. Please use an API key."
    if credential.startswith("auth_tokens/"):
        if not constrained:
            return "Ephemeral tokens are only accepted by BidiGenerateContentConstrained."
        return service.tokens.redeem(credential)
    if constrained or not service.accepts(credential):
        return BAD_KEY_REASON
    return None


async def _serve(service: GeminiService, websocket: WebSocket, *, constrained: bool) -> None:
    refusal = _refusal(service, _credential(websocket), constrained)
    await websocket.accept()
    if refusal is not None:
        await websocket.close(1008, refusal[:123])
        return
    closing: list[tuple[int, str]] = []

    async def send(message: dict[str, Any]) -> None:
        # The client may leave mid-answer: its receive loop below then ends the session.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def close(code: int, reason: str) -> None:
        closing.append((code, reason))
        with contextlib.suppress(RuntimeError):  # already closed
            await websocket.close(code, reason)

    front = GeminiFrontEnd(
        send,
        close,
        handles=service.handles,
        script=service.script,
        speed=service.speed,
        chunk_ms=service.chunk_ms,
        lifetime=service.connection_lifetime,
        go_away_lead=service.go_away_lead,
        session_limit=service.session_limit,
    )
    service.sessions.append(front)
    try:
        while not closing:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            data = frame.get("text")
            if data is None:
                data = frame.get("bytes") or b""
            await front.handle(data)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        await front.close()


def _google_error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message, "status": kind}}, status)
