"""What a Gemini Live session uses when it leaves a setting unset (the provider's spec
declares it; core knows none of it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # registering the plugin builds no models
    from liveloop import SessionConfig

INPUT_RATE = 16_000
"""The rate Gemini Live takes user audio at (the transport converts other rates)."""
OUTPUT_RATE = 24_000
"""The rate of the audio Gemini Live speaks."""

__all__ = ["DEFAULTS", "INPUT_RATE", "OUTPUT_RATE", "TRANSPORT_PACKAGES", "with_defaults"]

DEFAULTS: dict[str, Any] = {
    "transport": "websocket",
    # The GA Live model of the Developer API this plugin dials (2.5's native-audio name
    # there is a dated preview; "gemini-live-2.5-flash-native-audio" is Vertex's).
    "model": "gemini-3.8-live",
    "voice": "Kore",
    # The transport resamples user audio to the 16 kHz Gemini takes (soxr): sessions keep
    # the 24 kHz PCM16 both ways that voice apps and the test kit's tone speech expect.
    "input_audio": {"encoding": "pcm16", "rate": OUTPUT_RATE},
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
