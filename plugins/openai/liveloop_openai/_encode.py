"""liveloop actions -> OpenAI Realtime (GA) wire events, for one connection's codec."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from liveloop.actions import (
    Action,
    AddHistory,
    AppendAudio,
    CancelResponse,
    ClearAudio,
    ClearOutputAudio,
    CommitAudio,
    CreateResponse,
    RestoreToolCall,
    SendText,
    SendToolOutput,
    TruncateItem,
    UpdateSession,
)

from ._state import CodecState, transcribing
from .defaults import with_defaults
from .say import say_instructions
from .session_config import session_update_payload

__all__ = ["ENCODERS", "MAX_APPEND_MS", "encode"]

MAX_APPEND_MS = 1000
"""The most audio one ``input_audio_buffer.append`` event carries."""


def encode(state: CodecState, action: Action) -> list[str]:
    """One liveloop action -> the wire events (JSON texts) to send, in order.

    Each event carries the action's ``event_id`` (audio split over several events gets
    ``<event_id>_<n>`` after the first). An action type it does not know raises
    ``TypeError``.
    """
    encoder = ENCODERS.get(type(action))
    if encoder is None:
        raise TypeError(f"OpenAICodec cannot encode {type(action).__name__}")
    return [_dumps(event) for event in encoder(state, action)]


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def _update_session(state: CodecState, action: UpdateSession) -> list[dict[str, Any]]:
    payload = session_update_payload(action.config)
    state.config = with_defaults(action.config)
    state.turns.transcribing = transcribing(payload)
    return [_event("session.update", action.event_id, session=payload)]


def _append_audio(state: CodecState, action: AppendAudio) -> list[dict[str, Any]]:
    fmt = state.config.input_audio
    step = int(fmt.bytes_per_ms * MAX_APPEND_MS)
    step -= step % (2 if fmt.encoding == "pcm16" else 1)
    audio = action.audio
    events = []
    for index, start in enumerate(range(0, len(audio), step)):
        chunk = base64.b64encode(audio[start : start + step]).decode("ascii")
        event_id = action.event_id
        if event_id is not None and index:
            event_id = f"{event_id}_{index}"
        events.append(_event("input_audio_buffer.append", event_id, audio=chunk))
    return events


def _commit_audio(state: CodecState, action: CommitAudio) -> list[dict[str, Any]]:
    return [_event("input_audio_buffer.commit", action.event_id)]


def _clear_audio(state: CodecState, action: ClearAudio) -> list[dict[str, Any]]:
    return [_event("input_audio_buffer.clear", action.event_id)]


def _send_text(state: CodecState, action: SendText) -> list[dict[str, Any]]:
    state.sent_texts.append((action.text, False))
    return [_event("conversation.item.create", action.event_id, item=_user_text(action.text))]


def _add_history(state: CodecState, action: AddHistory) -> list[dict[str, Any]]:
    if action.role == "user":
        state.sent_texts.append((action.text, True))
        item = _user_text(action.text)
    else:
        item = {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": action.text}],
        }
    return [_event("conversation.item.create", action.event_id, item=item)]


def _create_response(state: CodecState, action: CreateResponse) -> list[dict[str, Any]]:
    response: dict[str, Any] = {}
    if action.say is not None:
        response["instructions"] = say_instructions(action.say)
        response["tool_choice"] = "none"
        response["output_modalities"] = list(state.config.output_modalities)
    elif action.instructions is not None:
        response["instructions"] = action.instructions
    if action.metadata:
        response["metadata"] = dict(action.metadata)
    if not response:
        return [_event("response.create", action.event_id)]
    return [_event("response.create", action.event_id, response=response)]


def _cancel_response(state: CodecState, action: CancelResponse) -> list[dict[str, Any]]:
    if action.response_id is None:
        return [_event("response.cancel", action.event_id)]
    return [_event("response.cancel", action.event_id, response_id=action.response_id)]


def _clear_output_audio(state: CodecState, action: ClearOutputAudio) -> list[dict[str, Any]]:
    # Only WebRTC/SIP connections have a provider-side output buffer to clear.
    return [_event("output_audio_buffer.clear", action.event_id)]


def _truncate_item(state: CodecState, action: TruncateItem) -> list[dict[str, Any]]:
    return [
        _event(
            "conversation.item.truncate",
            action.event_id,
            item_id=action.item_id,
            content_index=0,
            audio_end_ms=action.audio_end_ms,
        )
    ]


def _send_tool_output(state: CodecState, action: SendToolOutput) -> list[dict[str, Any]]:
    item = {"type": "function_call_output", "call_id": action.call_id, "output": action.output}
    return [_event("conversation.item.create", action.event_id, item=item)]


def _restore_tool_call(state: CodecState, action: RestoreToolCall) -> list[dict[str, Any]]:
    call = {
        "type": "function_call",
        "call_id": action.call_id,
        "name": action.name,
        "arguments": action.arguments,
    }
    output = {"type": "function_call_output", "call_id": action.call_id, "output": action.output}
    return [
        _event("conversation.item.create", action.event_id, item=call),
        _event("conversation.item.create", None, item=output),
    ]


ENCODERS: dict[type, Callable[[CodecState, Any], list[dict[str, Any]]]] = {
    UpdateSession: _update_session,
    AppendAudio: _append_audio,
    CommitAudio: _commit_audio,
    ClearAudio: _clear_audio,
    SendText: _send_text,
    AddHistory: _add_history,
    CreateResponse: _create_response,
    CancelResponse: _cancel_response,
    ClearOutputAudio: _clear_output_audio,
    TruncateItem: _truncate_item,
    SendToolOutput: _send_tool_output,
    RestoreToolCall: _restore_tool_call,
}


def _event(kind: str, event_id: str | None, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"type": kind}
    if event_id is not None:
        event["event_id"] = event_id
    event.update(fields)
    return event


def _user_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
