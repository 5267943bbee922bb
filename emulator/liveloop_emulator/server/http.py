"""HTTP plumbing shared by the routes: OpenAI-shaped error responses and bounded bodies."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..auth import openai_error_body

__all__ = ["MAX_BODY_BYTES", "http_error", "read_body", "replay"]

MAX_BODY_BYTES = 1024 * 1024
"""Largest accepted REST request body."""


def http_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    type: str = "invalid_request_error",
) -> JSONResponse:
    """A JSON error response in OpenAI's shape."""
    return JSONResponse(
        openai_error_body(message, type=type, code=code, param=param), status_code=status
    )


async def read_body(request: Request, limit: int | None = None) -> bytes | None:
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


async def replay(body: bytes) -> AsyncGenerator[bytes, None]:
    """A body already read, as the stream a form parser wants."""
    yield body
