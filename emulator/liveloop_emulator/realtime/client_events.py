"""Pydantic models of the GA client events (``RealtimeClientEvent``), strict as OpenAI is.

:func:`parse_event` checks an event's ``type`` and ``event_id`` and validates the rest with
the event's model; values whose shape depends on the session (a session patch, items,
response parameters) are checked further by the handlers.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field
from pydantic_core import PydanticCustomError

from .errors import (
    Strict,
    at_least,
    checked,
    invalid_value,
    missing,
    protocol,
    validate,
    wrong_type,
)
from .session_models import MaxTokens, Modalities

__all__ = [
    "CLIENT_EVENTS",
    "ResponseAudio",
    "ResponseParams",
    "is_plain_append",
    "parse_event",
    "parse_response_params",
]


class _Event(Strict):
    type: str
    event_id: str | None = None


class SessionUpdate(_Event):
    session: dict[str, Any]


class InputAudioBufferAppend(_Event):
    audio: str


class NoFields(_Event):
    pass


class ConversationItemCreate(_Event):
    item: dict[str, Any]
    previous_item_id: str | None = None


class ItemById(_Event):
    item_id: str


class ConversationItemTruncate(_Event):
    item_id: str
    content_index: Annotated[int, at_least(0)]
    audio_end_ms: Annotated[int, at_least(0)]


class ResponseCreate(_Event):
    response: dict[str, Any] | None = None


class ResponseCancel(_Event):
    response_id: str | None = None


CLIENT_EVENTS: dict[str, type[_Event]] = {
    "session.update": SessionUpdate,
    "input_audio_buffer.append": InputAudioBufferAppend,
    "input_audio_buffer.commit": NoFields,
    "input_audio_buffer.clear": NoFields,
    "conversation.item.create": ConversationItemCreate,
    "conversation.item.retrieve": ItemById,
    "conversation.item.truncate": ConversationItemTruncate,
    "conversation.item.delete": ItemById,
    "response.create": ResponseCreate,
    "response.cancel": ResponseCancel,
    "output_audio_buffer.clear": NoFields,
}
"""Each GA client event type and its model."""


def parse_event(event: dict[str, Any]) -> BaseModel:
    """The validated event (raises :class:`~.errors.ProtocolError`)."""
    if "event_id" in event and not isinstance(event["event_id"], str):
        raise wrong_type("event_id", "a string", event["event_id"])
    kind = event.get("type")
    if kind is None:
        raise missing("type")
    if not isinstance(kind, str):
        raise wrong_type("type", "a string", kind)
    model = CLIENT_EVENTS.get(kind)
    if model is None:
        raise invalid_value("type", kind, list(CLIENT_EVENTS))
    return validate(model, event)


_APPEND_KEYS = frozenset(("type", "event_id", "audio"))


def is_plain_append(event: dict[str, Any]) -> bool:
    """Whether ``event`` is an ``input_audio_buffer.append`` that :func:`parse_event` would
    accept as it is (its ``audio`` a string, its ``event_id`` a string if any, no other
    field): a check by hand, since it runs for every chunk of user audio. Anything else goes
    through the model, which words the error."""
    return (
        event.get("type") == "input_audio_buffer.append"
        and type(event.get("audio")) is str
        and type(event.get("event_id", "")) is str
        and event.keys() <= _APPEND_KEYS
    )


# -- response.create's parameters


def _conversation(value: Any) -> Any:
    if value in ("auto", "none"):
        return value
    if isinstance(value, str):
        raise PydanticCustomError("invalid_value", "invalid value", {"allowed": ("auto", "none")})
    raise PydanticCustomError("wrong_type", "wrong type", {"expected": "a string"})


def _metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > 16:
        raise protocol("invalid_value", "Invalid '{param}': too many keys (at most 16).")
    return value


class ResponseAudioOutput(Strict):
    format: dict[str, Any] = Field(default=None)  # type: ignore[arg-type]
    voice: Any = None


class ResponseAudio(Strict):
    output: ResponseAudioOutput = Field(default=None)  # type: ignore[assignment]


class ResponseParams(Strict):
    """``response.create``'s ``response``: ``tools``, ``tool_choice``, ``input`` entries,
    ``audio.output.format`` and ``.voice`` are checked further by the handler."""

    instructions: str | None = None
    output_modalities: Modalities = None
    conversation: Annotated[Any, checked(_conversation)] = "auto"
    metadata: Annotated[dict[str, str], checked(_metadata)] | None = None
    tool_choice: Any = None
    tools: Any = None
    input: list[dict[str, Any]] | None = None
    audio: ResponseAudio = Field(default=None)  # type: ignore[assignment]
    max_output_tokens: MaxTokens = None
    prompt: Any = None
    reasoning: Any = None
    parallel_tool_calls: Any = None
    tracing: Any = None


def parse_response_params(value: dict[str, Any]) -> ResponseParams:
    return validate(ResponseParams, value, "response")
