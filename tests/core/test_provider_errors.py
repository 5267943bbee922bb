"""Provider error classification: what the runtime does comes from the provider's spec."""

from __future__ import annotations

import liveloop
from liveloop.plugin import STANDARD_CLOSE_CODES, ProviderErrors
from liveloop_openai.errors import ERRORS


def test_codes_classify_by_the_providers_table() -> None:
    errors = ProviderErrors(codes={"busy": "response_active", "gone": "fatal"})
    assert errors.classify("busy") == "response_active"
    assert errors.classify("gone") == "fatal"
    assert errors.classify("never heard of it") is None
    assert errors.classify(None) is None
    assert errors.classify("http_401") == "authentication"  # a refused handshake


def test_close_codes_standard_then_provider_then_reasons() -> None:
    errors = ProviderErrors(
        close_codes={4001: "fatal"}, close_reasons={"Expired": "session_expired"}
    )
    assert errors.classify_close(1011, "internal error") == "retryable"
    assert errors.classify_close(1008, "policy violation") == "fatal"
    assert errors.classify_close(4001, None) == "fatal"
    assert errors.classify_close(4000, "custom") is None  # unknown: reconnected
    assert errors.classify_close(1008, "session expired") == "session_expired"
    for code in (1001, 1006, 1011, 1012, 1013):
        assert not ProviderErrors.ends_session(STANDARD_CLOSE_CODES[code])
    for code in (1003, 1008):
        assert ProviderErrors.ends_session(STANDARD_CLOSE_CODES[code])


def test_the_openai_plugin_declares_its_codes() -> None:
    assert ERRORS.classify("conversation_already_has_active_response") == "response_active"
    assert ERRORS.classify("invalid_api_key") == "authentication"
    limit = "Your session hit the maximum duration of 60 minutes."
    assert ERRORS.classify_close(1001, limit) == "session_expired"
    assert liveloop.plugin.get_plugin_manager().providers()["openai"].spec.errors is ERRORS
