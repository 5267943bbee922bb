"""The checks a request passes before ``liveloop serve`` does any work for it: who the
caller is (the app's ``authorize``, with failed attempts rate-limited per address), the
caller's rate of session starts, and the body's type and size."""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from liveloop import get_logger

from .ratelimit import RateLimiter
from .responses import error

__all__ = ["Guards", "client_address", "read_body"]

_log = get_logger("liveloop.serve")

MAX_BLOCKED = 10_000
"""Blocked addresses a worker remembers (the oldest are forgotten first)."""


def client_address(request: Request) -> str:
    """The peer's address as the server sees it (the proxy's, behind a proxy)."""
    return request.client.host if request.client is not None else "unknown"


def _too_many(message: str, wait: float) -> Response:
    return error(429, "rate_limited", message, {"Retry-After": str(max(1, math.ceil(wait)))})


class Guards:
    """``authorize`` and the rate limits, as one server applies them.

    ``authorize(request)`` (sync or async) returns the caller's identity — any non-empty
    value; ``str()`` of it keys the rate limit and call ownership — or ``None``/``False``
    to refuse (``401``); raising :class:`PermissionError` refuses with ``403``. ``True``
    admits the caller without an identity, which is then the client address. ``None`` as
    ``authorize`` admits everyone by address (``--insecure-dev``).
    """

    def __init__(
        self,
        authorize: Callable[[Request], Any] | None,
        *,
        starts: RateLimiter,
        failures: RateLimiter,
    ) -> None:
        self.authorize = authorize
        self.starts = starts
        self.failures = failures
        # Addresses over their failure limit, until when: a request that authorizes costs no
        # store round trip for the check. Each worker learns of a block from a failure it
        # sees itself (so across N workers a blocked address may try N - 1 more times).
        self._blocked: OrderedDict[str, float] = OrderedDict()

    def _blocked_for(self, host: str) -> float:
        until = self._blocked.get(host)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._blocked[host]
        return left

    async def _failed(self, host: str, refusal: Response) -> Response:
        wait = await self.failures.acquire(host)
        if wait is None:
            return refusal
        self._blocked[host] = time.monotonic() + wait
        self._blocked.move_to_end(host)
        while len(self._blocked) > MAX_BLOCKED:
            self._blocked.popitem(last=False)
        return _too_many("too many failed authorizations from this address", wait)

    async def identify(self, request: Request) -> str | Response:
        """The caller's identity, or the refusal to send back."""
        host = client_address(request)
        if self.authorize is None:
            return f"address:{host}"
        blocked = self._blocked_for(host)
        if blocked > 0:
            return _too_many("too many failed authorizations from this address", blocked)
        try:
            result = self.authorize(request)
            if inspect.isawaitable(result):
                result = await result
        except PermissionError:
            return await self._failed(
                host, error(403, "forbidden", "this caller may not open sessions")
            )
        except Exception:
            _log.exception("authorize raised; refusing the request")
            return await self._failed(host, error(403, "forbidden", "authorization failed"))
        if result is None or result is False or result == "":
            challenge = {"WWW-Authenticate": 'Bearer realm="liveloop"'}
            refusal = error(401, "unauthorized", "authorization required", challenge)
            return await self._failed(host, refusal)
        if result is True:
            return f"address:{host}"
        return f"id:{result}"

    async def limit(self, identity: str) -> Response | None:
        """Count a session start for ``identity``: ``None``, or the ``429`` to send back."""
        wait = await self.starts.acquire(identity)
        if wait is None:
            return None
        return _too_many(f"too many sessions started; at most {self.starts.rate}", wait)


async def read_body(
    request: Request,
    *,
    kinds: tuple[str, ...],
    max_bytes: int,
    timeout: float = 10.0,
    what: str = "the body",
) -> bytes | Response:
    """The body when its content type is one of ``kinds`` and it has at most ``max_bytes``
    (by ``Content-Length`` and again while reading: chunked bodies count too) and arrives
    within ``timeout`` seconds, else the ``415``/``413``/``408`` to send back. A client
    that goes away mid-body gets a quiet ``400`` (it hears nothing anyway; a debug line,
    not an error, since that is the client's doing)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in kinds:
        return error(415, "unsupported_media_type", f"{what} must be {' or '.join(kinds)}")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        return error(413, "too_large", f"{what} exceeds {max_bytes} bytes")
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_bytes:
                    return error(413, "too_large", f"{what} exceeds {max_bytes} bytes")
    except ClientDisconnect:
        _log.debug("the client went away while sending the body", path=request.url.path)
        return error(400, "client_disconnected", "the client disconnected")
    except TimeoutError:
        _log.debug("the client sent its body too slowly", path=request.url.path)
        return error(408, "request_timeout", f"{what} did not arrive within {timeout:g} s")
    return bytes(body)
