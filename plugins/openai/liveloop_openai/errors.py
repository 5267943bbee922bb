"""What OpenAI Realtime's error codes and close reasons mean to the liveloop runtime."""

from __future__ import annotations

from liveloop.plugin import ProviderErrors

__all__ = ["ERRORS"]

ERRORS = ProviderErrors(
    codes={
        "conversation_already_has_active_response": "response_active",
        "response_cancel_not_active": "nothing_to_cancel",
        "session_expired": "session_expired",  # older servers, before closing
        "invalid_api_key": "authentication",
        "unauthorized": "authentication",
        "insufficient_quota": "fatal",
        "model_not_found": "fatal",
        "rate_limit_exceeded": "retryable",
        "server_error": "retryable",
    },
    # The GA server ends a session at its length limit with 1001 and this reason.
    close_reasons={"maximum duration": "session_expired"},
)
"""OpenAI's error classification (``ProviderSpec.errors`` of the ``openai`` provider)."""
