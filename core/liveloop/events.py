"""Normalized session events: what happened in a live session, whatever the provider.

Provider codecs turn wire events into these; the session runtime adds its own (tool
results, interruptions, closing). ``async for event in session.events()`` yields them.
Every event carries ``raw``, the provider event it came from (``None`` when the runtime
made it), for power users.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .turns import SessionTurn

__all__ = [
    "AssistantAudio",
    "AssistantTextDelta",
    "AssistantTextDone",
    "AssistantTranscriptDelta",
    "AssistantTranscriptDone",
    "Closed",
    "Dtmf",
    "ErrorEvent",
    "Event",
    "GoingAway",
    "Interrupted",
    "PlaybackStarted",
    "PlaybackStopped",
    "Reconnected",
    "ResponseDone",
    "ResponseStarted",
    "ResumptionHandle",
    "SessionStarted",
    "SessionUpdated",
    "ToolCall",
    "ToolCallCancelled",
    "ToolResult",
    "Usage",
    "UserSpeechStarted",
    "UserSpeechStopped",
    "UserTranscriptDelta",
    "UserTurn",
]


class _Event(BaseModel):
    # Audio bytes travel as base64 in JSON: raw PCM is not valid UTF-8.
    # defer_build: a model's validator is built when first used, not at import (a session
    # uses a few of them; start-up should not pay for all).
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        ser_json_bytes="base64",
        val_json_bytes="base64",
        defer_build=True,
    )

    raw: dict[str, Any] | None = Field(default=None, repr=False)


class SessionStarted(_Event):
    """The provider created the session (first event of every connection)."""

    type: Literal["session.started"] = "session.started"
    session_id: str | None = None


class SessionUpdated(_Event):
    """The provider applied a configuration change."""

    type: Literal["session.updated"] = "session.updated"


class UserSpeechStarted(_Event):
    """Voice activity detection heard the user start speaking."""

    type: Literal["user.speech_started"] = "user.speech_started"
    item_id: str | None = None
    audio_start_ms: int | None = None


class UserSpeechStopped(_Event):
    """Voice activity detection heard the user stop speaking."""

    type: Literal["user.speech_stopped"] = "user.speech_stopped"
    item_id: str | None = None
    audio_end_ms: int | None = None


class UserTranscriptDelta(_Event):
    """A piece of the transcript of the user's current utterance."""

    type: Literal["user.transcript_delta"] = "user.transcript_delta"
    item_id: str
    delta: str


class UserTurn(_Event):
    """A completed user turn (also delivered by :meth:`Session.input`)."""

    type: Literal["user.turn"] = "user.turn"
    turn: SessionTurn


class Dtmf(_Event):
    """The caller pressed a key on a phone call (``0``-``9``, ``*``, ``#``, ``A``-``D``)."""

    type: Literal["dtmf"] = "dtmf"
    digit: Annotated[str, Field(pattern=r"^[0-9*#A-D]$")]


class ResponseStarted(_Event):
    """The model started a response; ``metadata`` is what the client attached to it."""

    type: Literal["response.started"] = "response.started"
    response_id: str
    metadata: dict[str, str] = Field(default_factory=dict)


class AssistantTextDelta(_Event):
    """A piece of a text reply."""

    type: Literal["assistant.text_delta"] = "assistant.text_delta"
    response_id: str
    item_id: str
    delta: str


class AssistantTextDone(_Event):
    """A text reply is complete."""

    type: Literal["assistant.text_done"] = "assistant.text_done"
    response_id: str
    item_id: str
    text: str


class AssistantTranscriptDelta(_Event):
    """A piece of the transcript of what the assistant is saying."""

    type: Literal["assistant.transcript_delta"] = "assistant.transcript_delta"
    response_id: str
    item_id: str
    delta: str


class AssistantTranscriptDone(_Event):
    """The transcript of one assistant audio item is complete."""

    type: Literal["assistant.transcript_done"] = "assistant.transcript_done"
    response_id: str
    item_id: str
    transcript: str


