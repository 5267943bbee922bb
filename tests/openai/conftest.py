"""Helpers for the OpenAI codec tests: a strict oracle for client events (the official
SDK's types, with unknown keys rejected) and builders of realistic GA server events."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest
from openai.types.realtime import RealtimeClientEvent
from pydantic import BaseModel, Field, TypeAdapter

import liveloop
from liveloop.actions import Action
from liveloop.events import Event
from liveloop_openai import OpenAICodec

CLIENT_EVENTS: TypeAdapter[Any] = TypeAdapter(
    Annotated[RealtimeClientEvent, Field(discriminator="type")]
)


def unknown_keys(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            yield f"{path}.{key}"
        for name in type(value).model_fields:
            yield from unknown_keys(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from unknown_keys(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from unknown_keys(item, f"{path}.{key}")


def validate_client_event(message: str) -> dict[str, Any]:
    """Validate one encoded wire event against the SDK's client events, strictly: a key
    the SDK does not know (which it would otherwise accept as ``model_extra``) fails."""
    data = json.loads(message)
    assert isinstance(data, dict)
    model = CLIENT_EVENTS.validate_python(data)
    unknown = list(unknown_keys(model, data["type"]))
    assert not unknown, f"keys the SDK does not know: {unknown}"
    return data


class Wire:
    """One codec under test, fed server events as dicts, checked on every encode."""

    def __init__(self, config: liveloop.SessionConfig) -> None:
        self.codec = OpenAICodec(config)
        self._ids = itertools.count(1)

    def event_id(self) -> str:
        return f"event_{next(self._ids):04d}"

    def recv(self, kind: str, **fields: Any) -> list[Event]:
        """Decode a server event of type ``kind`` (an ``event_id`` is added)."""
        return self.codec.decode(json.dumps({"type": kind, "event_id": self.event_id(), **fields}))

    def send(self, action: Action) -> list[dict[str, Any]]:
        """Encode ``action``; every wire event is validated against the SDK."""
        return [validate_client_event(message) for message in self.codec.encode(action)]


@pytest.fixture
def make_wire() -> Callable[..., Wire]:
    """Factory: ``make_wire(**config)`` -> a :class:`Wire` over a fresh codec."""

    def make(**config: Any) -> Wire:
        return Wire(liveloop.SessionConfig(**config))

    return make


@pytest.fixture
def wire(make_wire: Callable[..., Wire]) -> Wire:
    """A Wire with the default configuration (server VAD, transcription on)."""
    return make_wire()


# -- realistic GA payloads (shapes from the protocol reference) --------------------------


def session_object(**overrides: Any) -> dict[str, Any]:
    """The effective session as ``session.created`` carries it."""
    session: dict[str, Any] = {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_001",
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "prompt": None,
        "expires_at": 1760000000,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 500,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "marin",
                "speed": 1.0,
            },
        },
    }
    session.update(overrides)
    return session


def response_object(
    response_id: str = "resp_001",
    *,
    status: str = "in_progress",
    output: list[dict[str, Any]] | None = None,
    metadata: dict[str, str] | None = None,
    status_details: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``realtime.response`` object."""
    return {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": status_details,
        "output": output or [],
        "conversation_id": "conv_001",
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
        "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
        "metadata": metadata,
        "usage": usage,
    }


USAGE = {
    "total_tokens": 120,
    "input_tokens": 100,
    "output_tokens": 20,
    "input_token_details": {
        "text_tokens": 80,
        "audio_tokens": 20,
        "image_tokens": 0,
        "cached_tokens": 0,
        "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 5, "audio_tokens": 15},
}


def user_audio_item(item_id: str) -> dict[str, Any]:
    """A user message made by committing audio (transcript still unknown)."""
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": None}],
    }


def user_text_item(item_id: str, text: str) -> dict[str, Any]:
    """A typed user message."""
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_text", "text": text}],
    }


def function_call_item(
    item_id: str = "item_fc1",
    call_id: str = "call_001",
    name: str = "get_weather",
    arguments: str = '{"city":"Paris"}',
    status: str = "completed",
) -> dict[str, Any]:
    """A function call the model made."""
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def transcription_usage() -> dict[str, Any]:
    """``usage`` of a completed input transcription (required in GA)."""
    return {"type": "tokens", "input_tokens": 10, "output_tokens": 3, "total_tokens": 13}
