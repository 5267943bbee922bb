"""Registers the ``gemini`` provider: the Gemini Live codec, its features and defaults."""

from __future__ import annotations

from collections.abc import Callable

from liveloop.plugin import Features, ProviderErrors, ProviderSpec, hookimpl, lazy_codec

from .defaults import DEFAULTS, TRANSPORT_PACKAGES
from .emulated import GeminiEmulated

__all__ = ["ERRORS", "FEATURES", "register_providers"]

FEATURES = Features(
    audio_in=True,
    audio_out=True,
    text=True,
    server_vad=True,
    semantic_vad=False,
    # The server cuts generation where it heard the user and keeps only what it sent.
    interruption="server_truncates",
    tools=True,
    # No "say this" mode: say() asks the model to repeat the text, which it may reword.
    verbatim_say=False,
    sideband=False,
    media="events",
    audio_formats=("pcm16",),
)
"""What Gemini Live and this codec support; a transport narrows it."""

ERRORS = ProviderErrors(
    codes={"unsupported_update": "fatal"},
    close_codes={
        1007: "fatal",  # "Request contains an invalid argument.": the same request fails again
        1008: "fatal",  # policy: bad model, unsupported operation, refused credentials
        1011: "retryable",  # internal error, unavailable, or the connection's deadline
    },
    close_reasons={
        "API key not valid": "authentication",
        "API_KEY_INVALID": "authentication",
        "PERMISSION_DENIED": "authentication",
        "UNAUTHENTICATED": "authentication",
        "ephemeral token": "authentication",
        "unregistered callers": "authentication",
        # A stale resumption handle: the session goes on without it (text restore).
        "resumption handle": "retryable",
        "session not found": "retryable",
        "Deadline expired": "session_expired",
    },
)
"""How Gemini's close codes and reasons classify (Gemini reports errors by closing)."""


@hookimpl
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register Gemini Live (the Developer API's BidiGenerateContent)."""
    register(
        ProviderSpec(
            name="gemini",
            codec=lazy_codec("liveloop_gemini.codec:GeminiCodec"),
            features=FEATURES,
            description="Gemini Live API (BidiGenerateContent; native-audio models)",
            api_key_env="GEMINI_API_KEY",
            base_url_env="GEMINI_BASE_URL",
            default_base_url="https://generativelanguage.googleapis.com",
            defaults=DEFAULTS,
            transport_packages=TRANSPORT_PACKAGES,
            emulator=GeminiEmulated(),
            errors=ERRORS,
        )
    )
