"""Registers the ``openai/webrtc`` transport (peer mode: this process is the WebRTC client)."""

from __future__ import annotations

from collections.abc import Callable

from liveloop import Features, TransportSpec, hookimpl

from .peer import WebRTCConnector
from .sideband import SidebandConnector

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


def transport_specs() -> list[TransportSpec]:
    """Every transport this plugin provides."""
    return [
        TransportSpec(
            provider="openai",
            transport="webrtc",
            connector=WebRTCConnector(),
            features=PEER_FEATURES,
            description=(
                "OpenAI Realtime over WebRTC with this process as the peer (aiortc); "
                "audio flows through this process on Opus tracks"
            ),
        ),
        TransportSpec(
            provider="openai",
            transport="webrtc_sideband",
            connector=SidebandConnector(),
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
