"""The engine's session settings, in neutral terms (a front end maps its protocol's config)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MIN_COMMIT_MS", "UNINTELLIGIBLE", "Settings", "TurnDetection"]

UNINTELLIGIBLE = "[unintelligible audio]"
"""The transcript of user audio that is not tone speech (a real microphone, noise...)."""

MIN_COMMIT_MS = 100
"""The least buffered input audio a commit takes."""


@dataclass(frozen=True, slots=True)
class TurnDetection:
    """Energy turn detection (see :mod:`liveloop_emulator.vad`).

    ``create_response``: a response starts when the user stops speaking (and none is running);
    ``interrupt_response``: speech starting cancels the running response and clears the
    playout buffer (barge-in).
    """

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    create_response: bool = True
    interrupt_response: bool = True


@dataclass(frozen=True, slots=True)
class Settings:
    """What the engine's behaviour depends on.

    ``instructions`` only count toward usage (the model's words come from the reply policy);
    ``modalities`` is ``("audio",)`` or ``("text",)``; ``turn_detection`` None means the
    front end commits input audio itself; ``transcribe_input`` sends transcription events for
    user audio; ``allow_tools`` lets scripted rules call tools.
    """

    instructions: str = ""
    modalities: tuple[str, ...] = ("audio",)
    turn_detection: TurnDetection | None = field(default_factory=TurnDetection)
    transcribe_input: bool = False
    allow_tools: bool = True
