"""From a Gemini ``setup`` to the engine's settings, and conversation items."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..engine import Settings, TurnDetection, new_id
from .messages import Setup

__all__ = ["engine_settings", "replace_settings", "user_or_model_item"]

_SENSITIVE = {"HIGH": 0.3, "LOW": 0.7}  # start-of-speech sensitivity -> energy threshold


def engine_settings(setup: Setup, instructions: str | None = None) -> Settings:
    """The engine settings a setup asks for (``instructions``: those of a resumed session)."""
    config = setup.realtime_input_config
    detection = config.automatic_activity_detection if config is not None else None
    turns: TurnDetection | None = None
    if detection is None or not detection.disabled:
        sensitivity = (detection.start_of_speech_sensitivity if detection else None) or ""
        turns = TurnDetection(
            threshold=_SENSITIVE.get(sensitivity.rsplit("_", 1)[-1], 0.3),
            prefix_padding_ms=(detection.prefix_padding_ms if detection else None) or 20,
            silence_duration_ms=(detection.silence_duration_ms if detection else None) or 500,
            interrupt_response=(config.activity_handling if config else None) != "NO_INTERRUPTION",
        )
    generation = setup.generation_config
    modalities = (generation.response_modalities if generation else None) or ["AUDIO"]
    if instructions is None:
        system = setup.system_instruction
        instructions = system.text if system is not None else ""
    return Settings(
        instructions=instructions,
        modalities=("text",) if modalities == ["TEXT"] else ("audio",),
        turn_detection=turns,
        transcribe_input=setup.input_audio_transcription is not None,
        allow_tools=bool(setup.tool_names),
    )


def user_or_model_item(role: str, text: str) -> dict[str, Any]:
    """A complete text message item of ``role`` (``user`` or ``assistant``)."""
    kind = "output_text" if role == "assistant" else "input_text"
    return {
        "id": new_id("item"),
        "type": "message",
        "role": role,
        "status": "completed",
        "content": [{"type": kind, "text": text}],
    }


def replace_settings(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with ``changes``."""
    return dataclasses.replace(settings, **changes)
