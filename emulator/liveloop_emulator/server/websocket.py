"""The Realtime WebSocket routes: ``/v1/realtime`` (a session, or a sideband attached to a
call with ``call_id``), Azure's GA ``/openai/v1/realtime?model=`` and its dated
``/openai/realtime?api-version=…&deployment=…``; an upgrade to any other path gets 404."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..auth import Credential, bearer_token
from ..realtime import RealtimeFrontEnd
from ..records import EmulatorSession
from ..wirejson import dumps
from .http import http_error
from .inbound import receive_events
from .state import Call, ServerState, state_of

__all__ = [
    "AZURE_API_VERSIONS",
    "INSECURE_KEY_PROTOCOL",
    "SessionEndpoint",
    "azure_dated",
    "azure_v1",
    "expire",
    "realtime",
    "run_session",
    "unknown_path",
]

INSECURE_KEY_PROTOCOL = "openai-insecure-api-key."

AZURE_API_VERSIONS = ("2025-08-28",)
"""The dated Azure api-versions served on ``/openai/realtime``: the GA protocol's. Preview
versions speak the beta protocol, which the emulator does not; their handshake is refused."""

_AZURE_KEY_HELP = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
    "provide a valid key for an active subscription in an 'api-key' header."
)


class _SessionSocket(WebSocket):
    """Starlette's WebSocket, with a short path for a session's steady traffic: while both
    sides are connected, a text frame out and a message in skip the state machine's checks
    and calls (a session sends and receives dozens of these a second)."""

    async def receive(self) -> Message:
        if self.client_state is not WebSocketState.CONNECTED:
            return await super().receive()
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.client_state = WebSocketState.DISCONNECTED
        return message

    async def send_text(self, data: str) -> None:
        if self.application_state is not WebSocketState.CONNECTED:
            await super().send_text(data)
            return
        try:
            await self._send({"type": "websocket.send", "text": data})
        except OSError:
            self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(code=1006) from None


class SessionEndpoint:
    """A Realtime route's handler as an ASGI app: a Starlette route wraps a plain function
    in a second exception handler whose wrapper runs on every message sent; this hands the
    handler a :class:`_SessionSocket` directly."""

    def __init__(self, handler: Callable[[WebSocket], Awaitable[None]]) -> None:
        self._handler = handler
        self.__name__ = handler.__name__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._handler(_SessionSocket(scope, receive, send))


def _duration_text(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if float(seconds).is_integer():
        whole = int(seconds)
        return f"{whole} second{'s' if whole != 1 else ''}"
    return f"{seconds:g} seconds"


async def _deny(websocket: WebSocket, status: int, message: str, **fields: Any) -> None:
    await websocket.send_denial_response(http_error(status, message, **fields))


async def _admitted(websocket: WebSocket, state: ServerState) -> bool:
    refusal = await state.admit()
    if refusal is not None:
        await _deny(websocket, refusal, "The service is unavailable.", type="server_error")
        return False
    return True


async def _accept(websocket: WebSocket) -> None:
    offered: list[str] = list(websocket.scope.get("subprotocols") or [])
    await websocket.accept(subprotocol="realtime" if "realtime" in offered else None)


async def realtime(websocket: WebSocket) -> None:
    """``/v1/realtime``: the key in ``Authorization`` or a browser's subprotocol."""
    state = state_of(websocket)
    if not await _admitted(websocket, state):
        return
    token = bearer_token(websocket.headers.get("authorization"))
    if token is None:
        for proto in websocket.scope.get("subprotocols") or []:
            if proto.startswith(INSECURE_KEY_PROTOCOL):
                token = proto[len(INSECURE_KEY_PROTOCOL) :]
                break
    credential = state.keys.authenticate(token)
    if credential is None:
        await _deny(websocket, 401, state.keys.describe_failure(token), code="invalid_api_key")
        return
    call_id = websocket.query_params.get("call_id")
    if call_id:
        call = state.calls.get(call_id)
        if call is None or call.session.closed:
            message = "No call found with the given call_id."
            await _deny(websocket, 404, message, code="call_not_found", param="call_id")
            return
        await _accept(websocket)
        await run_sideband(call, websocket)
        return
    secret_config = credential.secret.session if credential.secret is not None else {}
    model = secret_config.get("model") or websocket.query_params.get("model")
    if not model:
        message = "Missing required parameter: 'model'."
        await _deny(websocket, 400, message, code="missing_required_parameter", param="model")
        return
    await _accept(websocket)
    await run_session(state, websocket, str(model), secret_config)


