"""Registers the ``openai/webrtc`` transports (a Python peer, and the sideband of a browser's
call) and the browser routes of ``liveloop serve``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from liveloop.plugin import Features, RouteSpec, SipWebhook, TransportSpec, hookimpl
from liveloop_openai.defaults import PROVIDER_PACKAGE

if TYPE_CHECKING:  # registering must not import the config and event models
    from liveloop import SessionConfig
    from liveloop.plugin import Connection, Connector

SIP_WEBHOOK_PATH = "/phone/openai"
"""Where OpenAI posts ``realtime.call.incoming`` for a SIP call (``liveloop serve``)."""

PEER_FEATURES = Features(
    audio_in=True,
    audio_out=True,
    text=True,
    server_vad=True,
    semantic_vad=True,
    interruption="server_truncates",
    tools=True,
    verbatim_say=True,
    sideband=False,
    media="track",
    audio_formats=("pcm16",),
)

SIDEBAND_FEATURES = Features(
    audio_in=False,
    audio_out=False,
    text=True,
    server_vad=True,
    semantic_vad=True,
    interruption="server_truncates",
    tools=True,
    verbatim_say=True,
    sideband=True,
    media="direct",
    audio_formats=("pcm16",),
)


class _Deferred:
    """A connector loaded at its first ``open()``: listing the capabilities of an install
    must not pay for importing aiortc."""

    def __init__(self, module: str, name: str) -> None:
        self._where = (module, name)
        self._connector: Connector | None = None

    async def open(self, config: SessionConfig) -> Connection:
        if self._connector is None:
            module, name = self._where
            factory = getattr(importlib.import_module(module, __package__), name)
            self._connector = factory()
        return await self._connector.open(config)


def transport_specs() -> list[TransportSpec]:
    """Every transport this plugin provides."""
    return [
        TransportSpec(
            provider="openai",
            provider_package=PROVIDER_PACKAGE,
            transport="webrtc",
            connector=_Deferred(".peer", "WebRTCConnector"),
            features=PEER_FEATURES,
            description=(
                "OpenAI Realtime over WebRTC with this process as the peer (aiortc); "
                "audio flows through this process on Opus tracks"
            ),
        ),
        TransportSpec(
            provider="openai",
            provider_package=PROVIDER_PACKAGE,
            transport="webrtc_sideband",
            connector=_Deferred(".sideband", "SidebandConnector"),
            features=SIDEBAND_FEATURES,
            description=(
                "The control side of a WebRTC call whose media flows between a browser and "
                "OpenAI (liveloop serve); needs call_id"
            ),
        ),
    ]


@hookimpl
def register_transports(register: Callable[[TransportSpec], None]) -> None:
    """Register OpenAI Realtime over WebRTC."""
    for spec in transport_specs():
        register(spec)


@hookimpl
def register_routes(register: Callable[[RouteSpec], None]) -> None:
    """Contribute the browser routes to ``liveloop serve`` (offer, hang-up, client secret)."""
    register(
        RouteSpec(
            name="openai-webrtc-browser",
            routes=_browser_routes,
            description="browsers call over WebRTC; the handler runs here over the sideband",
        )
    )
    register(
        RouteSpec(
            name="openai-sip",
            routes=_sip_routes,
            description="phone calls OpenAI answers over SIP (POST /phone/openai webhook)",
            sip=SipWebhook(provider="openai", path=SIP_WEBHOOK_PATH, routes=_sip_routes_with),
        )
    )


def _sip_routes(server: Any) -> Sequence[Any]:
    from .sip import sip_routes

    return sip_routes(server)


def _sip_routes_with(server: Any, secret: str) -> Sequence[Any]:
    from .sip import SipCalls

    return SipCalls(server, secret).routes()


def _browser_routes(server: Any) -> Sequence[Any]:
    # Imported when a server starts: listing plugins must not load Starlette.
    from .browser import browser_routes

    return browser_routes(server)
