"""What an OpenAI session uses when it leaves a setting unset (the provider's spec declares it).

Core knows none of this: it fills a session's unset fields from
:attr:`liveloop.plugin.ProviderSpec.defaults`, which the plugin sets to :data:`DEFAULTS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # registering the plugin builds no models
    from liveloop import SessionConfig

__all__ = ["DEFAULTS", "MODEL", "TRANSPORT_PACKAGES", "with_defaults"]

MODEL = "gpt-realtime"
"""The model a session uses unless it names one."""

DEFAULTS: dict[str, Any] = {
    "transport": "websocket",
    "model": MODEL,
    "voice": "marin",
    "input_audio": {"encoding": "pcm16", "rate": 24000},
    "output_audio": {"encoding": "pcm16", "rate": 24000},
    "input_transcription": {"model": "gpt-4o-mini-transcribe"},
}
"""SessionConfig fields an OpenAI session takes when it leaves them unset."""

TRANSPORT_PACKAGES = {
    "websocket": "liveloop-openai-websocket",
    "webrtc": "liveloop-openai-webrtc",
    "webrtc_sideband": "liveloop-openai-webrtc",
}
"""The distributions that implement each OpenAI transport, suggested when one is missing."""

PROVIDER_PACKAGE = "liveloop-openai"
"""This plugin's distribution: the transports name it as the provider they need."""


def with_defaults(config: SessionConfig) -> SessionConfig:
    """``config`` with OpenAI's defaults where it left a field unset (a config a session
    opened with already has them: then it is returned as is)."""
    return config.with_defaults(DEFAULTS)
