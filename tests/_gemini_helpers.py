"""Helpers for the Gemini tests: client messages checked against the google-genai
SDK's own types (unknown keys rejected at any depth), and a codec set up and ready."""

from __future__ import annotations

import json
from typing import Any

from google.genai import types

import liveloop
from liveloop_gemini import GeminiCodec


def validate_client_message(frame: str) -> dict[str, Any]:
    """Parse a client frame and validate it with the SDK's ``LiveClientMessage``.

    The SDK's ``LiveClientSetup`` lacks ``realtimeInputConfig`` (which the SDK itself
    sends), so that part is validated on its own with ``RealtimeInputConfig``.
    """
    data = json.loads(frame)
    assert isinstance(data, dict) and len(data) == 1, data
    checked = json.loads(frame)
    setup = checked.get("setup")
    if isinstance(setup, dict) and "realtimeInputConfig" in setup:
        types.RealtimeInputConfig.model_validate(setup.pop("realtimeInputConfig"))
    if "contextUpdate" in checked:
        return data  # not in every SDK version's LiveClientMessage
    types.LiveClientMessage.model_validate(checked)
    return data


def make_codec(**options: Any) -> GeminiCodec:
    options.setdefault("provider", "gemini")
    options.setdefault("model", "gemini-3.8-live")
    return GeminiCodec(liveloop.SessionConfig(**options))


def ready_codec(**options: Any) -> GeminiCodec:
    """A codec whose setup was sent and confirmed."""
    codec = make_codec(**options)
    codec.encode(liveloop.actions.UpdateSession(config=codec.config))
    codec.decode('{"setupComplete": {}}')
    return codec
