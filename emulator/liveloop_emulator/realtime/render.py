"""Engine events rendered as GA server events (dicts without ``event_id``)."""

from __future__ import annotations

import copy
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..engine import Response, Usage
from ..engine import events as ev
from .items import wire_item

__all__ = [
    "ResponseTag",
    "new_event_id",
    "render",
    "response_object",
    "session_object",
    "usage_object",
    "voice_name",
]


_EVENT_PREFIX = "event_" + secrets.token_hex(4)
_event_numbers = itertools.count(1)


def new_event_id() -> str:
    """A unique ``event_...`` id: a random process prefix and a counter (no syscall per
    event: this runs for every event sent)."""
    return f"{_EVENT_PREFIX}{next(_event_numbers):012x}"


def voice_name(voice: Any) -> Any:
    """A voice as server events carry it: a custom voice (``{"id": ...}``, accepted from
    clients) by its id, since the SDK's session and response types take only a string."""
    return voice["id"] if isinstance(voice, dict) else voice


def session_object(session: dict[str, Any]) -> dict[str, Any]:
    """The session as ``session.created``/``.updated`` carry it (a copy)."""
    out = copy.deepcopy(session)
    output = out["audio"]["output"]
    output["voice"] = voice_name(output["voice"])
    return out


@dataclass(frozen=True)
class ResponseTag:
    """What a response carries for this protocol only (the engine's ``Response.tag``)."""

    output_format: dict[str, Any]
    voice: Any
    max_output_tokens: Any
    metadata: dict[str, str] | None


def usage_object(usage: Usage) -> dict[str, Any]:
    return {
        "total_tokens": usage.total_tokens,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "input_token_details": {
            "text_tokens": usage.input_text_tokens,
            "audio_tokens": usage.input_audio_tokens,
            "image_tokens": 0,
            "cached_tokens": usage.cached_tokens,
            "cached_tokens_details": {
                "text_tokens": usage.cached_tokens,
                "audio_tokens": 0,
                "image_tokens": 0,
            },
        },
        "output_token_details": {
            "text_tokens": usage.output_text_tokens,
            "audio_tokens": usage.output_audio_tokens,
        },
    }


def response_object(response: Response, conversation_id: str) -> dict[str, Any]:
    """The GA ``realtime.response`` object of ``response`` as it stands."""
    tag = response.tag
    assert isinstance(tag, ResponseTag)
    obj: dict[str, Any] = {
        "id": response.id,
        "object": "realtime.response",
        "status": response.status,
        "status_details": None,
        "output": [wire_item(item) for item in response.output],
        "conversation_id": conversation_id if response.conversation else None,
        "output_modalities": list(response.modalities),
        "max_output_tokens": tag.max_output_tokens,
        "audio": {"output": {"format": dict(tag.output_format), "voice": voice_name(tag.voice)}},
        "metadata": tag.metadata,
        "usage": None if response.usage is None else usage_object(response.usage),
    }
    if response.status == "cancelled":
        obj["status_details"] = {"type": "cancelled", "reason": response.cancel_reason}
    return obj


def _at(at: ev.Position) -> dict[str, Any]:
    return {
        "response_id": at.response_id,
        "item_id": at.item_id,
        "output_index": at.output_index,
        "content_index": at.content_index,
    }


def _rate_limits(usage: Usage | None) -> dict[str, Any]:
    used = usage.total_tokens if usage is not None else 0
    return {
        "type": "rate_limits.updated",
        "rate_limits": [
            {"name": "requests", "limit": 10000, "remaining": 9999, "reset_seconds": 0.006},
            {
                "name": "tokens",
                "limit": 2000000,
                "remaining": 2000000 - used,
                "reset_seconds": round(used * 0.00003, 3),
            },
        ],
    }


def render(event: ev.EngineEvent, conversation_id: str) -> list[dict[str, Any]]:
    """The server events for one engine event (none for events GA has no word for)."""
    renderer = _RENDERERS.get(type(event))
    return [] if renderer is None else renderer(event, conversation_id)


def _one(build: Callable[[Any], dict[str, Any]]) -> Callable[[Any, str], list[dict[str, Any]]]:
    return lambda event, _conversation_id: [build(event)]


def _response_done(event: ev.ResponseDone, conversation_id: str) -> list[dict[str, Any]]:
    return [
        {"type": "response.done", "response": response_object(event.response, conversation_id)},
        _rate_limits(event.response.usage),
    ]


