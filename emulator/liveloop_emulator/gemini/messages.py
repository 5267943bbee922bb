"""Gemini Live client messages as pydantic models.

Clients write proto3 JSON: the google-genai SDK mixes camelCase and snake_case keys at
every depth (``realtime_input``, ``speechConfig.voice_config``…) and sends URL-safe
base64; the service takes all of it, and so does this module. Fields the emulator does
not use are accepted and ignored, as the service accepts fields a model does not use.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

__all__ = [
    "ActivityDetection",
    "Blob",
    "ClientContent",
    "ClientMessage",
    "Content",
    "ContextUpdate",
    "FunctionResponse",
    "InvalidMessage",
    "RealtimeInput",
    "Setup",
    "ToolResponse",
    "audio_rate",
    "decode_base64",
    "parse_message",
]


class InvalidMessage(Exception):
    """A client frame Gemini would refuse (the emulator closes with 1007, as it does)."""


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Part(_Wire):
    text: str | None = None


class Content(_Wire):
    role: str | None = None
    parts: list[Part] = []

    @property
    def text(self) -> str:
        return "".join(part.text or "" for part in self.parts)


class ActivityDetection(_Wire):
    disabled: bool = False
    start_of_speech_sensitivity: str | None = None
    end_of_speech_sensitivity: str | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None


class RealtimeInputConfig(_Wire):
    automatic_activity_detection: ActivityDetection | None = None
    activity_handling: str | None = None


class _PrebuiltVoice(_Wire):
    voice_name: str | None = None


class _VoiceConfig(_Wire):
    prebuilt_voice_config: _PrebuiltVoice | None = None


class _SpeechConfig(_Wire):
    voice_config: _VoiceConfig | None = None


class GenerationConfig(_Wire):
    response_modalities: list[str] | None = None
    speech_config: _SpeechConfig | None = None


class FunctionDeclaration(_Wire):
    name: str


class Tool(_Wire):
    function_declarations: list[FunctionDeclaration] | None = None


class SessionResumption(_Wire):
    handle: str | None = None


class Setup(_Wire):
    model: str
    generation_config: GenerationConfig | None = None
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    realtime_input_config: RealtimeInputConfig | None = None
    input_audio_transcription: dict[str, Any] | None = None
    output_audio_transcription: dict[str, Any] | None = None
    session_resumption: SessionResumption | None = None
    context_window_compression: dict[str, Any] | None = None

    @property
    def tool_names(self) -> list[str]:
        return [
            declaration.name
            for tool in self.tools or []
            for declaration in tool.function_declarations or []
        ]


class ClientContent(_Wire):
    turns: list[Content] = []
    turn_complete: bool = False


class Blob(_Wire):
    mime_type: str = ""
    data: str = ""


class RealtimeInput(_Wire):
    audio: Blob | None = None
    media_chunks: list[Blob] | None = None
    text: str | None = None
    audio_stream_end: bool | None = None
    activity_start: dict[str, Any] | None = None
    activity_end: dict[str, Any] | None = None


class FunctionResponse(_Wire):
    id: str | None = None
    name: str | None = None
    response: dict[str, Any] | None = None


class ToolResponse(_Wire):
    function_responses: list[FunctionResponse] = []


class _Tools(_Wire):
    tools: list[Tool] = []


class ContextUpdate(_Wire):
    system_instruction: Content | None = None
    tools: _Tools | None = None


ClientMessage = Setup | ClientContent | RealtimeInput | ToolResponse | ContextUpdate

_KINDS: dict[str, type[_Wire]] = {
    "setup": Setup,
    "clientContent": ClientContent,
    "realtimeInput": RealtimeInput,
    "toolResponse": ToolResponse,
    "contextUpdate": ContextUpdate,
}
_SNAKE = {
    "client_content": "clientContent",
    "realtime_input": "realtimeInput",
    "tool_response": "toolResponse",
    "context_update": "contextUpdate",
}


def parse_message(frame: str | bytes) -> ClientMessage:
    """One client frame -> its message; :class:`InvalidMessage` says what is wrong."""
    try:
        data = json.loads(frame)
    except (ValueError, RecursionError):
        raise InvalidMessage("Invalid JSON payload received.") from None
    if not isinstance(data, dict) or len(data) != 1:
        raise InvalidMessage("Request must set exactly one message field.")
    ((key, body),) = data.items()
    kind = _KINDS.get(_SNAKE.get(key, key)) if isinstance(key, str) else None
    if kind is None:
        raise InvalidMessage(f'Invalid JSON payload received. Unknown name "{key}".')
    try:
        message = kind.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidMessage(f"Invalid value at '{key}.{where}': {first['msg']}") from None
    assert isinstance(message, Setup | ClientContent | RealtimeInput | ToolResponse | ContextUpdate)
    return message


def decode_base64(data: str) -> bytes:
    """Standard or URL-safe base64, padded or not (the SDK sends URL-safe)."""
    try:
        data = data.replace("-", "+").replace("_", "/")
        return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMessage("Invalid value: audio data is not base64.") from None


def audio_rate(mime_type: str) -> int:
    """The sample rate of an ``audio/pcm;rate=N`` MIME type (16 kHz when unstated)."""
    kind, _, params = mime_type.partition(";")
    if kind.strip() != "audio/pcm":
        raise InvalidMessage(f"Unsupported mime type: {mime_type!r}.")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip() == "rate":
            if not value.strip().isdigit() or not 8000 <= int(value) <= 48000:
                raise InvalidMessage(f"Unsupported sample rate in {mime_type!r}.")
            return int(value)
    return 16000
