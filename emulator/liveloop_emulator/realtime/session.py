"""The GA session object: its defaults, ``session.update`` merging, and the engine settings
it stands for."""

from __future__ import annotations

import copy
from typing import Any

from ..engine import Settings, TurnDetection
from .errors import ProtocolError, invalid_value, missing, unknown, validate, wrong_type
from .session_models import (
    EAGERNESS_SILENCE_MS,
    SEMANTIC_VAD_DEFAULTS,
    SERVER_VAD_DEFAULTS,
    AudioFormat,
    FunctionChoice,
    FunctionTool,
    McpChoice,
    SemanticVad,
    ServerVad,
    SessionPatch,
    Tracing,
    Truncation,
    VoiceRef,
)

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "check_tool_choice",
    "check_tools",
    "default_session",
    "merge_session",
    "normalize_format",
    "settings_of",
]

DEFAULT_INSTRUCTIONS = "You are a helpful, concise voice assistant."

_PASSED_AS_IS = ("instructions", "output_modalities", "max_output_tokens", "include", "prompt")
_COPIED = ("tracing", "truncation", "reasoning")
_IGNORED = ("type", "id", "object", "expires_at", "parallel_tool_calls")


def default_session(model: str, *, session_id: str, expires_at: int) -> dict[str, Any]:
    """The full GA session object the emulator starts every session with."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "prompt": None,
        "truncation": "auto",
        "include": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(SERVER_VAD_DEFAULTS),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
    }


def settings_of(session: dict[str, Any]) -> Settings:
    """The engine settings a session object stands for."""
    td = session["audio"]["input"]["turn_detection"]
    detection: TurnDetection | None = None
    if isinstance(td, dict):
        if td.get("type") == "semantic_vad":
            detection = TurnDetection(
                silence_duration_ms=EAGERNESS_SILENCE_MS[td.get("eagerness") or "auto"],
                create_response=bool(td.get("create_response", True)),
                interrupt_response=bool(td.get("interrupt_response", True)),
            )
        else:
            detection = TurnDetection(
                threshold=float(td["threshold"]),
                prefix_padding_ms=int(td["prefix_padding_ms"]),
                silence_duration_ms=int(td["silence_duration_ms"]),
                create_response=bool(td.get("create_response", True)),
                interrupt_response=bool(td.get("interrupt_response", True)),
            )
    return Settings(
        instructions=str(session["instructions"]),
        modalities=tuple(session["output_modalities"]),
        turn_detection=detection,
        transcribe_input=session["audio"]["input"]["transcription"] is not None,
        allow_tools=session["tool_choice"] != "none",
    )


def normalize_format(value: Any, param: str) -> dict[str, Any]:
    fmt = validate(AudioFormat, value, param)
    if fmt.type == "audio/pcm":
        rate = fmt.rate if "rate" in fmt.model_fields_set else 24000
        if rate != 24000:
            raise invalid_value(f"{param}.rate", rate, [24000])
        return {"type": "audio/pcm", "rate": 24000}
    if "rate" in fmt.model_fields_set:
        raise unknown(f"{param}.rate")
    return {"type": fmt.type}


def check_tools(value: Any, param: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise wrong_type(param, "an array", value)
    for index, tool in enumerate(value):
        p = f"{param}[{index}]"
        if not isinstance(tool, dict):
            raise wrong_type(p, "an object", tool)
        kind = tool.get("type", "function")
        if kind == "function":
            validate(FunctionTool, tool, p)
        elif kind != "mcp":
            raise invalid_value(f"{p}.type", kind, ["function", "mcp"])
    return copy.deepcopy(value)


def check_tool_choice(value: Any, param: str) -> Any:
    if isinstance(value, str):
        if value not in ("auto", "none", "required"):
            raise invalid_value(param, value, ["auto", "none", "required"])
        return value
    if not isinstance(value, dict):
        raise wrong_type(param, "an object", value)
    kind = value.get("type")
    if kind == "function":
        validate(FunctionChoice, value, param)
    elif kind == "mcp":
        validate(McpChoice, value, param)
    else:
        raise invalid_value(f"{param}.type", kind, ["function", "mcp"])
    return copy.deepcopy(value)


def merge_session(
    current: dict[str, Any], update: Any, *, param: str = "session", audio_started: bool = False
) -> dict[str, Any]:
    """Validate a session config and return ``current`` merged with it (a new dict).

    Only the fields present change; nested objects merge; ``null`` clears a nullable field.
    Raises :class:`ProtocolError` for anything OpenAI would reject.
    """
    if not isinstance(update, dict):
        raise wrong_type(param, "an object", update)
    if "type" not in update:
        raise missing(f"{param}.type")
    if update["type"] == "transcription":
        raise ProtocolError(
            "Transcription sessions are not supported by the emulator.",
            code="invalid_value",
            param=f"{param}.type",
        )
    validate(SessionPatch, update, param)
    new = copy.deepcopy(current)
    for key, value in update.items():
        p = f"{param}.{key}"
        if key in _IGNORED:
            continue
        if key == "model":
            if value != current.get("model"):
                raise ProtocolError("Cannot update a session's model.", param=p)
        elif key in _PASSED_AS_IS:
            new[key] = copy.deepcopy(value)
        elif key == "tools":
            new[key] = check_tools(value, p)
        elif key == "tool_choice":
            new[key] = check_tool_choice(value, p)
        elif key in _COPIED:
            if isinstance(value, dict) and key != "reasoning":
                validate(Tracing if key == "tracing" else Truncation, value, p)
            new[key] = copy.deepcopy(value)
        elif key == "audio":
            _merge_audio(new["audio"], current, update["audio"], p, audio_started=audio_started)
    return new


def _merge_audio(
    target: dict[str, Any],
    current: dict[str, Any],
    patch: dict[str, Any],
    param: str,
    *,
    audio_started: bool,
) -> None:
    inp = patch.get("input")
    if inp is not None:
        p = f"{param}.input"
        cur = target["input"]
        if "format" in inp:
            cur["format"] = normalize_format(inp["format"], f"{p}.format")
        for key in ("transcription", "noise_reduction"):
            if key in inp:
                cur[key] = copy.deepcopy(inp[key])
        if "turn_detection" in inp:
            cur["turn_detection"] = _merge_turn_detection(
                cur.get("turn_detection"), inp["turn_detection"], f"{p}.turn_detection"
            )
    out = patch.get("output")
    if out is not None:
        p = f"{param}.output"
        cur = target["output"]
        if "format" in out:
            cur["format"] = normalize_format(out["format"], f"{p}.format")
        if "voice" in out:
            voice = out["voice"]
            if isinstance(voice, dict):
                voice = validate(VoiceRef, voice, f"{p}.voice").model_dump()
            if audio_started and voice != current["audio"]["output"]["voice"]:
                raise ProtocolError(
                    "Cannot update a conversation's voice if assistant audio is present.",
                    code="cannot_update_voice",
                    param=f"{p}.voice",
                )
            cur["voice"] = voice
        if "speed" in out:
            cur["speed"] = float(out["speed"])


def _merge_turn_detection(current: Any, value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    kind = value.get("type", current.get("type") if isinstance(current, dict) else "server_vad")
    if kind == "server_vad":
        base = dict(SERVER_VAD_DEFAULTS)
        validate(ServerVad, value, param)
    elif kind == "semantic_vad":
        base = dict(SEMANTIC_VAD_DEFAULTS)
        validate(SemanticVad, value, param)
    else:
        raise invalid_value(f"{param}.type", kind, ["server_vad", "semantic_vad"])
    if isinstance(current, dict) and current.get("type") == kind:
        base.update(current)
    base.update(value)
    base["type"] = kind
    return base
