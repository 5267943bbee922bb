"""The conversation: ordered items, their audio, and what the model heard and said."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from .. import tones
from .errors import ItemNotFound
from .settings import UNINTELLIGIBLE

__all__ = ["Conversation", "count_tokens", "hear", "new_id"]

BYTES_PER_MS = 48
"""PCM16 mono at 24 kHz."""


def new_id(prefix: str) -> str:
    """An opaque id: ``prefix_`` and random hex."""
    return f"{prefix}_{secrets.token_hex(10)}"


def count_tokens(text: str) -> int:
    """The token count the emulator bills for ``text`` (about four characters a token)."""
    return max(1, (len(text) + 3) // 4) if text else 0


def hear(pcm: bytes) -> str:
    """What the model understands of user audio: decoded tone speech, or a placeholder."""
    result = tones.decode_result(pcm)
    if result.confidence < tones.MIN_CONFIDENCE or not result.text.strip():
        return UNINTELLIGIBLE
    return result.text


class Conversation:
    """The items of one session's conversation, oldest first.

    ``audio`` holds the PCM16 24 kHz audio of user audio items and of assistant audio items
    (growing while spoken); ``heard`` what the model decoded from user audio (whether or not
    input transcription is on); ``spoken`` the full text of each spoken assistant item, so a
    truncation knows the words played.
    """

    def __init__(self) -> None:
        self.id = new_id("conv")
        self.items: list[dict[str, Any]] = []
        self.audio: dict[str, bytearray] = {}
        self.heard: dict[str, str] = {}
        self.spoken: dict[str, str] = {}

    def find(self, item_id: str) -> int | None:
        """The index of ``item_id`` (None when absent)."""
        for index, item in enumerate(self.items):
            if item["id"] == item_id:
                return index
        return None

    def get(self, item_id: str) -> dict[str, Any]:
        """The item (raises :class:`ItemNotFound`)."""
        index = self.find(item_id)
        if index is None:
            raise ItemNotFound(item_id)
        return self.items[index]

    def knows(self, item_id: str) -> bool:
        """Whether ``item_id`` is or was used in this conversation."""
        return item_id in self.audio or self.find(item_id) is not None

    def last_id(self) -> str | None:
        return self.items[-1]["id"] if self.items else None

    def insert(self, index: int, item: dict[str, Any]) -> str | None:
        """Insert ``item`` at ``index``; returns the id of the item before it."""
        self.items.insert(index, item)
        return self.items[index - 1]["id"] if index > 0 else None

    def append(self, item: dict[str, Any]) -> str | None:
        return self.insert(len(self.items), item)

    def remove(self, item_id: str) -> None:
        index = self.find(item_id)
        if index is None:
            raise ItemNotFound(item_id)
        del self.items[index]
        self.audio.pop(item_id, None)

    def set_audio(self, item_id: str, pcm: bytes, *, heard: bool = False) -> None:
        self.audio[item_id] = bytearray(pcm)
        if heard:
            self.heard[item_id] = hear(pcm)

    def audio_ms(self, item_id: str) -> int:
        """Milliseconds of audio the item holds."""
        return len(self.audio.get(item_id, b"")) // BYTES_PER_MS

    def heard_text(self, item: Mapping[str, Any]) -> str | None:
        return self.heard.get(str(item.get("id")))