_RENDERERS: dict[type[Any], Callable[[Any, str], list[dict[str, Any]]]] = {
    ev.SpeechStarted: _one(
        lambda e: {
            "type": "input_audio_buffer.speech_started",
            "audio_start_ms": e.audio_start_ms,
            "item_id": e.item_id,
        }
    ),
    ev.SpeechStopped: _one(
        lambda e: {
            "type": "input_audio_buffer.speech_stopped",
            "audio_end_ms": e.audio_end_ms,
            "item_id": e.item_id,
        }
    ),
    ev.InputCommitted: _one(
        lambda e: {
            "type": "input_audio_buffer.committed",
            "previous_item_id": e.previous_item_id,
            "item_id": e.item_id,
        }
    ),
    ev.InputCleared: _one(lambda e: {"type": "input_audio_buffer.cleared"}),
    ev.TranscriptionDelta: _one(
        lambda e: {
            "type": "conversation.item.input_audio_transcription.delta",
            "item_id": e.item_id,
            "content_index": e.content_index,
            "delta": e.delta,
        }
    ),
    ev.TranscriptionCompleted: _one(
        lambda e: {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": e.item_id,
            "content_index": e.content_index,
            "transcript": e.transcript,
            "usage": {
                "type": "tokens",
                "input_tokens": e.audio_tokens,
                "output_tokens": e.text_tokens,
                "total_tokens": e.audio_tokens + e.text_tokens,
                "input_token_details": {"text_tokens": 0, "audio_tokens": e.audio_tokens},
            },
        }
    ),
    ev.ItemAdded: _one(
        lambda e: {
            "type": "conversation.item.added",
            "previous_item_id": e.previous_item_id,
            "item": wire_item(e.item),
        }
    ),
    ev.ItemDone: _one(
        lambda e: {
            "type": "conversation.item.done",
            "previous_item_id": e.previous_item_id,
            "item": wire_item(e.item),
        }
    ),
    ev.ItemDeleted: _one(lambda e: {"type": "conversation.item.deleted", "item_id": e.item_id}),
    ev.ItemTruncated: _one(
        lambda e: {
            "type": "conversation.item.truncated",
            "item_id": e.item_id,
            "content_index": e.content_index,
            "audio_end_ms": e.audio_end_ms,
        }
    ),
    ev.ResponseStarted: lambda e, conv: [
        {"type": "response.created", "response": response_object(e.response, conv)}
    ],
    ev.ResponseDone: _response_done,
    ev.OutputItemAdded: _one(
        lambda e: {
            "type": "response.output_item.added",
            "response_id": e.response.id,
            "output_index": e.output_index,
            "item": wire_item(e.item),
        }
    ),
    ev.OutputItemDone: _one(
        lambda e: {
            "type": "response.output_item.done",
            "response_id": e.response.id,
            "output_index": e.output_index,
            "item": wire_item(e.item),
        }
    ),
    ev.PartAdded: _one(
        lambda e: {"type": "response.content_part.added", **_at(e.at), "part": dict(e.part)}
    ),
    ev.PartDone: _one(
        lambda e: {"type": "response.content_part.done", **_at(e.at), "part": dict(e.part)}
    ),
    ev.TextDelta: _one(
        lambda e: {"type": "response.output_text.delta", **_at(e.at), "delta": e.delta}
    ),
    ev.TextDone: _one(lambda e: {"type": "response.output_text.done", **_at(e.at), "text": e.text}),
    ev.TranscriptDelta: _one(
        lambda e: {"type": "response.output_audio_transcript.delta", **_at(e.at), "delta": e.delta}
    ),
    ev.AudioDone: _one(lambda e: {"type": "response.output_audio.done", **_at(e.at)}),
    ev.TranscriptDone: _one(
        lambda e: {
            "type": "response.output_audio_transcript.done",
            **_at(e.at),
            "transcript": e.transcript,
        }
    ),
    ev.ArgumentsDelta: _one(
        lambda e: {
            "type": "response.function_call_arguments.delta",
            "response_id": e.at.response_id,
            "item_id": e.at.item_id,
            "output_index": e.at.output_index,
            "call_id": e.call_id,
            "delta": e.delta,
        }
    ),
    ev.ArgumentsDone: _one(
        lambda e: {
            "type": "response.function_call_arguments.done",
            "response_id": e.at.response_id,
            "item_id": e.at.item_id,
            "output_index": e.at.output_index,
            "call_id": e.call_id,
            "name": e.name,
            "arguments": e.arguments,
        }
    ),
    ev.OutputCleared: _one(
        lambda e: {"type": "output_audio_buffer.cleared", "response_id": e.response_id}
    ),
    ev.PlayoutStarted: _one(
        lambda e: {"type": "output_audio_buffer.started", "response_id": e.response_id}
    ),
    ev.PlayoutStopped: _one(
        lambda e: {"type": "output_audio_buffer.stopped", "response_id": e.response_id}
    ),
}
