"""WebRTC calls: ``POST /v1/realtime/calls`` (raw SDP or multipart with a session),
``POST /v1/realtime/calls/{call_id}/hangup``, and headless calls for tests.

aiortc is imported on the first call only (:mod:`liveloop_emulator.webrtc`).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from ..auth import bearer_token
from ..engine import events as ev
from ..realtime import ProtocolError, RealtimeFrontEnd, merge_session
from .client_secrets import template_session
from .http import http_error, read_body, replay
from .inbound import receive_text
from .state import DEFAULT_MODEL, ServerState, state_of
from .websocket import expire

if TYPE_CHECKING:
    from ..webrtc import WebRTCCall

__all__ = ["MAX_SDP_BYTES", "calls", "hangup", "new_call", "open_call", "register_call"]

MAX_SDP_BYTES = 64 * 1024
"""Largest accepted SDP offer (a raw ``application/sdp`` body, or the ``sdp`` part)."""


async def _multipart(request: Request, body: bytes) -> tuple[bytes, Any] | Response:
    """The ``sdp`` part and the parsed ``session`` part (None when absent)."""
    try:
        form = await MultiPartParser(request.headers, replay(body)).parse()
    except MultiPartException as exc:
        return http_error(400, f"Invalid multipart body: {exc.message}")
    fields: dict[str, bytes] = {}
    for name, value in form.multi_items():
        if name not in ("sdp", "session"):
            return http_error(
                400, f"Unknown parameter: '{name}'.", code="unknown_parameter", param=name
            )
        fields[name] = await value.read() if isinstance(value, UploadFile) else value.encode()
    if "sdp" not in fields:
        return http_error(
            400,
            "Missing required parameter: 'sdp'.",
            code="missing_required_parameter",
            param="sdp",
        )
    if len(fields["sdp"]) > MAX_SDP_BYTES:
        return http_error(413, "The SDP offer is too large.", code="request_too_large")
    part: Any = None
    if "session" in fields:
        try:
            part = json.loads(fields["session"])
        except (ValueError, UnicodeDecodeError):
            message = "Invalid 'session': expected a JSON object."
            return http_error(400, message, code="invalid_json", param="session")
        if not isinstance(part, dict):
            message = "Invalid type for 'session': expected an object."
            return http_error(400, message, code="invalid_type", param="session")
    return fields["sdp"], part


async def calls(request: Request) -> Response:
    """``POST /v1/realtime/calls``: answer an SDP offer with a live call."""
    state = state_of(request)
    token = bearer_token(request.headers.get("authorization"))
    credential = state.keys.authenticate(token)
    if credential is None:
        return http_error(401, state.keys.describe_failure(token), code="invalid_api_key")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/sdp", "multipart/form-data"):
        return http_error(
            415,
            "Unsupported content type: expected 'application/sdp' or 'multipart/form-data'.",
            code="unsupported_content_type",
        )
    try:
        from .. import webrtc  # aiortc is imported on the first call only
    except ImportError:
        return http_error(
            501,
            "WebRTC calls need aiortc: pip install 'liveloop-emulator[webrtc]'",
            type="server_error",
        )
    body = await read_body(request, MAX_SDP_BYTES if kind == "application/sdp" else None)
    if body is None:
        return http_error(413, "Request body too large.", code="request_too_large")
    part: Any = None
    if kind == "application/sdp":
        sdp_bytes = body
    else:
        parsed = await _multipart(request, body)
        if isinstance(parsed, Response):
            return parsed
        sdp_bytes, part = parsed
    try:
        sdp = sdp_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return http_error(400, "Invalid SDP offer: not UTF-8 text.", param="sdp")
    problem = webrtc.check_offer(sdp)
    if problem is not None:
        return http_error(400, problem, code="invalid_offer", param="sdp")
    config = dict(credential.secret.session) if credential.secret is not None else {}
    if part is not None:
        try:
            merge_session(template_session(part), part)
        except ProtocolError as exc:
            return http_error(400, exc.message, code=exc.code, param=exc.param)
        config.update(part)
    model = config.get("model") or request.query_params.get("model") or DEFAULT_MODEL
    return await open_call(state, str(model), config, sdp)


async def hangup(request: Request) -> Response:
    """``POST /v1/realtime/calls/{call_id}/hangup``."""
    state = state_of(request)
    token = bearer_token(request.headers.get("authorization"))
    if state.keys.authenticate(token) is None:
        return http_error(401, state.keys.describe_failure(token), code="invalid_api_key")
    call = state.calls.get(request.path_params["call_id"])
    if call is None or call.session.closed:
        return http_error(
            404, "No call found with the given call_id.", code="call_not_found", param="call_id"
        )
    await call.hangup()
    return Response(status_code=200)


def new_call(
    state: ServerState, model: str, config: dict[str, Any], headless: bool = False
) -> WebRTCCall:
    """A call's front end, playout buffer and record; a peer connection unless ``headless``."""
    from .. import webrtc

    call_id = webrtc.new_call_id()
    session = state.new_session(model, call_id)
    call: webrtc.WebRTCCall | None = None

    async def send(event: dict[str, Any]) -> None:
        if call is not None:
            await call.send(event)

    def notify(event: ev.EngineEvent) -> None:
        if call is not None:
            call.notify(event)

    buffer = webrtc.PlayoutBuffer(notify)
    front = RealtimeFrontEnd(
        send,
        model=model,
        script=state.script,
        speed=state.speed,
        chunk_ms=state.chunk_ms,
        session={k: v for k, v in config.items() if k != "model"} or None,
        expires_at=int(time.time() + state.max_session_seconds),
        output=buffer,
    )
    session.engine = front
    session.id = front.session["id"]
    pc = None if headless else webrtc.peer_connection()
    call = webrtc.WebRTCCall(call_id, session, front, buffer, pc, receive_text)
    return call


def register_call(state: ServerState, call: WebRTCCall) -> None:
    """List a call that is up: its record, its id, and its session limit."""
    call.session.on_close = call.teardown
    state.add(call.session)
    state.calls[call.id] = call
    call.spawn(expire(state, call.session, call.engine))


async def open_call(state: ServerState, model: str, config: dict[str, Any], sdp: str) -> Response:
    """Answer an offer that passed the checks: a peer connection, a front end, a record."""
    from .. import webrtc

    live = new_call(state, model, config)
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
            pc, sdp, webrtc.SpeechTrack(live.buffer), webrtc.loopback_addresses(state.host)
        )
    except Exception as exc:
        live.session.closed = True
        await live.teardown()
        message = str(exc) or type(exc).__name__
        return http_error(400, f"Could not answer the SDP offer: {message}", param="sdp")
    register_call(state, live)
    return Response(
        answer,
        status_code=201,
        media_type="application/sdp",
        headers={"Location": f"/v1/realtime/calls/{live.id}"},
    )
