"""Actions: what the session runtime asks a provider to do.

A provider's event codec turns each action into the provider's wire events. Actions are
provider-neutral; how "say exactly this" or "truncate" is spelled is the codec's business.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .config import SessionConfig

__all__ = [
    "Action",
    "AddHistory",
    "AppendAudio",
    "CancelResponse",
    "ClearAudio",
    "ClearOutputAudio",
    "CommitAudio",
    "CreateResponse",
    "RestoreToolCall",
    "SendText",
    "SendToolOutput",
    "TruncateItem",
    "UpdateSession",
]


class _Action(BaseModel):
    # Audio bytes travel as base64 in JSON: raw PCM is not valid UTF-8.
    # defer_build: validators are built on first use, not at import (start-up time).
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        ser_json_bytes="base64",
        val_json_bytes="base64",
        defer_build=True,
    )

    # Set by the runtime on actions whose errors it must correlate; codecs send it as the
    # provider's client event id when the provider has one.
    event_id: str | None = None


class UpdateSession(_Action):
    """Apply ``config`` (instructions, voice, tools, turn detection, formats...)."""

    kind: Literal["update_session"] = "update_session"
    config: SessionConfig


class AppendAudio(_Action):
    """Append user audio (PCM16 at the input format) to the provider's input buffer."""

    kind: Literal["append_audio"] = "append_audio"
    audio: bytes = Field(repr=False)


class CommitAudio(_Action):
    """End the user's turn now (manual turn detection)."""

    kind: Literal["commit_audio"] = "commit_audio"


class ClearAudio(_Action):
    """Discard user audio not yet committed."""

    kind: Literal["clear_audio"] = "clear_audio"


class SendText(_Action):
    """Add a typed user message to the conversation."""

    kind: Literal["send_text"] = "send_text"
    text: str


class AddHistory(_Action):
    """Add a past turn to the conversation as text (used to restore a session)."""

    kind: Literal["add_history"] = "add_history"
    role: Literal["user", "assistant"]
    text: str


class CreateResponse(_Action):
    """Ask the model for a response.

    ``say`` asks for exactly that text, voiced verbatim; otherwise ``instructions``
    (optional) steer a model-generated reply. ``metadata`` comes back on the response.
    """

    kind: Literal["create_response"] = "create_response"
    say: str | None = None
    instructions: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class CancelResponse(_Action):
    """Stop generating the active response."""

    kind: Literal["cancel_response"] = "cancel_response"
    response_id: str | None = None


class ClearOutputAudio(_Action):
    """Drop assistant audio the provider is still playing (where it owns playback)."""

    kind: Literal["clear_output_audio"] = "clear_output_audio"


class TruncateItem(_Action):
    """Cut an assistant audio item to what the user heard (``audio_end_ms``)."""

    kind: Literal["truncate_item"] = "truncate_item"
    item_id: str
    audio_end_ms: int = Field(ge=0)


class SendToolOutput(_Action):
    """Answer a tool call with ``output`` (a JSON string)."""

    kind: Literal["send_tool_output"] = "send_tool_output"
    call_id: str
    output: str


class RestoreToolCall(_Action):
    """Add a function call and its output to the conversation: a call the model made on
    a connection that was replaced before its output could be sent (the new connection
    does not know the call, so both are added; a response then speaks the result)."""

    kind: Literal["restore_tool_call"] = "restore_tool_call"
    call_id: str
    name: str
    arguments: str
    output: str


Action = Annotated[
    UpdateSession
    | AppendAudio
    | CommitAudio
    | ClearAudio
    | SendText
    | AddHistory
    | CreateResponse
    | CancelResponse
    | ClearOutputAudio
    | TruncateItem
    | SendToolOutput
    | RestoreToolCall,
    Field(discriminator="kind"),
]
"""Any action, discriminated on ``kind``."""
