"""liveloop's OpenAI Realtime WebRTC transports: a Python peer, and a sideband for browser calls."""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ice import (
        HOST_ADDRESSES_ENV,
        ICE_SERVERS_ENV,
        choose_host_addresses,
        choose_ice_servers,
        host_addresses,
        parse_ice_servers,
    )
    from .media import OutgoingAudioTrack, PcmResampler, WebRTCMedia
    from .peer import EVENTS_CHANNEL, WebRTCConnection, WebRTCConnector, calls_url
    from .sideband import SidebandConnection, SidebandConnector

# Loaded on first use: the plugin entry point imports this package, and listing the
# installed capabilities must not pay for aiortc, PyAV or Starlette.
_EXPORTS = {
    "HOST_ADDRESSES_ENV": ".ice",
    "ICE_SERVERS_ENV": ".ice",
    "choose_host_addresses": ".ice",
    "choose_ice_servers": ".ice",
    "host_addresses": ".ice",
    "parse_ice_servers": ".ice",
    "OutgoingAudioTrack": ".media",
    "PcmResampler": ".media",
    "WebRTCMedia": ".media",
    "EVENTS_CHANNEL": ".peer",
    "WebRTCConnection": ".peer",
    "WebRTCConnector": ".peer",
    "calls_url": ".peer",
    "SidebandConnection": ".sideband",
    "SidebandConnector": ".sideband",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


__all__ = [
    "EVENTS_CHANNEL",
    "HOST_ADDRESSES_ENV",
    "ICE_SERVERS_ENV",
    "OutgoingAudioTrack",
    "PcmResampler",
    "SidebandConnection",
    "SidebandConnector",
    "WebRTCConnection",
    "WebRTCConnector",
    "WebRTCMedia",
    "calls_url",
    "choose_host_addresses",
    "choose_ice_servers",
    "host_addresses",
    "parse_ice_servers",
]
