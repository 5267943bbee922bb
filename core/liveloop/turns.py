"""One completed user turn, as :meth:`Session.input` returns it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .config import AudioFormat

__all__ = ["SessionTurn"]


class SessionTurn(BaseModel):
    """A completed user turn: what the user said (or typed), and when.

    - ``text``: the final transcript of a spoken turn, or the typed text.
    - ``channel``: ``"audio"`` for speech, ``"text"`` for a typed message, ``"dtmf"`` for
      keys pressed on a phone call (``text`` is the digits; see ``dtmf_turns``).
    - ``item_id``: the provider's conversation item for the turn.
    - ``audio``: PCM16 of the utterance when the user's audio went through this process
      (``send_audio``), else ``None``; ``audio_format`` describes it. A provider that
      gives no speech timing gets the audio sent since the previous spoken turn ended.
    - ``started_ms`` / ``ended_ms``: where the utterance sits on the session's input
      audio timeline (``None`` for typed turns).
    - ``interrupted``: the user's speech cut off an assistant response.
    - ``metadata``: anything else the provider reported (e.g. a transcription failure).
    """

    # Audio bytes travel as base64 in JSON: raw PCM is not valid UTF-8.
    # defer_build: the validator is built for the first turn, not at import (start-up).
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        ser_json_bytes="base64",
        val_json_bytes="base64",
        defer_build=True,
    )

    text: str
    channel: Literal["audio", "text", "dtmf"]
    item_id: str | None = None
    audio: bytes | None = Field(default=None, repr=False)
    audio_format: AudioFormat | None = None
    started_ms: int | None = None
    ended_ms: int | None = None
    interrupted: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
