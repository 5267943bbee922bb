"""liveloop's OpenAI Realtime WebRTC transports: a Python peer, and a sideband for browser calls."""

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

__all__ = [
    "EVENTS_CHANNEL",
    "HOST_ADDRESSES_ENV",
    "ICE_SERVERS_ENV",
    "OutgoingAudioTrack",
    "PcmResampler",
    "WebRTCConnection",
    "WebRTCConnector",
    "WebRTCMedia",
    "calls_url",
    "choose_host_addresses",
    "choose_ice_servers",
    "host_addresses",
    "parse_ice_servers",
]
