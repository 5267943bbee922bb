"""Pydantic models of the GA session config a client sends (``session.update``, client
secrets, calls), as strict as OpenAI is; values are merged by :mod:`.session`."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field
from pydantic_core import PydanticCustomError

from .errors import Strict, at_least, checked, in_range, one_of, protocol

__all__ = [
    "EAGERNESS_SILENCE_MS",
    "SEMANTIC_VAD_DEFAULTS",
    "SERVER_VAD_DEFAULTS",
    "AudioFormat",
    "AudioPatch",
    "FunctionChoice",
    "FunctionTool",
    "McpChoice",
    "NoiseReduction",
    "Prompt",
    "Reasoning",
    "SemanticVad",
    "ServerVad",
    "SessionPatch",
    "Tracing",
    "Transcription",
    "Truncation",
    "VoiceRef",
    "max_tokens",
    "modalities",
]

EAGERNESS_SILENCE_MS = {"low": 800, "medium": 500, "auto": 500, "high": 250}
"""``semantic_vad`` eagerness mapped to the silence duration that ends a turn."""

SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}


def modalities(value: Any) -> Any:
    if not isinstance(value, list):
        raise PydanticCustomError("wrong_type", "wrong type", {"expected": "an array"})
    if value not in (["audio"], ["text"]):
        raise protocol(
            "invalid_value", "Invalid '{param}': expected ['audio'] or ['text'], got " + _j(value)
        )
    return value


def max_tokens(value: Any) -> Any:
    if value == "inf":
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("wrong_type", "wrong type", {"expected": "an integer"})
    if value < 1:
        raise PydanticCustomError("below_minimum", "below minimum", {"minimum": 1})
    if value > 4096:
        raise protocol(
            "invalid_value",
            "Invalid '{param}': expected a value <= 4096 or 'inf', got " + _j(value),
        )
    return value


def _j(value: Any) -> str:
    return json.dumps(value) + "."


def _voice(value: Any) -> Any:
    """A built-in voice's name, or a custom voice: ``{"id": "voice_..."}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value  # checked against VoiceRef by the merge, which knows the path
    raise PydanticCustomError("wrong_type", "wrong type", {"expected": "a string"})


Modalities = Annotated[Any, checked(modalities)]
MaxTokens = Annotated[Any, checked(max_tokens)]
Millis = Annotated[int, at_least(0)]


class VoiceRef(Strict):
    id: str


class AudioFormat(Strict):
    type: Annotated[Any, one_of("audio/pcm", "audio/pcmu", "audio/pcma")] = "audio/pcm"
    rate: Any = None


class Transcription(Strict):
    model: str = ""
    language: str = ""
    prompt: str = ""
    languages: Any = None
    keywords: Any = None
    delay: Any = None


class NoiseReduction(Strict):
    type: Annotated[Any, one_of("near_field", "far_field")]
    strength: Any = None


class ServerVad(Strict):
    type: str = "server_vad"
    threshold: Annotated[float, in_range(0.0, 1.0)] = 0.5
    prefix_padding_ms: Millis = 300
    silence_duration_ms: Millis = 500
    idle_timeout_ms: Millis | None = None
    create_response: bool = True
    interrupt_response: bool = True


class SemanticVad(Strict):
    type: str = "semantic_vad"
    eagerness: Annotated[Any, one_of(*EAGERNESS_SILENCE_MS)] = "auto"
    create_response: bool = True
    interrupt_response: bool = True


class AudioInputPatch(Strict):
    format: AudioFormat = Field(default=None)  # type: ignore[assignment]
    transcription: Transcription | None = None
    noise_reduction: NoiseReduction | None = None
    turn_detection: dict[str, Any] | None = None


class AudioOutputPatch(Strict):
    format: AudioFormat = Field(default=None)  # type: ignore[assignment]
    voice: Annotated[Any, checked(_voice)] = None
    speed: Annotated[float, in_range(0.25, 1.5)] = 1.0


class AudioPatch(Strict):
    input: AudioInputPatch = Field(default=None)  # type: ignore[assignment]
    output: AudioOutputPatch = Field(default=None)  # type: ignore[assignment]


class FunctionTool(Strict):
    type: str = "function"
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)


class FunctionChoice(Strict):
    type: str
    name: str


class McpChoice(Strict):
    type: str
    server_label: str
    name: Any = None


class Tracing(Strict):
    workflow_name: Any = None
    group_id: Any = None
    metadata: Any = None


class Truncation(Strict):
    type: Annotated[Any, one_of("retention_ratio")] = None
    retention_ratio: Any = None
    token_limits: Any = None


class Prompt(Strict):
    id: str
    version: Any = None
    variables: Any = None


class Reasoning(Strict):
    effort: Any = None


def _auto_or(*words: str) -> Any:
    """One of ``words``, null, or an object (checked against its model by the merge)."""

    def check(value: Any) -> Any:
        if value is None or value in words:
            return value
        if not isinstance(value, dict):
            raise PydanticCustomError("wrong_type", "wrong type", {"expected": "an object"})
        return value

    return checked(check)


class SessionPatch(Strict):
    """A session config; ``tools``, ``tool_choice`` and ``audio.input.turn_detection`` are
    checked item by item (their shape depends on their ``type``), the rest here."""

    type: Annotated[Any, one_of("realtime", "transcription")]
    model: str = ""
    instructions: str = ""
    output_modalities: Modalities = None
    audio: AudioPatch = Field(default=None)  # type: ignore[assignment]
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: Any = None
    max_output_tokens: MaxTokens = None
    tracing: Annotated[Any, _auto_or("auto")] = None
    truncation: Annotated[Any, _auto_or("auto", "disabled")] = None
    include: list[Annotated[Any, one_of("item.input_audio_transcription.logprobs")]] | None = None
    prompt: Prompt | None = None
    reasoning: Reasoning | None = None
    parallel_tool_calls: bool = True
    # Echoed back by clients that resend the session object they received.
    id: Any = None
    object: Any = None
    expires_at: Any = None
