"""Registers the ``gemini/websocket`` transport."""

from __future__ import annotations

from collections.abc import Callable

from liveloop.plugin import Features, LazyConnector, TransportSpec, hookimpl
from liveloop_gemini.defaults import PROVIDER_PACKAGE

FEATURES = Features(
    audio_in=True,
    audio_out=True,
    text=True,
    server_vad=True,
    semantic_vad=False,
    interruption="server_truncates",
    tools=True,
    verbatim_say=False,
    sideband=False,
    media="events",
    audio_formats=("pcm16",),
)


@hookimpl
def register_transports(register: Callable[[TransportSpec], None]) -> None:
    """Register Gemini Live over a server-to-server WebSocket."""
    register(
        TransportSpec(
            provider="gemini",
            provider_package=PROVIDER_PACKAGE,
            transport="websocket",
            connector=LazyConnector("liveloop_gemini_websocket.connection:GeminiConnector"),
            features=FEATURES,
            description="Gemini Live over WebSocket; audio flows through this process",
        )
    )
