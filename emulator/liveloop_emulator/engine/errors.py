"""Requests the engine refuses: neutral exceptions a front end words in its protocol."""

from __future__ import annotations

__all__ = [
    "BufferTooSmall",
    "DuplicateItem",
    "EngineError",
    "ItemNotFound",
    "NoActiveResponse",
    "NoPlayoutBuffer",
    "NotAssistantAudio",
    "NotAssistantMessage",
    "ResponseActive",
    "TruncateTooLong",
]


class EngineError(Exception):
    """A request the engine cannot carry out; the session goes on unchanged."""


class BufferTooSmall(EngineError):
    """A commit of less than ``minimum_ms`` of buffered input audio."""

    def __init__(self, buffered_ms: float, minimum_ms: int) -> None:
        super().__init__(f"input buffer holds {buffered_ms:.2f} ms, less than {minimum_ms} ms")
        self.buffered_ms = buffered_ms
        self.minimum_ms = minimum_ms


class ItemNotFound(EngineError):
    def __init__(self, item_id: str) -> None:
        super().__init__(f"no item {item_id!r}")
        self.item_id = item_id


class DuplicateItem(EngineError):
    def __init__(self, item_id: str) -> None:
        super().__init__(f"item {item_id!r} already exists")
        self.item_id = item_id


class NotAssistantMessage(EngineError):
    """Only assistant messages can be truncated."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"item {item_id!r} is not an assistant message")
        self.item_id = item_id


class NotAssistantAudio(EngineError):
    """The content part to truncate is not assistant audio."""

    def __init__(self, item_id: str, content_index: int) -> None:
        super().__init__(f"content {content_index} of item {item_id!r} is not audio")
        self.item_id = item_id
        self.content_index = content_index


class TruncateTooLong(EngineError):
    """A truncation point past the end of the item's audio."""

    def __init__(self, item_id: str, duration_ms: int, audio_end_ms: int) -> None:
        super().__init__(f"item {item_id!r} has {duration_ms} ms of audio, not {audio_end_ms}")
        self.item_id = item_id
        self.duration_ms = duration_ms
        self.audio_end_ms = audio_end_ms


class ResponseActive(EngineError):
    """A conversation response is already running."""

    def __init__(self, response_id: str) -> None:
        super().__init__(f"response {response_id!r} is active")
        self.response_id = response_id


class NoActiveResponse(EngineError):
    """Nothing to cancel."""


class NoPlayoutBuffer(EngineError):
    """The output sink has no server-side buffer to clear (only media-track sinks have one)."""
