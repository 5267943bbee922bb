"""liveloop's :class:`~liveloop.SessionConfig` as OpenAI's GA realtime ``session`` object.

:func:`session_update_payload` builds the ``session`` of a ``session.update`` event
(also usable as the ``session`` part of a WebRTC call or a client-secret request).
"""

from __future__ import annotations

from typing import Any

from liveloop import AudioFormat, ConfigError, SemanticVAD, ServerVAD, SessionConfig, ToolDefinition

from .defaults import with_defaults

__all__ = ["PCM_RATE", "audio_format_payload", "session_update_payload"]

PCM_RATE = 24000
"""The only PCM16 sample rate OpenAI Realtime accepts."""

_NAMED_TOOL_CHOICES = ("auto", "none", "required")


def session_update_payload(config: SessionConfig) -> dict[str, Any]:
    """The GA ``session`` object for ``config``.

    Maps model, instructions, output modalities, audio input (format, transcription,
    turn detection: ``server_vad`` / ``semantic_vad`` objects, ``None`` for manual turns),
    audio output (format, voice), function tools and tool choice (``"auto"``, ``"none"``,
    ``"required"``, or any other string naming a function to force).

    ``config.extras`` is merged on top: where both sides hold a JSON object (dict) the
    two are merged key by key, recursively; any other extras value (including ``None``)
    replaces what was built. So ``extras={"audio": {"input": {"noise_reduction":
    {"type": "near_field"}}}}`` adds noise reduction and keeps the rest of
    ``audio.input``, and ``extras={"max_output_tokens": 500}`` adds a top-level field.

    Raises :class:`~liveloop.ConfigError` naming the field when an audio format cannot be
    expressed (PCM16 at any rate other than 24000 Hz). Fields the config leaves unset
    take OpenAI's defaults (:data:`liveloop_openai.defaults.DEFAULTS`).
    """
    config = with_defaults(config)
    audio_input: dict[str, Any] = {
        "format": audio_format_payload(config.input_audio, "input_audio"),
        "transcription": _transcription(config),
        "turn_detection": _turn_detection(config.turn_detection, config.auto_respond),
    }
    payload: dict[str, Any] = {
        "type": "realtime",
        "model": config.model,
        "instructions": config.instructions,
        "output_modalities": list(config.output_modalities),
        "audio": {
            "input": audio_input,
            "output": {
                "format": audio_format_payload(config.output_audio, "output_audio"),
                "voice": config.voice,
            },
        },
        "tools": [_tool(tool) for tool in config.tools],
        "tool_choice": _tool_choice(config.tool_choice),
    }
    return _merge(payload, config.extras)


def audio_format_payload(fmt: AudioFormat, field: str = "audio") -> dict[str, Any]:
    """The GA audio format object for ``fmt``; ``field`` names it in errors.

    ``pcm16`` at 24 kHz is ``{"type": "audio/pcm", "rate": 24000}``, G.711 µ-law is
    ``{"type": "audio/pcmu"}`` and A-law ``{"type": "audio/pcma"}``. Raises
    :class:`~liveloop.ConfigError` for PCM16 at another rate.
    """
    if fmt.encoding == "g711_ulaw":
        return {"type": "audio/pcmu"}
    if fmt.encoding == "g711_alaw":
        return {"type": "audio/pcma"}
    if fmt.rate != PCM_RATE:
        message = f"OpenAI Realtime takes PCM16 at {PCM_RATE} Hz only"
        raise ConfigError(
            f"invalid configuration: {field}.rate: {message} (got {fmt.rate})",
            [(f"{field}.rate", message, fmt.rate)],
        )
    return {"type": "audio/pcm", "rate": PCM_RATE}


def _transcription(config: SessionConfig) -> dict[str, Any] | None:
    settings = config.input_transcription
    if settings is None:
        return None
    result: dict[str, Any] = {"model": settings.model}
    if settings.language is not None:
        result["language"] = settings.language
    if settings.prompt is not None:
        result["prompt"] = settings.prompt
    return result


def _turn_detection(
    detection: ServerVAD | SemanticVAD | None, auto_respond: bool
) -> dict[str, Any] | None:
    # With auto_respond off the handler answers turns itself (say/respond), so the
    # provider must not start a response of its own at the end of a turn.
    if detection is None:
        return None
    if isinstance(detection, SemanticVAD):
        return {
            "type": "semantic_vad",
            "eagerness": detection.eagerness,
            "create_response": detection.create_response and auto_respond,
            "interrupt_response": detection.interrupt_response,
        }
    result: dict[str, Any] = {
        "type": "server_vad",
        "threshold": detection.threshold,
        "prefix_padding_ms": detection.prefix_padding_ms,
        "silence_duration_ms": detection.silence_duration_ms,
        "create_response": detection.create_response and auto_respond,
        "interrupt_response": detection.interrupt_response,
    }
    if detection.idle_timeout_ms is not None:
        result["idle_timeout_ms"] = detection.idle_timeout_ms
    return result


def _tool(tool: ToolDefinition) -> dict[str, Any]:
    return {
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters,
    }


def _tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in _NAMED_TOOL_CHOICES:
        return choice
    return {"type": "function", "name": choice}


def _merge(base: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    # Objects merge recursively; anything else from extras wins. Neither input is mutated.
    merged = dict(base)
    for key, value in extras.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged
