"""What a Gemini Live session uses when it leaves a setting unset (the provider's spec
declares it; core knows none of it)."""

from __future__ import annotations

from typing import Any

from liveloop import SessionConfig

from .setup import INPUT_RATE, OUTPUT_RATE

__all__ = ["DEFAULTS", "TRANSPORT_PACKAGES", "with_defaults"]

DEFAULTS: dict[str, Any] = {
    "transport": "websocket",
    "model": "gemini-live-2.5-flash-native-audio",
    "voice": "Kore",
    "input_audio": {"encoding": "pcm16", "rate": INPUT_RATE},
    "output_audio": {"encoding": "pcm16", "rate": OUTPUT_RATE},
}
"""SessionConfig fields a Gemini session takes when it leaves them unset."""

TRANSPORT_PACKAGES = {"websocket": "liveloop-gemini-websocket"}
"""The distributions that implement each Gemini transport, suggested when one is missing."""

PROVIDER_PACKAGE = "liveloop-gemini"
"""This plugin's distribution: its transports name it as the provider they need."""


def with_defaults(config: SessionConfig) -> SessionConfig:
    """``config`` with Gemini's defaults where it left a field unset."""
    return config.with_defaults(DEFAULTS)