async def _azure_credential(websocket: WebSocket, state: ServerState) -> Credential | None:
    credential = state.keys.authenticate(websocket.headers.get("api-key") or None)
    if credential is None:
        await _deny(websocket, 401, _AZURE_KEY_HELP, code="invalid_api_key")
    return credential


async def _azure_session(
    websocket: WebSocket, state: ServerState, credential: Credential, model: str
) -> None:
    secret_config = credential.secret.session if credential.secret is not None else {}
    await _accept(websocket)
    await run_session(state, websocket, str(secret_config.get("model") or model), secret_config)


async def azure_v1(websocket: WebSocket) -> None:
    """Azure's GA path, ``/openai/v1/realtime?model=<deployment>``, key in ``api-key``."""
    state = state_of(websocket)
    if not await _admitted(websocket, state):
        return
    credential = await _azure_credential(websocket, state)
    if credential is None:
        return
    model = websocket.query_params.get("model")
    if not model:
        message = "Missing required query parameter: 'model'."
        await _deny(websocket, 400, message, code="missing_required_parameter", param="model")
        return
    await _azure_session(websocket, state, credential, model)


async def azure_dated(websocket: WebSocket) -> None:
    """Azure's dated path, ``/openai/realtime?api-version=…&deployment=…``: GA api-versions
    only (see :data:`AZURE_API_VERSIONS`)."""
    state = state_of(websocket)
    if not await _admitted(websocket, state):
        return
    credential = await _azure_credential(websocket, state)
    if credential is None:
        return
    for name in ("api-version", "deployment"):
        if not websocket.query_params.get(name):
            message = f"Missing required query parameter: '{name}'."
            await _deny(websocket, 400, message, code="missing_required_parameter", param=name)
            return
    version = websocket.query_params["api-version"]
    if version not in AZURE_API_VERSIONS:
        served = ", ".join(AZURE_API_VERSIONS)
        await _deny(
            websocket,
            400,
            f"Unsupported api-version '{version}': this endpoint serves the GA Realtime "
            f"protocol, api-version {served} (or the v1 path /openai/v1/realtime?model=...); "
            "preview api-versions speak the beta protocol, which it does not serve.",
            code="unsupported_api_version",
            param="api-version",
        )
        return
    await _azure_session(websocket, state, credential, websocket.query_params["deployment"])


async def unknown_path(websocket: WebSocket) -> None:
    """A WebSocket upgrade to a path nothing serves: 404, as OpenAI answers."""
    path = websocket.url.path
    await _deny(websocket, 404, f"Invalid URL (GET {path})", code="unknown_url")


async def run_session(
    state: ServerState, websocket: WebSocket, model: str, config: dict[str, Any]
) -> None:
    """Serve one WebSocket session until either side ends it."""
    session = state.new_session(model)
    session.websocket = websocket

    async def send(event: dict[str, Any]) -> None:
        if session.closed or state.stalled:
            return
        session.server_events.append(event)
        try:
            await websocket.send_text(dumps(event))
        except Exception:
            session.closed = True

    front = RealtimeFrontEnd(
        send,
        model=model,
        script=state.script,
        speed=state.speed,
        chunk_ms=state.chunk_ms,
        session={k: v for k, v in config.items() if k != "model"} or None,
        expires_at=int(time.time() + state.max_session_seconds),
    )
    session.engine = front
    session.id = front.session["id"]
    state.add(session)
    timer = asyncio.create_task(expire(state, session, front))
    state.track(timer)
    try:
        await front.start()
        await receive_events(websocket, session, front)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away while the session started
    finally:
        timer.cancel()
        await session.close(1000)


async def expire(state: ServerState, session: EmulatorSession, front: RealtimeFrontEnd) -> None:
    """End ``session`` at the emulator's session limit, as OpenAI does at 60 minutes."""
    await asyncio.sleep(state.max_session_seconds)
    if session.closed:
        return
    limit = _duration_text(state.max_session_seconds)
    await front.error(f"Your session hit the maximum duration of {limit}.", code="session_expired")
    await session.close(1001, f"Your session hit the maximum duration of {limit}.")


async def run_sideband(call: Call, websocket: WebSocket) -> None:
    """A sideband WebSocket attached to a live call: it gets the call's server events, and its
    client events drive the call's front end."""
    try:
        await websocket.send_text(dumps(call.session_created()))
        call.sidebands.add(websocket)
        await receive_events(websocket, call.session, call.engine)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        call.sidebands.discard(websocket)
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(1000), 0.5)
