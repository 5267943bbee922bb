"""``POST /v1/realtime/client_secrets``: ephemeral ``ek_`` keys bound to a session config."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..auth import SECRET_DEFAULT_SECONDS, SECRET_MAX_SECONDS, SECRET_MIN_SECONDS, bearer_token
from ..realtime import ProtocolError, default_session, merge_session
from ..realtime.errors import Strict, in_range, one_of, validate
from ..realtime.render import session_object
from .http import http_error, read_body
from .state import DEFAULT_MODEL, state_of

__all__ = ["client_secrets", "template_session"]


class _ExpiresAfter(Strict):
    anchor: Annotated[Any, one_of("created_at")] = "created_at"
    seconds: Annotated[int, in_range(SECRET_MIN_SECONDS, SECRET_MAX_SECONDS)] = (
        SECRET_DEFAULT_SECONDS
    )


class _SecretRequest(Strict):
    expires_after: _ExpiresAfter | None = None
    session: dict[str, Any] | None = None


def template_session(config: dict[str, Any]) -> dict[str, Any]:
    """A fresh default session for ``config``'s model, to validate ``config`` against."""
    model = config.get("model")
    return default_session(
        model if isinstance(model, str) else DEFAULT_MODEL,
        session_id="sess_template",
        expires_at=int(time.time()) + 3600,
    )


async def client_secrets(request: Request) -> Response:
    state = state_of(request)
    token = bearer_token(request.headers.get("authorization"))
    if not state.keys.is_api_key(token):
        return http_error(401, state.keys.describe_failure(token), code="invalid_api_key")
    body = await read_body(request)
    if body is None:
        return http_error(413, "Request body too large.", code="request_too_large")
    payload: Any = {}
    if body.strip():
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            return http_error(
                415,
                "Unsupported content type: expected 'application/json'.",
                code="unsupported_content_type",
            )
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return http_error(
                400,
                "We could not parse the JSON body of your request. The OpenAI API expects "
                "a JSON payload, but what was sent was not valid JSON.",
            )
    if not isinstance(payload, dict):
        return http_error(400, "Invalid request body: expected a JSON object.", code="invalid_type")
    try:
        parsed = validate(_SecretRequest, payload)
        session_config = parsed.session or {"type": "realtime"}
        full = merge_session(template_session(session_config), session_config)
    except ProtocolError as exc:
        return http_error(400, exc.message, code=exc.code, param=exc.param)
    ttl = parsed.expires_after.seconds if parsed.expires_after else SECRET_DEFAULT_SECONDS
    secret = state.keys.mint(ttl, session_config)
    full["id"] = "sess_" + secret.value[3:23]
    full["expires_at"] = int(secret.expires_at)
    return JSONResponse(
        {
            "value": secret.value,
            "expires_at": int(secret.expires_at),
            "session": session_object(full),
        }
    )
