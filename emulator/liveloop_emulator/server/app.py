"""The emulator's Starlette app: its routes, each a module-level handler reading the shared
:class:`~.state.ServerState` from ``app.state.emulator``."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from .calls import calls, hangup
from .client_secrets import client_secrets
from .http import http_error
from .state import ServerState
from .websocket import SessionEndpoint, azure_dated, azure_v1, realtime, unknown_path

__all__ = ["build_app"]


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    return http_error(
        status,
        f"Invalid URL ({request.method} {request.url.path})",
        code="unknown_url" if status == 404 else None,
    )


def build_app(state: ServerState, extra: Sequence[BaseRoute] = ()) -> Starlette:
    """The app serving the Realtime WebSocket paths, client secrets and WebRTC calls, and
    ``extra`` routes (another protocol's front end: Gemini Live)."""
    app = Starlette(
        routes=[
            WebSocketRoute("/v1/realtime", SessionEndpoint(realtime)),
            WebSocketRoute("/openai/v1/realtime", SessionEndpoint(azure_v1)),
            WebSocketRoute("/openai/realtime", SessionEndpoint(azure_dated)),
            Route("/v1/realtime/client_secrets", client_secrets, methods=["POST"]),
            Route("/v1/realtime/calls", calls, methods=["POST"]),
            Route("/v1/realtime/calls/{call_id}/hangup", hangup, methods=["POST"]),
            *extra,
            # Last: an upgrade to any other path is answered 404, as OpenAI does (not 403).
            WebSocketRoute("/{path:path}", unknown_path),
        ],
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.state.emulator = state
    return app
