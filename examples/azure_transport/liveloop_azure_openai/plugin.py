"""Registers the ``openai/azure_websocket`` transport (the ``liveloop`` entry point)."""

from __future__ import annotations

from collections.abc import Callable

from liveloop.plugin import Features, TransportSpec, hookimpl

from .connection import AzureConnector

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
"""What this transport carries: the whole OpenAI Realtime protocol, audio in its events.
The conformance kit checks every flag claimed here."""


@hookimpl
def register_transports(register: Callable[[TransportSpec], None]) -> None:
    """Register OpenAI Realtime over a WebSocket to an Azure OpenAI resource."""
    register(
        TransportSpec(
            provider="openai",
            transport="azure_websocket",
            connector=AzureConnector(),
            features=FEATURES,
            provider_package="liveloop-openai",
            description="OpenAI Realtime on Azure OpenAI (api-key header, deployment as model)",
        )
    )