class AssistantAudio(_Event):
    """A chunk of assistant audio (PCM16 at the session's output format)."""

    type: Literal["assistant.audio"] = "assistant.audio"
    response_id: str
    item_id: str
    audio: bytes = Field(repr=False)


class PlaybackStarted(_Event):
    """The provider began playing a response's audio on the media track (WebRTC)."""

    type: Literal["assistant.playback_started"] = "assistant.playback_started"
    response_id: str


class PlaybackStopped(_Event):
    """The provider stopped playing a response's audio: it finished, or ``cleared`` (the
    rest was dropped, e.g. on barge-in)."""

    type: Literal["assistant.playback_stopped"] = "assistant.playback_stopped"
    response_id: str
    cleared: bool = False


class Usage(BaseModel):
    """Token usage of one response."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class ResponseDone(_Event):
    """A response ended: ``status`` is completed, cancelled, incomplete or failed."""

    type: Literal["response.done"] = "response.done"
    response_id: str
    status: str
    reason: str | None = None
    usage: Usage | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    tool_call_ids: tuple[str, ...] = ()


class ToolCall(_Event):
    """The model called a function tool; ``arguments`` is the raw JSON string."""

    type: Literal["tool.call"] = "tool.call"
    call_id: str
    name: str
    arguments: str
    item_id: str | None = None
    response_id: str | None = None


class ToolResult(_Event):
    """The answer sent back for a tool call (exactly one per call)."""

    type: Literal["tool.result"] = "tool.result"
    call_id: str
    name: str
    output: str
    is_error: bool = False


class ToolCallCancelled(_Event):
    """The provider withdrew tool calls (e.g. the user spoke over them): the runtime
    cancels those still running and answers none of them."""

    type: Literal["tool.call_cancelled"] = "tool.call_cancelled"
    call_ids: tuple[str, ...]


class Interrupted(_Event):
    """The user cut off the assistant; ``played_ms`` is how much of the item was heard."""

    type: Literal["interrupted"] = "interrupted"
    response_id: str | None = None
    item_id: str | None = None
    played_ms: int | None = None


class ErrorEvent(_Event):
    """An error the session survived (provider errors, malformed events, bad tool output).

    ``event_id`` is the client event the provider correlated the error to.
    """

    type: Literal["error"] = "error"
    message: str
    code: str | None = None
    event_id: str | None = None


class GoingAway(_Event):
    """The provider will end this connection in ``time_left_ms`` (``None``: soon); the
    runtime moves the session to a new connection before then, at a quiet moment."""

    type: Literal["session.going_away"] = "session.going_away"
    time_left_ms: int | None = None


class ResumptionHandle(_Event):
    """The provider issued a handle that resumes the session's state on a new connection
    (the runtime keeps the latest; it is only as secret as the session itself)."""

    type: Literal["session.resumption_handle"] = "session.resumption_handle"
    handle: str = Field(repr=False)


class Reconnected(_Event):
    """The transport reconnected and the session was restored: ``resumed`` when the
    provider restored its own state from a resumption handle, else the runtime replayed
    the conversation as text."""

    type: Literal["reconnected"] = "reconnected"
    attempts: int = 1
    resumed: bool = False


class Closed(_Event):
    """The session closed; ``reason`` says why, ``error`` is set when it failed."""

    type: Literal["closed"] = "closed"
    reason: str
    error: str | None = None


Event = Annotated[
    SessionStarted
    | SessionUpdated
    | UserSpeechStarted
    | UserSpeechStopped
    | UserTranscriptDelta
    | UserTurn
    | Dtmf
    | ResponseStarted
    | AssistantTextDelta
    | AssistantTextDone
    | AssistantTranscriptDelta
    | AssistantTranscriptDone
    | AssistantAudio
    | PlaybackStarted
    | PlaybackStopped
    | ResponseDone
    | ToolCall
    | ToolCallCancelled
    | ToolResult
    | Interrupted
    | ErrorEvent
    | GoingAway
    | ResumptionHandle
    | Reconnected
    | Closed,
    Field(discriminator="type"),
]
"""Any normalized session event, discriminated on ``type``."""
