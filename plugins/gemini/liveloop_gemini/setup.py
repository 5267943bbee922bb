"""From a :class:`~liveloop.SessionConfig` to Gemini Live's ``setup`` message.

Gemini fixes a session's configuration at ``setup`` (only the system instruction and the
tools can change later, through ``contextUpdate``); everything else changes by dialling
again with a resumption handle. Keys are camelCase, as the service documents them.
"""

from __future__ import annotations

import copy
from typing import Any

from liveloop.config import SemanticVAD, ServerVAD, SessionConfig
from liveloop.errors import ConfigError

from .defaults import INPUT_RATE, OUTPUT_RATE, with_defaults

__all__ = [
    "INPUT_RATE",
    "OUTPUT_RATE",
    "context_update",
    "function_declarations",
    "model_path",
    "setup_message",
]


# Energy thresholds at or under this count as "start speaking early" (high sensitivity).
_SENSITIVE_BELOW = 0.5


def model_path(model: str) -> str:
    """``models/<model>``: the resource name ``setup.model`` takes."""
    return model if model.startswith(("models/", "projects/", "publishers/")) else f"models/{model}"


def check_config(config: SessionConfig) -> None:
    """Raise :class:`ConfigError` naming a field Gemini Live cannot honour."""
    if isinstance(config.turn_detection, SemanticVAD):
        raise ConfigError(
            "turn_detection: Gemini Live has no semantic VAD; use 'server_vad' (its automatic"
            " activity detection) or None (manual turns)"
        )
    if config.input_audio.encoding != "pcm16":
        raise ConfigError(
            f"input_audio: Gemini Live takes PCM16, not {config.input_audio.encoding}"
        )
    output = config.output_audio
    if output.encoding != "pcm16" or output.rate != OUTPUT_RATE:
        raise ConfigError(
            f"output_audio: Gemini Live speaks PCM16 at {OUTPUT_RATE} Hz"
            f" (got {output.encoding} at {output.rate} Hz)"
        )
    if config.tool_choice != "auto":
        raise ConfigError(
            f"tool_choice: Gemini Live lets the model choose tools; {config.tool_choice!r}"
            " cannot be expressed (leave it 'auto')"
        )


def function_declarations(config: SessionConfig) -> list[dict[str, Any]]:
    """The session's tools as Gemini function declarations (JSON-schema parameters).

    Calls are BLOCKING, spelled out because newer models default to NON_BLOCKING: the
    model waits for each result, which liveloop always sends (exactly once).
    """
    return [
        {
            "name": tool.name,
            "description": tool.description,
            "parametersJsonSchema": tool.parameters,
            "behavior": "BLOCKING",
        }
        for tool in config.tools
    ]


def _instruction(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def _realtime_input(config: SessionConfig) -> dict[str, Any]:
    detection = config.turn_detection
    if detection is None:
        return {"automaticActivityDetection": {"disabled": True}}
    assert isinstance(detection, ServerVAD)
    level = "HIGH" if detection.threshold <= _SENSITIVE_BELOW else "LOW"
    return {
        "automaticActivityDetection": {
            "disabled": False,
            "startOfSpeechSensitivity": f"START_SENSITIVITY_{level}",
            "endOfSpeechSensitivity": f"END_SENSITIVITY_{level}",
            "prefixPaddingMs": detection.prefix_padding_ms,
            "silenceDurationMs": detection.silence_duration_ms,
        },
        "activityHandling": (
            "START_OF_ACTIVITY_INTERRUPTS" if detection.interrupt_response else "NO_INTERRUPTION"
        ),
    }


def setup_message(config: SessionConfig, *, resume_handle: str | None = None) -> dict[str, Any]:
    """The ``{"setup": {...}}`` message for ``config``.

    Session resumption (handles) and context window compression (past the session caps)
    are on; ``resume_handle`` continues an earlier session. ``config.extras`` is merged
    into the setup as is (a key set to ``None`` removes a default, e.g.
    ``{"contextWindowCompression": None}``).
    """
    config = with_defaults(config)  # the spec's defaults: the one source of model and voice
    check_config(config)
    assert config.model is not None and config.voice is not None
    audio = config.output_modalities == ("audio",)
    generation: dict[str, Any] = {"responseModalities": ["AUDIO" if audio else "TEXT"]}
    if audio:
        generation["speechConfig"] = {
            "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": config.voice}}
        }
    setup: dict[str, Any] = {
        "model": model_path(config.model),
        "generationConfig": generation,
        "realtimeInputConfig": _realtime_input(config),
        "sessionResumption": {"handle": resume_handle} if resume_handle else {},
        "contextWindowCompression": {"slidingWindow": {}},
    }
    if config.instructions:
        setup["systemInstruction"] = _instruction(config.instructions)
    if config.tools:
        setup["tools"] = [{"functionDeclarations": function_declarations(config)}]
    if config.input_transcription is not None:
        setup["inputAudioTranscription"] = {}
    if audio:
        setup["outputAudioTranscription"] = {}
    _merge(setup, copy.deepcopy(config.extras))
    return {"setup": setup}


def context_update(old: SessionConfig, new: SessionConfig) -> dict[str, Any] | None:
    """The ``contextUpdate`` that moves a live session from ``old`` to ``new``, or ``None``
    when nothing changed. Raises :class:`ConfigError` for a change only a new setup can
    make (voice, modalities, turn detection, transcription, model)."""
    check_config(new)
    fixed = ("model", "voice", "output_modalities", "turn_detection", "input_transcription")
    changed = [name for name in fixed if getattr(old, name) != getattr(new, name)]
    if changed or old.extras != new.extras:
        names = ", ".join(changed or ["extras"])
        raise ConfigError(
            f"{names}: Gemini Live fixes these when the session is set up; only"
            " instructions and tools can change during a session"
        )
    update: dict[str, Any] = {}
    if old.instructions != new.instructions:
        update["systemInstruction"] = _instruction(new.instructions)
    if old.tools != new.tools:
        declarations = function_declarations(new)
        update["tools"] = {
            "tools": [{"functionDeclarations": declarations}] if declarations else []
        }
    return {"contextUpdate": update} if update else None


def _merge(target: dict[str, Any], extras: dict[str, Any]) -> None:
    for key, value in extras.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
