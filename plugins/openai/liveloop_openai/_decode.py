"""OpenAI Realtime (GA) wire events -> liveloop events, for one connection's codec.

:func:`decode` never raises: a message that is not a JSON object, or a known event with a
missing or mistyped field, becomes an :class:`~liveloop.events.ErrorEvent` with code
``malformed_event``; an unknown event type is ignored (logged at debug); a bug here is
logged and reported with code ``codec_error``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from liveloop.codec import loads, user_transcript_delta
from liveloop.events import (
    Dtmf,
    ErrorEvent,
    Event,
    SessionStarted,
    SessionUpdated,
    UserSpeechStarted,
    UserSpeechStopped,
)
from liveloop.log import get_logger

from . import _responses as responses
from ._fields import (
    Malformed,
    get_dict,
    get_str,
    opt_dict,
    opt_int,
    opt_list,
    opt_str,
)
from ._state import CodecState

__all__ = ["DECODERS", "decode"]

_log = get_logger("liveloop.openai")

_IGNORED = frozenset(
    {
        "conversation.created",
        "conversation.item.retrieved",
        "conversation.item.truncated",
        "conversation.item.input_audio_transcription.segment",
        "input_audio_buffer.cleared",
        "input_audio_buffer.timeout_triggered",
        "rate_limits.updated",
        "response.output_item.added",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_audio.done",
        "response.function_call_arguments.delta",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "mcp_list_tools.failed",
    }
)


def decode(state: CodecState, message: str | bytes) -> list[Event]:
    """One wire message -> the liveloop events it means (often none); never raises."""
    try:
        data = loads(message)  # orjson with liveloop[speed]
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
        return [_malformed(f"not a JSON message: {type(exc).__name__}")]
    if not isinstance(data, dict):
        return [_malformed(f"not a JSON object: {type(data).__name__}")]
    kind = data.get("type")
    if not isinstance(kind, str):
        return [_malformed("event without a string 'type'", data)]
    handler = DECODERS.get(kind)
    if handler is None:
        if kind not in _IGNORED:
            _log.debug("ignoring unknown OpenAI event", event_type=kind)
        return []
    try:
        return handler(state, data)
    except Malformed as exc:
        return [_malformed(f"{kind}: {exc}", data)]
    except ValidationError as exc:  # a value liveloop's event models refuse
        return [_malformed(f"{kind}: {exc}", data)]
    except Exception as exc:  # a codec bug must not take the session down
        _log.exception("OpenAI codec failed on an event", event_type=kind)
        message = f"{kind}: codec failure: {type(exc).__name__}: {exc}"
        return [ErrorEvent(code="codec_error", message=message, raw=data)]


def _session_created(state: CodecState, data: dict[str, Any]) -> list[Event]:
    session = get_dict(data, "session")
    _learn_transcription(state, session)
    return [SessionStarted(session_id=opt_str(session, "id"), raw=data)]


def _session_updated(state: CodecState, data: dict[str, Any]) -> list[Event]:
    _learn_transcription(state, get_dict(data, "session"))
    return [SessionUpdated(raw=data)]


def _learn_transcription(state: CodecState, session: dict[str, Any]) -> None:
    # The provider's effective session is the truth about transcription.
    audio = session.get("audio")
    audio_input = audio.get("input") if isinstance(audio, dict) else None
    if isinstance(audio_input, dict) and "transcription" in audio_input:
        state.turns.transcribing = audio_input["transcription"] is not None


def _speech_started(state: CodecState, data: dict[str, Any]) -> list[Event]:
    item_id = get_str(data, "item_id")
    start = opt_int(data, "audio_start_ms")
    state.turns.speech_started(item_id, start)
    return [UserSpeechStarted(item_id=item_id, audio_start_ms=start, raw=data)]


def _speech_stopped(state: CodecState, data: dict[str, Any]) -> list[Event]:
    item_id = get_str(data, "item_id")
    end = opt_int(data, "audio_end_ms")
    state.turns.speech_stopped(item_id, end)
    return [UserSpeechStopped(item_id=item_id, audio_end_ms=end, raw=data)]


def _dtmf(state: CodecState, data: dict[str, Any]) -> list[Event]:
    # SIP calls: a key the caller pressed (``event`` is the key, "0"-"9", "*", "#", "A"-"D").
    return [Dtmf(digit=get_str(data, "event"), raw=data)]


def _committed(state: CodecState, data: dict[str, Any]) -> list[Event]:
    return _open_audio_turn(state, get_str(data, "item_id"), data)


def _open_audio_turn(state: CodecState, item_id: str, data: dict[str, Any]) -> list[Event]:
    if state.turns.knows(item_id):
        return []
    # Manual turns are not timed by the provider: the session's recorder times them.
    return list(state.turns.audio_committed(item_id, data, None, None))


def _item(state: CodecState, data: dict[str, Any]) -> list[Event]:
    item = get_dict(data, "item")
    if item.get("type") != "message" or item.get("role") != "user":
        return []
    item_id = get_str(item, "id")
    if state.turns.knows(item_id):
        return []
    content = opt_list(item, "content")
    parts = [part for part in content if isinstance(part, dict)]
    if any(part.get("type") == "input_audio" for part in parts):
        return _open_audio_turn(state, item_id, data)
    texts = [part.get("text") for part in parts if part.get("type") == "input_text"]
    if not texts:
        return []  # e.g. an image-only message: nothing a turn could say
    if not all(isinstance(text, str) for text in texts):
        raise Malformed("input_text content without a string 'text'")
    text = "\n".join(str(text) for text in texts)
    if _sent_as_history(state, text):
        state.turns.ignore(item_id)
        return []
    return list(state.turns.typed(item_id, text, data))


def _sent_as_history(state: CodecState, text: str) -> bool:
    # The provider echoes every item this codec created; restored history must not
    # come back as new user turns. Items are echoed in the order they were sent.
    for index, (sent, history) in enumerate(state.sent_texts):
        if sent == text:
            del state.sent_texts[index]
            return history
    return False


def _item_deleted(state: CodecState, data: dict[str, Any]) -> list[Event]:
    return list(state.turns.deleted(get_str(data, "item_id")))


def _transcript_delta(state: CodecState, data: dict[str, Any]) -> list[Event]:
    item_id = get_str(data, "item_id")
    delta = opt_str(data, "delta")
    if not delta:
        return []
    return [user_transcript_delta(item_id, delta, data)]


def _transcript_completed(state: CodecState, data: dict[str, Any]) -> list[Event]:
    item_id = get_str(data, "item_id")
    transcript = get_str(data, "transcript")
    return list(state.turns.transcribed(item_id, transcript, data))


def _transcript_failed(state: CodecState, data: dict[str, Any]) -> list[Event]:
    item_id = get_str(data, "item_id")
    error = opt_dict(data, "error")
    return list(state.turns.transcription_failed(item_id, error, data))


DECODERS: dict[str, Callable[[CodecState, dict[str, Any]], list[Event]]] = {
    "session.created": _session_created,
    "session.updated": _session_updated,
    "input_audio_buffer.speech_started": _speech_started,
    "input_audio_buffer.speech_stopped": _speech_stopped,
    "input_audio_buffer.committed": _committed,
    "input_audio_buffer.dtmf_event_received": _dtmf,
    "conversation.item.added": _item,
    "conversation.item.done": _item,
    "conversation.item.created": _item,  # beta name, still in the GA SDK
    "conversation.item.deleted": _item_deleted,
    "conversation.item.input_audio_transcription.delta": _transcript_delta,
    "conversation.item.input_audio_transcription.completed": _transcript_completed,
    "conversation.item.input_audio_transcription.failed": _transcript_failed,
    "response.created": responses.response_created,
    "response.output_text.delta": responses.text_delta,
    "response.output_text.done": responses.text_done,
    "response.output_audio_transcript.delta": responses.audio_transcript_delta,
    "response.output_audio_transcript.done": responses.audio_transcript_done,
    "response.output_audio.delta": responses.audio_delta,
    "response.output_item.done": responses.output_item_done,
    "response.function_call_arguments.done": responses.arguments_done,
    "response.done": responses.response_done,
    "output_audio_buffer.started": responses.playback_started,
    "output_audio_buffer.stopped": responses.playback_stopped,
    "output_audio_buffer.cleared": responses.playback_stopped,
    "error": responses.error,
}


def _malformed(message: str, raw: dict[str, Any] | None = None) -> ErrorEvent:
    return ErrorEvent(code="malformed_event", message=message, raw=raw)
