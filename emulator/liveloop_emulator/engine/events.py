"""What the engine tells its front end: protocol-neutral events.

Each is a small frozen dataclass; a front end renders the ones its protocol has and ignores
the rest. Items are the engine's conversation items (see :mod:`liveloop_emulator.engine`);
an event's ``item`` is the live item, so a front end that keeps it must copy it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .responses import Response

__all__ = [
    "ArgumentsDelta",
    "ArgumentsDone",
    "AudioDone",
    "EngineEvent",
    "InputCleared",
    "InputCommitted",
    "ItemAdded",
    "ItemDeleted",
    "ItemDone",
    "ItemTruncated",
    "OutputCleared",
    "OutputItemAdded",
    "OutputItemDone",
    "PartAdded",
    "PartDone",
    "PlayoutStarted",
    "PlayoutStopped",
    "Position",
    "ResponseDone",
    "ResponseStarted",
    "SpeechStarted",
    "SpeechStopped",
    "TextDelta",
    "TextDone",
    "TranscriptDelta",
    "TranscriptDone",
    "TranscriptionCompleted",
    "TranscriptionDelta",
]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a piece of a response's output belongs."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int = 0


# -- user input


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Turn detection heard the user start speaking (``audio_start_ms`` includes the padding)."""

    item_id: str
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """Turn detection heard the user stop (``audio_end_ms`` includes the silence)."""

    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class InputCommitted:
    """Buffered user audio became the user item ``item_id`` (its ``ItemAdded`` follows)."""

    item_id: str
    previous_item_id: str | None


@dataclass(frozen=True, slots=True)
class InputCleared:
    """The input buffer was emptied on request."""


@dataclass(frozen=True, slots=True)
class TranscriptionDelta:
    """A piece of the transcript of user audio (only with input transcription on)."""

    item_id: str
    content_index: int
    delta: str


@dataclass(frozen=True, slots=True)
class TranscriptionCompleted:
    """The whole transcript of user audio, with its token usage."""

    item_id: str
    content_index: int
    transcript: str
    audio_tokens: int
    text_tokens: int


# -- the conversation


@dataclass(frozen=True, slots=True)
class ItemAdded:
    """``item`` joined the conversation after ``previous_item_id`` (None: at the start)."""

    item: dict[str, Any]
    previous_item_id: str | None


@dataclass(frozen=True, slots=True)
class ItemDone:
    """``item`` is complete (right after ``ItemAdded`` for items that arrive whole)."""

    item: dict[str, Any]
    previous_item_id: str | None


@dataclass(frozen=True, slots=True)
class ItemDeleted:
    item_id: str


@dataclass(frozen=True, slots=True)
class ItemTruncated:
    """An assistant audio item was cut to ``audio_end_ms`` (on request, or by a barge-in)."""

    item_id: str
    content_index: int
    audio_end_ms: int


# -- responses


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    response: Response


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """The response ended: ``response.status`` is ``completed`` or ``cancelled`` (with
    ``response.cancel_reason``) and ``response.usage`` is set."""

    response: Response


@dataclass(frozen=True, slots=True)
class OutputItemAdded:
    """The response opened ``item`` (in progress) at ``output_index``."""

    response: Response
    output_index: int
    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutputItemDone:
    """The response finished ``item`` (``completed``, or ``incomplete`` when cut)."""

    response: Response
    output_index: int
    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PartAdded:
    """A message got its content part: ``{"type": "text", "text"}`` or ``{"type": "audio",
    "transcript"}``."""

    at: Position
    part: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PartDone:
    at: Position
    part: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TextDelta:
    at: Position
    delta: str


@dataclass(frozen=True, slots=True)
class TextDone:
    at: Position
    text: str


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    """The words of spoken output, as the audio carrying them is sent."""

    at: Position
    delta: str


@dataclass(frozen=True, slots=True)
class AudioDone:
    """The spoken output of an item is complete (its audio went to the output sink)."""

    at: Position


@dataclass(frozen=True, slots=True)
class TranscriptDone:
    at: Position
    transcript: str


@dataclass(frozen=True, slots=True)
class ArgumentsDelta:
    at: Position
    call_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class ArgumentsDone:
    at: Position
    call_id: str
    name: str
    arguments: str


# -- output audio with a server-side playout buffer (WebRTC, headless calls)


@dataclass(frozen=True, slots=True)
class OutputCleared:
    """Unplayed output audio of ``response_id`` was dropped (barge-in or a request)."""

    response_id: str


@dataclass(frozen=True, slots=True)
class PlayoutStarted:
    response_id: str


@dataclass(frozen=True, slots=True)
class PlayoutStopped:
    response_id: str


EngineEvent = (
    SpeechStarted
    | SpeechStopped
    | InputCommitted
    | InputCleared
    | TranscriptionDelta
    | TranscriptionCompleted
    | ItemAdded
    | ItemDone
    | ItemDeleted
    | ItemTruncated
    | ResponseStarted
    | ResponseDone
    | OutputItemAdded
    | OutputItemDone
    | PartAdded
    | PartDone
    | TextDelta
    | TextDone
    | TranscriptDelta
    | AudioDone
    | TranscriptDone
    | ArgumentsDelta
    | ArgumentsDone
    | OutputCleared
    | PlayoutStarted
    | PlayoutStopped
)
"""Every event an :class:`~liveloop_emulator.engine.Engine` emits."""
