"""The answers ``liveloop serve`` gives: JSON errors and the headers every response carries."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

__all__ = ["PAGE_HEADERS", "SECURITY_HEADERS", "error"]

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""On every response: nothing cached, no type sniffing, no referrer."""

PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "media-src 'self' blob: mediastream:; img-src 'self' data:; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
}
"""On pages and scripts: same-origin content only, no inline scripts, no framing."""


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """``{"error": {"code": …, "message": …}}`` with ``status`` and the security headers."""
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )
