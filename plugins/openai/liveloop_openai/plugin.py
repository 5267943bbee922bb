"""Registers the ``openai`` provider: the OpenAI Realtime (GA) codec and its features."""

from __future__ import annotations

from collections.abc import Callable

from liveloop.plugin import Features, ProviderSpec, hookimpl, lazy_codec

from .defaults import DEFAULTS, TRANSPORT_PACKAGES
from .emulated import OpenAIEmulated
from .errors import ERRORS

__all__ = ["FEATURES", "register_providers"]

FEATURES = Features(
    audio_in=True,
    audio_out=True,
    text=True,
    server_vad=True,
    semantic_vad=True,
    interruption="client_truncates",
    tools=True,
    verbatim_say=True,
    sideband=True,
    media="events",
    audio_formats=("pcm16", "g711_ulaw", "g711_alaw"),
)
"""What the OpenAI Realtime protocol and this codec support; a transport narrows it."""


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register OpenAI Realtime (GA wire protocol)."""
    register(
        ProviderSpec(
            name="openai",
            codec=lazy_codec("liveloop_openai.codec:OpenAICodec"),
            features=FEATURES,
            description="OpenAI Realtime API (GA events; speech-to-speech models)",
            api_key_env="OPENAI_API_KEY",
            base_url_env="OPENAI_BASE_URL",
            default_base_url="https://api.openai.com/v1",
            max_session_seconds=3600,
            defaults=DEFAULTS,
            transport_packages=TRANSPORT_PACKAGES,
            # The provider with the most pairs serves sessions that name none.
            priority=10,
            emulator=OpenAIEmulated(),
            errors=ERRORS,
        )
    )
