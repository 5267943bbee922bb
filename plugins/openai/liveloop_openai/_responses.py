"""The assistant's side of OpenAI Realtime (GA) wire events -> liveloop events: responses,
their text and audio, tool calls, playback on the user's device, and errors.

Each decoder takes the connection's :class:`CodecState` and one event's data and raises
:class:`Malformed` on a missing or mistyped field (the dispatcher reports it).
"""

from __future__ import annotations

from typing import Any

from liveloop.codec import (
    assistant_audio,
    assistant_text_delta,
    assistant_transcript_delta,
    b64decode,
)
from liveloop.events import (
    AssistantTextDone,
    AssistantTranscriptDone,
    ErrorEvent,
    Event,
    PlaybackStarted,
    PlaybackStopped,
    ResponseDone,
    ResponseStarted,
    ToolCall,
    Usage,
)

from ._fields import (
    Malformed,
    get_dict,
    get_str,
    get_strs,
    opt_dict,
    opt_int,
    opt_list,
    opt_str,
)
from ._state import CodecState

__all__ = [
    "arguments_done",
    "audio_delta",
    "audio_transcript_delta",
    "audio_transcript_done",
    "error",
    "output_item_done",
    "playback_started",
    "playback_stopped",
    "response_created",
    "response_done",
    "text_delta",
    "text_done",
]


def response_created(state: CodecState, data: dict[str, Any]) -> list[Event]:
    response = get_dict(data, "response")
    return [
        ResponseStarted(
            response_id=get_str(response, "id"),
            metadata=_metadata(response),
            raw=data,
        )
    ]


# The deltas are most of a response: their fields are checked inline (``type(v) is str``,
# the accessors run only to name what is wrong), and their events are built without a
# second validation (liveloop.codec's hot-event builders).


def text_delta(state: CodecState, data: dict[str, Any]) -> list[Event]:
    response_id, item_id, delta = data.get("response_id"), data.get("item_id"), data.get("delta")
    if type(response_id) is not str or type(item_id) is not str or type(delta) is not str:
        response_id, item_id, delta = get_strs(data, "response_id", "item_id", "delta")
    return [assistant_text_delta(response_id, item_id, delta, data)]


def text_done(state: CodecState, data: dict[str, Any]) -> list[Event]:
    return [AssistantTextDone(**_ids(data), text=get_str(data, "text"), raw=data)]


def playback_started(state: CodecState, data: dict[str, Any]) -> list[Event]:
    return [PlaybackStarted(response_id=get_str(data, "response_id"), raw=data)]


def playback_stopped(state: CodecState, data: dict[str, Any]) -> list[Event]:
    cleared = data.get("type") == "output_audio_buffer.cleared"
    return [PlaybackStopped(response_id=get_str(data, "response_id"), cleared=cleared, raw=data)]


def audio_transcript_delta(state: CodecState, data: dict[str, Any]) -> list[Event]:
    response_id, item_id, delta = data.get("response_id"), data.get("item_id"), data.get("delta")
    if type(response_id) is not str or type(item_id) is not str or type(delta) is not str:
        response_id, item_id, delta = get_strs(data, "response_id", "item_id", "delta")
    return [assistant_transcript_delta(response_id, item_id, delta, data)]


def audio_transcript_done(state: CodecState, data: dict[str, Any]) -> list[Event]:
    transcript = get_str(data, "transcript")
    return [AssistantTranscriptDone(**_ids(data), transcript=transcript, raw=data)]


def audio_delta(state: CodecState, data: dict[str, Any]) -> list[Event]:
    response_id, item_id, delta = data.get("response_id"), data.get("item_id"), data.get("delta")
    if type(response_id) is not str or type(item_id) is not str or type(delta) is not str:
        response_id, item_id, delta = get_strs(data, "response_id", "item_id", "delta")
    try:
        audio = b64decode(delta)  # pybase64 with liveloop[speed]
    except ValueError as exc:
        raise Malformed(f"'delta' is not base64: {exc}") from None
    # raw stays None: audio events are many and large, and the bytes are in `audio`.
    return [assistant_audio(response_id, item_id, audio)]


