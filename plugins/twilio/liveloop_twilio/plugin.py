"""Contributes the Twilio Media Streams routes to ``liveloop serve``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from liveloop import get_logger
from liveloop.plugin import RouteSpec, hookimpl

_log = get_logger("liveloop.twilio")


@hookimpl
def register_routes(register: Callable[[RouteSpec], None]) -> None:
    """``POST /phone/twilio/{name}`` (the number's voice webhook) and its media stream."""
    register(
        RouteSpec(
            name="twilio-media-streams",
            routes=_routes,
            description="phone calls over Twilio Media Streams, bridged to any provider session",
        )
    )


def _routes(server: Any) -> Sequence[Any]:
    # Imported when a server starts: listing plugins must not load Starlette or twilio.
    import os

    from .routes import TwilioRoutes

    if not os.environ.get("TWILIO_AUTH_TOKEN") and not server.insecure_dev:
        _log.warning(
            "Twilio routes not offered: set TWILIO_AUTH_TOKEN so Twilio's signatures can be "
            "checked (or use --insecure-dev on a development machine)"
        )
        return []
    return TwilioRoutes.from_server(server).routes()
