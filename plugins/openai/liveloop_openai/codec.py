"""The OpenAI Realtime (GA) event codec: wire events to liveloop events, actions to wire
events. One :class:`OpenAICodec` serves one connection and keeps that connection's state
(turn order, tool calls already reported, audio timeline)."""

from __future__ import annotations

import base64
import binascii
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

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
from liveloop.config import SessionConfig
from liveloop.events import (
    AssistantAudio,
    AssistantTextDelta,
    AssistantTextDone,
    AssistantTranscriptDelta,
    AssistantTranscriptDone,
    Dtmf,
    ErrorEvent,
    Event,
    PlaybackStarted,
    PlaybackStopped,
    ResponseDone,
    ResponseStarted,
    SessionStarted,
    SessionUpdated,
    ToolCall,
    Usage,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscriptDelta,
)
from liveloop.log import get_logger

from ._fields import (
    Malformed,
    get_dict,
    get_str,
    opt_dict,
    opt_int,
    opt_list,
    opt_str,
)
from ._turns import TurnQueue
from .say import say_instructions
from .session_config import session_update_payload

__all__ = ["MAX_APPEND_MS", "OpenAICodec"]

MAX_APPEND_MS = 1000
"""The most audio one ``input_audio_buffer.append`` event carries."""

_log = get_logger("liveloop.openai")

# Known server events that mean nothing to a liveloop session.
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
_MAX_SENT_TEXTS = 256


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