def output_item_done(state: CodecState, data: dict[str, Any]) -> list[Event]:
    item = get_dict(data, "item")
    if item.get("type") != "function_call":
        return []
    if item.get("status") in ("incomplete", "in_progress"):
        return []  # cut off before the call was complete: nothing to run
    return _tool_call(
        state,
        call_id=get_str(item, "call_id"),
        name=get_str(item, "name"),
        arguments=get_str(item, "arguments"),
        item_id=opt_str(item, "id"),
        response_id=opt_str(data, "response_id"),
        raw=data,
    )


def arguments_done(state: CodecState, data: dict[str, Any]) -> list[Event]:
    call_id = get_str(data, "call_id")
    arguments = get_str(data, "arguments")
    name = opt_str(data, "name")
    if name is None:
        return []  # beta servers omit the name: wait for response.output_item.done
    return _tool_call(
        state,
        call_id=call_id,
        name=name,
        arguments=arguments,
        item_id=opt_str(data, "item_id"),
        response_id=opt_str(data, "response_id"),
        raw=data,
    )


def _tool_call(
    state: CodecState,
    *,
    call_id: str,
    name: str,
    arguments: str,
    item_id: str | None,
    response_id: str | None,
    raw: dict[str, Any],
) -> list[Event]:
    # Several events describe the same call; the first complete one reports it.
    if call_id in state.reported_calls:
        return []
    state.reported_calls.add(call_id)
    return [
        ToolCall(
            call_id=call_id,
            name=name,
            arguments=arguments,
            item_id=item_id,
            response_id=response_id,
            raw=raw,
        )
    ]


def response_done(state: CodecState, data: dict[str, Any]) -> list[Event]:
    response = get_dict(data, "response")
    response_id = get_str(response, "id")
    status = get_str(response, "status")
    events: list[Event] = []
    call_ids: list[str] = []
    for item in opt_list(response, "output"):
        if not isinstance(item, dict) or item.get("type") != "function_call":
            continue
        if item.get("status") in ("incomplete", "in_progress"):
            continue
        call_id = get_str(item, "call_id")
        # A call whose own events were missed is still reported, before the end.
        events += _tool_call(
            state,
            call_id=call_id,
            name=get_str(item, "name"),
            arguments=get_str(item, "arguments"),
            item_id=opt_str(item, "id"),
            response_id=response_id,
            raw=data,
        )
        call_ids.append(call_id)
    events.append(
        ResponseDone(
            response_id=response_id,
            status=status,
            reason=_reason(opt_dict(response, "status_details")),
            usage=_usage(opt_dict(response, "usage")),
            metadata=_metadata(response),
            tool_call_ids=tuple(call_ids),
            raw=data,
        )
    )
    return events


def error(state: CodecState, data: dict[str, Any]) -> list[Event]:
    error = get_dict(data, "error")
    message = opt_str(error, "message") or opt_str(error, "type") or "provider error"
    code = opt_str(error, "code")
    return [
        ErrorEvent(
            message=message,
            code=code,
            event_id=opt_str(error, "event_id"),
            raw=data,
        )
    ]


def _ids(data: dict[str, Any]) -> dict[str, str]:
    return {"response_id": get_str(data, "response_id"), "item_id": get_str(data, "item_id")}


def _metadata(response: dict[str, Any]) -> dict[str, str]:
    metadata = opt_dict(response, "metadata") or {}
    return {key: value for key, value in metadata.items() if isinstance(value, str)}


def _reason(details: dict[str, Any] | None) -> str | None:
    if details is None:
        return None
    reason = opt_str(details, "reason")
    if reason is not None:
        return reason
    error = opt_dict(details, "error")
    if error is None:
        return None
    return opt_str(error, "code") or opt_str(error, "message") or opt_str(error, "type")


def _usage(usage: dict[str, Any] | None) -> Usage | None:
    if usage is None:
        return None
    return Usage(
        input_tokens=opt_int(usage, "input_tokens") or 0,
        output_tokens=opt_int(usage, "output_tokens") or 0,
        total_tokens=opt_int(usage, "total_tokens") or 0,
    )
