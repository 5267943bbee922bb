"""The state one OpenAI connection's codec keeps between events: shared by the decoder
(which reads what was sent) and the encoder (which records it)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from liveloop.config import SessionConfig

from ._turns import TurnQueue

__all__ = ["CodecState", "transcribing"]

_MAX_SENT_TEXTS = 256


@dataclass
class CodecState:
    """What one connection's codec remembers.

    ``config`` is the session configuration as last sent; ``turns`` orders the user's
    turns; ``reported_calls`` the tool calls already reported (several events describe
    one call). ``sent_texts`` are typed user messages this codec sent, oldest first, with
    whether each was restored history (the provider echoes them).
    """

    config: SessionConfig
    turns: TurnQueue
    reported_calls: set[str] = field(default_factory=set)
    sent_texts: deque[tuple[str, bool]] = field(
        default_factory=lambda: deque(maxlen=_MAX_SENT_TEXTS)
    )


def transcribing(payload: dict[str, Any]) -> bool:
    """Whether a GA ``session`` object turns input transcription on."""
    audio = payload.get("audio")
    audio_input = audio.get("input") if isinstance(audio, dict) else None
    return isinstance(audio_input, dict) and audio_input.get("transcription") is not None
