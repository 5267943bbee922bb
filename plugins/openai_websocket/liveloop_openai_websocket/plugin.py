"""Registers the ``openai/websocket`` transport."""

from __future__ import annotations

from collections.abc import Callable

from liveloop.plugin import Features, LazyConnector, TransportSpec, hookimpl
from liveloop_openai.defaults import PROVIDER_PACKAGE

FEATURES = Features(
    audio_in=True,
    audio_out=True,
    text=True,
    server_vad=True,
    semantic_vad=True,
    interruption="client_truncates",
    tools=True,
    verbatim_say=True,
    sideband=False,
    media="events",
    audio_formats=("pcm16", "g711_ulaw", "g711_alaw"),
)


@hookimpl
def register_transports(register: Callable[[TransportSpec], None]) -> None:
    """Register OpenAI Realtime over a server-to-server WebSocket."""
    register(
        TransportSpec(
            provider="openai",
            provider_package=PROVIDER_PACKAGE,
            transport="websocket",
            connector=LazyConnector("liveloop_openai_websocket.connection:WebSocketConnector"),
            features=FEATURES,
            description="OpenAI Realtime over WebSocket; audio flows through this process",
        )
    )
