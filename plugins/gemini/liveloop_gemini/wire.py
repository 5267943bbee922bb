"""Gemini Live's server messages as pydantic models: what the codec reads, validated.

The service and the SDKs write keys in camelCase or snake_case at any depth (proto3
JSON accepts both), so every model takes either spelling; keys liveloop does not use are
ignored. Binary data arrives as standard or URL-safe base64, padded or not.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from liveloop.codec import b64decode as _standard_b64decode

__all__ = [
    "MESSAGES",
    "TOP_LEVEL",
    "Blob",
    "Content",
    "FunctionCall",
    "GoAway",
    "Part",
    "ResumptionUpdate",
    "ServerContent",
    "SetupComplete",
    "ToolCall",
    "ToolCallCancellation",
    "Transcription",
    "UsageMetadata",
    "VoiceActivity",
    "b64decode",
    "duration_ms",
    "lone_audio",
    "lone_output_text",
    "snake",
    "usage_first",
]


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class SetupComplete(_Wire):
    session_id: str | None = None


class Blob(_Wire):
    mime_type: str | None = None
    data: str = ""


class Part(_Wire):
    text: str | None = None
    inline_data: Blob | None = None
    thought: bool | None = None


class Content(_Wire):
    role: str | None = None
    parts: list[Part] = []


class Transcription(_Wire):
    text: str | None = None
    finished: bool | None = None


class ServerContent(_Wire):
    model_turn: Content | None = None
    input_transcription: Transcription | None = None
    output_transcription: Transcription | None = None
    generation_complete: bool | None = None
    turn_complete: bool | None = None
    interrupted: bool | None = None
    turn_complete_reason: str | None = None


class FunctionCall(_Wire):
    id: str | None = None
    name: str
    args: dict[str, Any] | None = None


class ToolCall(_Wire):
    function_calls: list[FunctionCall] = []


class ToolCallCancellation(_Wire):
    ids: list[str] = []


class GoAway(_Wire):
    time_left: str | None = None


class ResumptionUpdate(_Wire):
    new_handle: str | None = None
    resumable: bool | None = None


class UsageMetadata(_Wire):
    prompt_token_count: int | None = None
    response_token_count: int | None = None
    candidates_token_count: int | None = None  # Vertex's name for the response tokens
    total_token_count: int | None = None


class VoiceActivity(_Wire):
    voice_activity_type: str | None = None


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)s\s*$")


def duration_ms(value: str | None) -> int | None:
    """A proto Duration string (``"50s"``, ``"1.5s"``) in milliseconds; ``None`` when
    absent or not a duration."""
    if value is None:
        return None
    match = _DURATION.match(value)
    return None if match is None else int(float(match.group(1)) * 1000)


def b64decode(data: str) -> bytes:
    """Decode standard or URL-safe base64, with or without padding; raises
    ``ValueError`` for anything else."""
    try:
        return _standard_b64decode(data)  # what the service sends
    except ValueError:  # binascii.Error, or a character outside ASCII
        pass
    try:
        data = data.replace("-", "+").replace("_", "/")
        return _standard_b64decode(data + "=" * (-len(data) % 4))
    except ValueError as exc:
        raise ValueError(f"not base64: {exc}") from None


MESSAGES = (
    "setupComplete",
    "serverContent",
    "toolCall",
    "toolCallCancellation",
    "goAway",
    "sessionResumptionUpdate",
    "voiceActivity",
)


def snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


# Top-level keys in either spelling (proto3 JSON) -> the camelCase name.
TOP_LEVEL = {
    spelling: name for name in (*MESSAGES, "usageMetadata") for spelling in (name, snake(name))
}


def usage_first(key: Any) -> int:
    return 0 if TOP_LEVEL.get(key) == "usageMetadata" else 1


def lone_audio(body: dict[str, Any]) -> str | None:
    """The base64 audio of a ``serverContent`` that is one audio part and nothing else
    (checked field by field, as the models would), else ``None``."""
    turn = body.get("modelTurn", body.get("model_turn"))
    if not isinstance(turn, dict):
        return None
    parts = turn.get("parts")
    if not isinstance(parts, list) or len(parts) != 1:
        return None
    part = parts[0]
    if not isinstance(part, dict) or len(part) != 1:
        return None
    blob = part.get("inlineData", part.get("inline_data"))
    if not isinstance(blob, dict):
        return None
    mime = blob.get("mimeType", blob.get("mime_type"))
    encoded = blob.get("data")
    if not isinstance(encoded, str) or not (mime is None or str(mime).startswith("audio/")):
        return None
    return encoded


def lone_output_text(body: dict[str, Any]) -> str | None:
    """The text of a ``serverContent`` that is one piece of the output transcript and
    nothing else (only ``text``, a string), else ``None``."""
    said = body.get("outputTranscription", body.get("output_transcription"))
    if not isinstance(said, dict) or len(said) != 1:
        return None
    text = said.get("text")
    return text if isinstance(text, str) else None