class OpenAICodec:
    """Translates one OpenAI Realtime connection's traffic (implements
    :class:`liveloop.EventCodec`).

    ``decode`` never raises: a message that is not a JSON object, or a known event with
    a missing or mistyped field, becomes an :class:`~liveloop.events.ErrorEvent` with
    code ``malformed_event``; an unknown event type is ignored (logged at debug). A bug
    in the codec itself is logged and reported as an ``ErrorEvent`` with code
    ``codec_error`` rather than raised.

    ``encode`` returns one JSON text per wire event, each carrying the action's
    ``event_id`` (audio split over several events gets ``<event_id>_<n>`` after the
    first). An action type it does not know raises ``TypeError``.

    Building a codec checks that the configuration can be expressed on the wire:
    :class:`~liveloop.ConfigError` for an unsupported audio format.
    """

    def __init__(self, config: SessionConfig) -> None:
        self._config = config
        payload = session_update_payload(config)
        self._turns = TurnQueue(transcribing=_transcribing(payload))
        self._reported_calls: set[str] = set()
        # Typed user messages this codec sent, oldest first: (text, is restored history).
        self._sent_texts: deque[tuple[str, bool]] = deque(maxlen=_MAX_SENT_TEXTS)

    @property
    def config(self) -> SessionConfig:
        """The session configuration as last sent (``UpdateSession`` replaces it)."""
        return self._config

    # -- decoding ----------------------------------------------------------------------

    def decode(self, message: str | bytes) -> list[Event]:
        """One wire message -> the liveloop events it means (often none)."""
        try:
            data = json.loads(message)
        except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
            return [_malformed(f"not a JSON message: {type(exc).__name__}")]
        if not isinstance(data, dict):
            return [_malformed(f"not a JSON object: {type(data).__name__}")]
        kind = data.get("type")
        if not isinstance(kind, str):
            return [_malformed("event without a string 'type'", data)]
        handler = _DECODERS.get(kind)
        if handler is None:
            if kind not in _IGNORED:
                _log.debug("ignoring unknown OpenAI event", event_type=kind)
            return []
        try:
            return handler(self, data)
        except Malformed as exc:
            return [_malformed(f"{kind}: {exc}", data)]
        except ValidationError as exc:  # a value liveloop's event models refuse
            return [_malformed(f"{kind}: {exc}", data)]
        except Exception as exc:  # a codec bug must not take the session down
            _log.exception("OpenAI codec failed on an event", event_type=kind)
            message = f"{kind}: codec failure: {type(exc).__name__}: {exc}"
            return [ErrorEvent(code="codec_error", message=message, raw=data)]

    def _session_created(self, data: dict[str, Any]) -> list[Event]:
        session = get_dict(data, "session")
        self._learn_transcription(session)
        return [SessionStarted(session_id=opt_str(session, "id"), raw=data)]

    def _session_updated(self, data: dict[str, Any]) -> list[Event]:
        self._learn_transcription(get_dict(data, "session"))
        return [SessionUpdated(raw=data)]

    def _learn_transcription(self, session: dict[str, Any]) -> None:
        # The provider's effective session is the truth about transcription.
        audio = session.get("audio")
        audio_input = audio.get("input") if isinstance(audio, dict) else None
        if isinstance(audio_input, dict) and "transcription" in audio_input:
            self._turns.transcribing = audio_input["transcription"] is not None

    def _speech_started(self, data: dict[str, Any]) -> list[Event]:
        item_id = get_str(data, "item_id")
        start = opt_int(data, "audio_start_ms")
        self._turns.speech_started(item_id, start)
        return [UserSpeechStarted(item_id=item_id, audio_start_ms=start, raw=data)]

    def _speech_stopped(self, data: dict[str, Any]) -> list[Event]:
        item_id = get_str(data, "item_id")
        end = opt_int(data, "audio_end_ms")
        self._turns.speech_stopped(item_id, end)
        return [UserSpeechStopped(item_id=item_id, audio_end_ms=end, raw=data)]

    def _dtmf(self, data: dict[str, Any]) -> list[Event]:
        # SIP calls: a key the caller pressed (``event`` is the key, "0"-"9", "*", "#", "A"-"D").
        return [Dtmf(digit=get_str(data, "event"), raw=data)]

    def _committed(self, data: dict[str, Any]) -> list[Event]:
        return self._open_audio_turn(get_str(data, "item_id"), data)

    def _open_audio_turn(self, item_id: str, data: dict[str, Any]) -> list[Event]:
        if self._turns.knows(item_id):
            return []
        # Manual turns are not timed by the provider: the session's recorder times them.
        return list(self._turns.audio_committed(item_id, data, None, None))

    def _item(self, data: dict[str, Any]) -> list[Event]:
        item = get_dict(data, "item")
        if item.get("type") != "message" or item.get("role") != "user":
            return []
        item_id = get_str(item, "id")
        if self._turns.knows(item_id):
            return []
        content = opt_list(item, "content")
        parts = [part for part in content if isinstance(part, dict)]
        if any(part.get("type") == "input_audio" for part in parts):
            return self._open_audio_turn(item_id, data)
        texts = [part.get("text") for part in parts if part.get("type") == "input_text"]
        if not texts:
            return []  # e.g. an image-only message: nothing a turn could say
        if not all(isinstance(text, str) for text in texts):
            raise Malformed("input_text content without a string 'text'")
        text = "\n".join(str(text) for text in texts)
        if self._sent_as_history(text):
            self._turns.ignore(item_id)
            return []
        return list(self._turns.typed(item_id, text, data))

    def _sent_as_history(self, text: str) -> bool:
        # The provider echoes every item this codec created; restored history must not
        # come back as new user turns. Items are echoed in the order they were sent.
        for index, (sent, history) in enumerate(self._sent_texts):
            if sent == text:
                del self._sent_texts[index]
                return history
        return False

    def _item_deleted(self, data: dict[str, Any]) -> list[Event]:
        return list(self._turns.deleted(get_str(data, "item_id")))

    def _transcript_delta(self, data: dict[str, Any]) -> list[Event]:
        item_id = get_str(data, "item_id")
        delta = opt_str(data, "delta")
        if not delta:
            return []
        return [UserTranscriptDelta(item_id=item_id, delta=delta, raw=data)]

    def _transcript_completed(self, data: dict[str, Any]) -> list[Event]:
        item_id = get_str(data, "item_id")
        transcript = get_str(data, "transcript")
        return list(self._turns.transcribed(item_id, transcript, data))

    def _transcript_failed(self, data: dict[str, Any]) -> list[Event]:
        item_id = get_str(data, "item_id")
        error = opt_dict(data, "error")
        return list(self._turns.transcription_failed(item_id, error, data))

    def _response_created(self, data: dict[str, Any]) -> list[Event]:
        response = get_dict(data, "response")
        return [
            ResponseStarted(
                response_id=get_str(response, "id"),
                metadata=_metadata(response),
                raw=data,
            )
        ]

    def _text_delta(self, data: dict[str, Any]) -> list[Event]:
        return [AssistantTextDelta(**_ids(data), delta=get_str(data, "delta"), raw=data)]

    def _text_done(self, data: dict[str, Any]) -> list[Event]:
        return [AssistantTextDone(**_ids(data), text=get_str(data, "text"), raw=data)]

    def _playback_started(self, data: dict[str, Any]) -> list[Event]:
        return [PlaybackStarted(response_id=get_str(data, "response_id"), raw=data)]

    def _playback_stopped(self, data: dict[str, Any]) -> list[Event]:
        cleared = data.get("type") == "output_audio_buffer.cleared"
        return [
            PlaybackStopped(response_id=get_str(data, "response_id"), cleared=cleared, raw=data)
        ]

    def _audio_transcript_delta(self, data: dict[str, Any]) -> list[Event]:
        return [AssistantTranscriptDelta(**_ids(data), delta=get_str(data, "delta"), raw=data)]

    def _audio_transcript_done(self, data: dict[str, Any]) -> list[Event]:
        transcript = get_str(data, "transcript")
        return [AssistantTranscriptDone(**_ids(data), transcript=transcript, raw=data)]

    def _audio_delta(self, data: dict[str, Any]) -> list[Event]:
        ids = _ids(data)
        try:
            audio = base64.b64decode(get_str(data, "delta"), validate=True)
        except binascii.Error as exc:
            raise Malformed(f"'delta' is not base64: {exc}") from None
        # raw stays None: audio events are many and large, and the bytes are in `audio`.
        return [AssistantAudio(**ids, audio=audio)]

    def _output_item_done(self, data: dict[str, Any]) -> list[Event]:
        item = get_dict(data, "item")
        if item.get("type") != "function_call":
            return []
        if item.get("status") in ("incomplete", "in_progress"):
            return []  # cut off before the call was complete: nothing to run
        return self._tool_call(
            call_id=get_str(item, "call_id"),
            name=get_str(item, "name"),
            arguments=get_str(item, "arguments"),
            item_id=opt_str(item, "id"),
            response_id=opt_str(data, "response_id"),
            raw=data,
        )

    def _arguments_done(self, data: dict[str, Any]) -> list[Event]:
        call_id = get_str(data, "call_id")
        arguments = get_str(data, "arguments")
        name = opt_str(data, "name")
        if name is None:
            return []  # beta servers omit the name: wait for response.output_item.done
        return self._tool_call(
            call_id=call_id,
            name=name,
            arguments=arguments,
            item_id=opt_str(data, "item_id"),
            response_id=opt_str(data, "response_id"),
            raw=data,
        )

    def _tool_call(
        self,
        *,
        call_id: str,
        name: str,
        arguments: str,
        item_id: str | None,
        response_id: str | None,
        raw: dict[str, Any],
    ) -> list[Event]:
        # Several events describe the same call; the first complete one reports it.
        if call_id in self._reported_calls:
            return []
        self._reported_calls.add(call_id)
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

    def _response_done(self, data: dict[str, Any]) -> list[Event]:
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
            events += self._tool_call(
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

    def _error(self, data: dict[str, Any]) -> list[Event]:
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

    # -- encoding ----------------------------------------------------------------------

    def encode(self, action: Action) -> list[str]:
        """One liveloop action -> the wire events (JSON texts) to send, in order."""
        encoder = _ENCODERS.get(type(action))
        if encoder is None:
            raise TypeError(f"OpenAICodec cannot encode {type(action).__name__}")
        return [_dumps(event) for event in encoder(self, action)]

    def _update_session(self, action: UpdateSession) -> list[dict[str, Any]]:
        payload = session_update_payload(action.config)
        self._config = action.config
        self._turns.transcribing = _transcribing(payload)
        return [_event("session.update", action.event_id, session=payload)]

    def _append_audio(self, action: AppendAudio) -> list[dict[str, Any]]:
        fmt = self._config.input_audio
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

    def _commit_audio(self, action: CommitAudio) -> list[dict[str, Any]]:
        return [_event("input_audio_buffer.commit", action.event_id)]

    def _clear_audio(self, action: ClearAudio) -> list[dict[str, Any]]:
        return [_event("input_audio_buffer.clear", action.event_id)]

    def _send_text(self, action: SendText) -> list[dict[str, Any]]:
        self._sent_texts.append((action.text, False))
        return [_event("conversation.item.create", action.event_id, item=_user_text(action.text))]

    def _add_history(self, action: AddHistory) -> list[dict[str, Any]]:
        if action.role == "user":
            self._sent_texts.append((action.text, True))
            item = _user_text(action.text)
        else:
            item = {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": action.text}],
            }
        return [_event("conversation.item.create", action.event_id, item=item)]

    def _create_response(self, action: CreateResponse) -> list[dict[str, Any]]:
        response: dict[str, Any] = {}
        if action.say is not None:
            response["instructions"] = say_instructions(action.say)
            response["tool_choice"] = "none"
            response["output_modalities"] = list(self._config.output_modalities)
        elif action.instructions is not None:
            response["instructions"] = action.instructions
        if action.metadata:
            response["metadata"] = dict(action.metadata)
        if not response:
            return [_event("response.create", action.event_id)]
        return [_event("response.create", action.event_id, response=response)]

    def _cancel_response(self, action: CancelResponse) -> list[dict[str, Any]]:
        if action.response_id is None:
            return [_event("response.cancel", action.event_id)]
        return [_event("response.cancel", action.event_id, response_id=action.response_id)]

    def _clear_output_audio(self, action: ClearOutputAudio) -> list[dict[str, Any]]:
        # Only WebRTC/SIP connections have a provider-side output buffer to clear.
        return [_event("output_audio_buffer.clear", action.event_id)]

    def _truncate_item(self, action: TruncateItem) -> list[dict[str, Any]]:
        return [
            _event(
                "conversation.item.truncate",
                action.event_id,
                item_id=action.item_id,
                content_index=0,
                audio_end_ms=action.audio_end_ms,
            )
        ]

    def _send_tool_output(self, action: SendToolOutput) -> list[dict[str, Any]]:
        item = {"type": "function_call_output", "call_id": action.call_id, "output": action.output}
        return [_event("conversation.item.create", action.event_id, item=item)]

    def _restore_tool_call(self, action: RestoreToolCall) -> list[dict[str, Any]]:
        call = {
            "type": "function_call",
            "call_id": action.call_id,
            "name": action.name,
            "arguments": action.arguments,
        }
        output = {
            "type": "function_call_output",
            "call_id": action.call_id,
            "output": action.output,
        }
        return [
            _event("conversation.item.create", action.event_id, item=call),
            _event("conversation.item.create", None, item=output),
        ]


_Decoder = Callable[[OpenAICodec, dict[str, Any]], list[Event]]
_Encoder = Callable[[OpenAICodec, Any], list[dict[str, Any]]]

_DECODERS: dict[str, _Decoder] = {
    "session.created": OpenAICodec._session_created,
    "session.updated": OpenAICodec._session_updated,
    "input_audio_buffer.speech_started": OpenAICodec._speech_started,
    "input_audio_buffer.speech_stopped": OpenAICodec._speech_stopped,
    "input_audio_buffer.committed": OpenAICodec._committed,
    "input_audio_buffer.dtmf_event_received": OpenAICodec._dtmf,
    "conversation.item.added": OpenAICodec._item,
    "conversation.item.done": OpenAICodec._item,
    "conversation.item.created": OpenAICodec._item,  # beta name, still in the GA SDK
    "conversation.item.deleted": OpenAICodec._item_deleted,
    "conversation.item.input_audio_transcription.delta": OpenAICodec._transcript_delta,
    "conversation.item.input_audio_transcription.completed": OpenAICodec._transcript_completed,
    "conversation.item.input_audio_transcription.failed": OpenAICodec._transcript_failed,
    "response.created": OpenAICodec._response_created,
    "response.output_text.delta": OpenAICodec._text_delta,
    "response.output_text.done": OpenAICodec._text_done,
    "response.output_audio_transcript.delta": OpenAICodec._audio_transcript_delta,
    "response.output_audio_transcript.done": OpenAICodec._audio_transcript_done,
    "response.output_audio.delta": OpenAICodec._audio_delta,
    "response.output_item.done": OpenAICodec._output_item_done,
    "response.function_call_arguments.done": OpenAICodec._arguments_done,
    "response.done": OpenAICodec._response_done,
    "output_audio_buffer.started": OpenAICodec._playback_started,
    "output_audio_buffer.stopped": OpenAICodec._playback_stopped,
    "output_audio_buffer.cleared": OpenAICodec._playback_stopped,
    "error": OpenAICodec._error,
}

_ENCODERS: dict[type, _Encoder] = {
    UpdateSession: OpenAICodec._update_session,
    AppendAudio: OpenAICodec._append_audio,
    CommitAudio: OpenAICodec._commit_audio,
    ClearAudio: OpenAICodec._clear_audio,
    SendText: OpenAICodec._send_text,
    AddHistory: OpenAICodec._add_history,
    CreateResponse: OpenAICodec._create_response,
    CancelResponse: OpenAICodec._cancel_response,
    ClearOutputAudio: OpenAICodec._clear_output_audio,
    TruncateItem: OpenAICodec._truncate_item,
    SendToolOutput: OpenAICodec._send_tool_output,
    RestoreToolCall: OpenAICodec._restore_tool_call,
}


def _event(kind: str, event_id: str | None, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"type": kind}
    if event_id is not None:
        event["event_id"] = event_id
    event.update(fields)
    return event


def _user_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def _malformed(message: str, raw: dict[str, Any] | None = None) -> ErrorEvent:
    return ErrorEvent(code="malformed_event", message=message, raw=raw)


def _transcribing(payload: dict[str, Any]) -> bool:
    audio = payload.get("audio")
    audio_input = audio.get("input") if isinstance(audio, dict) else None
    return isinstance(audio_input, dict) and audio_input.get("transcription") is not None


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
