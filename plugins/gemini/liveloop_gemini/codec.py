"""The Gemini Live event codec: ``BidiGenerateContent`` server messages to liveloop
events, liveloop actions to client messages. One :class:`GeminiCodec` serves one
connection (a resumed session gets a new codec with the handle)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Literal

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
from liveloop.codec import (
    assistant_audio,
    assistant_text_delta,
    assistant_transcript_delta,
    loads,
)
from liveloop.config import SessionConfig
from liveloop.errors import ConfigError
from liveloop.events import (
    ErrorEvent,
    Event,
    GoingAway,
    ResumptionHandle,
    SessionStarted,
    SessionUpdated,
    ToolCall,
    ToolCallCancelled,
    Usage,
)
from liveloop.log import get_logger

from . import wire
from ._turns import Response, TurnState
from .say import say_instructions
from .setup import check_config, context_update, setup_message

__all__ = ["MAX_AUDIO_MS", "GeminiCodec"]

MAX_AUDIO_MS = 1000
"""The most audio one ``realtimeInput`` message carries."""

_log = get_logger("liveloop.gemini")


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _user_turn(text: str, role: str = "user") -> dict[str, Any]:
    return {"role": role, "parts": [{"text": text}]}


class GeminiCodec:
    """Translates one Gemini Live connection's traffic (implements
    :class:`liveloop.plugin.EventCodec`, :class:`liveloop.codec.LocalEvents`,
    :class:`liveloop.codec.Resumable` and :class:`liveloop.codec.UntimedSpeech`).

    ``decode`` never raises: a frame that is not a JSON object, or a known message with a
    field of the wrong type, becomes an ``ErrorEvent`` (``malformed_event``); messages it
    does not know are ignored (logged at debug). Gemini names no responses or items, so
    the codec numbers them (``gr_…``, ``gi_…``, ``gu_…``).

    What Gemini never confirms (a typed turn, a context update) the codec reports itself,
    through :meth:`take_local_events`. Cancelling a response is done on this side: Gemini
    has no cancel, so the rest of that turn's output is dropped here.
    """

    untimed_speech: Literal[True] = True  # no speech offsets: turn.audio cut at boundaries

    def __init__(self, config: SessionConfig) -> None:
        check_config(config)
        self._config = config
        self._handle: str | None = None
        self._set_up = False
        self._turns = TurnState()
        self._local: list[Event] = []
        self._update_ids: list[str | None] = []
        self._dropping = False  # a cancelled response's output is still coming
        self._triggered = False  # something sent makes the model answer on its own
        self._activity_open = False  # manual turns: activityStart sent, no activityEnd
        self._call_names: dict[str, str] = {}
        self._cancelled_calls: set[str] = set()

    @property
    def config(self) -> SessionConfig:
        """The session configuration as last sent."""
        return self._config

    def resume_with(self, handle: str) -> None:
        """Set up the next session as a resumption of ``handle``."""
        self._handle = handle

    def take_local_events(self) -> list[Event]:
        """Events made while encoding (typed turns, update confirmations)."""
        events, self._local = self._local, []
        return events

    # -- decoding ----------------------------------------------------------------------

    def decode(self, message: str | bytes) -> list[Event]:
        """One server frame (text or binary JSON) -> the liveloop events it means."""
        try:
            data = loads(message)  # orjson with liveloop[speed]
        except (ValueError, RecursionError) as exc:
            return [_malformed(f"not a JSON message: {type(exc).__name__}")]
        if not isinstance(data, dict):
            return [_malformed(f"not a JSON object: {type(data).__name__}")]
        events: list[Event] = []
        known = False
        try:
            # usageMetadata first: it belongs to the response the same message may end.
            keys = sorted(data, key=wire.usage_first) if len(data) > 1 else data
            for key in keys:
                name = wire.TOP_LEVEL.get(key) if isinstance(key, str) else None
                if name is None:
                    continue
                body = data[key]
                if body is None:
                    continue
                if not isinstance(body, dict):
                    raise TypeError(f"{name!r} must be an object, got {type(body).__name__}")
                known = True
                if name == "usageMetadata":
                    self._usage(wire.UsageMetadata.model_validate(body))
                else:
                    events += _DECODERS[name](self, body, data)
        except (ValidationError, ValueError, TypeError) as exc:
            kinds = ", ".join(key for key in data if isinstance(key, str))
            return [*events, _malformed(f"{kinds}: {_short(exc)}", data)]
        except Exception as exc:  # a codec bug must not take the session down
            _log.exception("Gemini codec failed on a message")
            message = f"codec failure: {type(exc).__name__}: {exc}"
            return [*events, ErrorEvent(code="codec_error", message=message, raw=data)]
        if not known:
            _log.debug("ignoring unknown Gemini message", keys=sorted(map(str, data))[:8])
        return events

    def _setup_complete(self, body: Any, data: dict[str, Any]) -> list[Event]:
        setup = wire.SetupComplete.model_validate(body)
        self._set_up = True
        return [SessionStarted(session_id=setup.session_id, raw=data), SessionUpdated(raw=data)]

    def _server_content(self, body: Any, data: dict[str, Any]) -> list[Event]:
        if len(body) == 1:  # the hot paths: one audio part, or one piece of transcript
            audio = wire.lone_audio(body)
            if audio is not None:
                return self._audio(audio, data)
            text = wire.lone_output_text(body)
            if text is not None:
                return self._said(text, data)
        content = wire.ServerContent.model_validate(body)
        turns = self._turns
        events: list[Event] = []
        heard = content.input_transcription
        if heard is not None and (heard.text or heard.finished):
            events += turns.transcribed(heard.text or "", bool(heard.finished), data)
        if content.model_turn is not None and self._surfaced():
            events += self._model_turn(content.model_turn, data)
        said = content.output_transcription
        if said is not None and said.text:
            events += self._said(said.text, data)
        if content.interrupted:
            self._dropping = False
            if turns.response is not None:
                # The user spoke over the model: their speech began, the response ends cut.
                previous = turns.end_user_turn(data)
                events += previous + turns.speech_started(data)
                events += turns.end_response("cancelled", data, reason="turn_detected")
        if content.turn_complete:
            self._dropping = False
            events += turns.end_user_turn(data)
            reason = content.turn_complete_reason
            events += turns.end_response("completed", data, reason=reason)
        return events

    def _surfaced(self) -> bool:
        # Not a cancelled response's output, nor an answer nobody asked for: Gemini answers
        # every turn it detects; with auto_respond off that answer is dropped as it comes.
        if self._dropping:
            return False
        if self._config.auto_respond or self._turns.response or self._triggered:
            return True
        self._dropping = not self._turns.requests
        return not self._dropping

    def _start(self, data: dict[str, Any]) -> tuple[Response, list[Event]]:
        response, events = self._turns.start_response(data)
        if events:
            # The model answers: whatever was sent to make it answer has been answered.
            self._triggered = False
        return response, events

    def _said(self, text: str, data: dict[str, Any]) -> list[Event]:
        if not text or not self._surfaced():
            return []
        response, events = self._start(data)
        response.transcript.append(text)
        events.append(assistant_transcript_delta(response.id, response.item_id, text, data))
        return events

    def _audio(self, encoded: str, data: dict[str, Any]) -> list[Event]:
        if self._dropping or (self._turns.response is None and not self._surfaced()):
            return []
        response, events = self._start(data)
        # raw stays None: audio messages are many and large; the bytes are here.
        audio = wire.b64decode(encoded)
        # Checked: the ids are the codec's own, the bytes come from the decoder.
        events.append(assistant_audio(response.id, response.item_id, audio))
        return events

    def _model_turn(self, turn: wire.Content, data: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        for part in turn.parts:
            if part.thought:
                continue
            blob = part.inline_data
            if blob is not None and (blob.mime_type or "audio/").startswith("audio/"):
                events += self._audio(blob.data, data)
            elif part.text:
                response, started = self._start(data)
                response.text.append(part.text)
                events += started
                events.append(assistant_text_delta(response.id, response.item_id, part.text, data))
        return events

    def _tool_call(self, body: Any, data: dict[str, Any]) -> list[Event]:
        calls = wire.ToolCall.model_validate(body).function_calls
        if not calls:
            return []
        if not self._dropping and not self._surfaced():
            self._dropping = False  # an answer nobody asked for ends with its call
            return []
        response, events = self._start(data)
        for call in calls:
            call_id = call.id or self._turns.next_id("gc")
            self._call_names[call_id] = call.name
            response.call_ids.append(call_id)
            events.append(
                ToolCall(
                    call_id=call_id,
                    name=call.name,
                    arguments=_dumps(call.args or {}),
                    item_id=response.item_id,
                    response_id=response.id,
                    raw=data,
                )
            )
        # The model waits for the results (BLOCKING calls); their answer starts the next
        # response, so this one ends here.
        events += self._turns.end_response("completed", data)
        return events

    def _tool_call_cancellation(self, body: Any, data: dict[str, Any]) -> list[Event]:
        ids = tuple(wire.ToolCallCancellation.model_validate(body).ids)
        self._cancelled_calls.update(ids)
        return [ToolCallCancelled(call_ids=ids, raw=data)] if ids else []

    def _go_away(self, body: Any, data: dict[str, Any]) -> list[Event]:
        left = wire.duration_ms(wire.GoAway.model_validate(body).time_left)
        return [GoingAway(time_left_ms=left, raw=data)]

    def _resumption_update(self, body: Any, data: dict[str, Any]) -> list[Event]:
        update = wire.ResumptionUpdate.model_validate(body)
        if not update.resumable or not update.new_handle:
            return []  # mid-generation: not a point the session can resume from
        return [ResumptionHandle(handle=update.new_handle, raw=data)]

    def _voice_activity(self, body: Any, data: dict[str, Any]) -> list[Event]:
        kind = wire.VoiceActivity.model_validate(body).voice_activity_type
        if kind == "ACTIVITY_START":
            return self._turns.speech_started(data)
        if kind == "ACTIVITY_END":
            return self._turns.speech_stopped(data)
        return []

    def _usage(self, usage: wire.UsageMetadata) -> None:
        response = self._turns.response
        if response is None:
            return
        output = usage.response_token_count or usage.candidates_token_count or 0
        response.usage = Usage(
            input_tokens=usage.prompt_token_count or 0,
            output_tokens=output,
            total_tokens=usage.total_token_count or 0,
        )

    # -- encoding ----------------------------------------------------------------------

    def encode(self, action: Action) -> list[str]:
        """One liveloop action -> the client messages (JSON texts) to send, in order."""
        encoder = _ENCODERS.get(type(action))
        if encoder is None:
            raise TypeError(f"GeminiCodec cannot encode {type(action).__name__}")
        return encoder(self, action)

    def _update_session(self, action: UpdateSession) -> list[str]:
        if not self._set_up and not self._update_ids:
            self._config = action.config
            self._update_ids.append(action.event_id)
            return [_dumps(setup_message(action.config, resume_handle=self._handle))]
        try:
            update = context_update(self._config, action.config)
        except ConfigError as exc:
            self._local.append(
                ErrorEvent(code="unsupported_update", message=str(exc), event_id=action.event_id)
            )
            return []
        self._config = action.config
        self._local.append(SessionUpdated())
        return [] if update is None else [_dumps(update)]

    def _append_audio(self, action: AppendAudio) -> list[str]:
        fmt = self._config.input_audio
        step = int(fmt.bytes_per_ms * MAX_AUDIO_MS) & ~1
        audio = action.audio
        messages = []
        if self._config.turn_detection is None and not self._activity_open and audio:
            self._activity_open = True
            messages.append('{"realtimeInput":{"activityStart":{}}}')
        # Hot path: the frame is formatted directly (base64 needs no JSON escaping).
        prefix = f'{{"realtimeInput":{{"audio":{{"mimeType":"audio/pcm;rate={fmt.rate}","data":"'
        for start in range(0, len(audio), step):
            data = base64.b64encode(audio[start : start + step]).decode("ascii")
            messages.append(f'{prefix}{data}"}}}}}}')
        return messages

    def _commit_audio(self, action: CommitAudio) -> list[str]:
        if self._config.turn_detection is not None:
            return ['{"realtimeInput":{"audioStreamEnd":true}}']
        if not self._activity_open:
            return []
        self._activity_open = False
        self._triggered = True
        return ['{"realtimeInput":{"activityEnd":{}}}']

    def _send_text(self, action: SendText) -> list[str]:
        self._local.append(self._turns.typed(action.text))
        answer = self._config.auto_respond
        self._triggered = self._triggered or answer
        content = {"turns": [_user_turn(action.text)], "turnComplete": answer}
        return [_dumps({"clientContent": content})]

    def _add_history(self, action: AddHistory) -> list[str]:
        role = "user" if action.role == "user" else "model"
        content = {"turns": [_user_turn(action.text, role)], "turnComplete": False}
        return [_dumps({"clientContent": content})]

    def _restore_tool_call(self, action: RestoreToolCall) -> list[str]:
        # A call from a connection that is gone: a new connection never matches a
        # toolResponse to it, so the call and its result go back as the model's words.
        text = f"(I called {action.name} with {action.arguments}; it returned {action.output})"
        content = {"turns": [_user_turn(text, "model")], "turnComplete": False}
        return [_dumps({"clientContent": content})]

    def _create_response(self, action: CreateResponse) -> list[str]:
        self._turns.requests.append(dict(action.metadata))
        text = action.instructions if action.say is None else say_instructions(action.say)
        if text is None and self._triggered:
            # The model answers what was just sent (a tool result, a typed turn, the end
            # of a manual turn) on its own: this request is that answer.
            self._triggered = False
            return []
        self._triggered = False
        content: dict[str, Any] = {"turnComplete": True}
        if text is not None:
            content["turns"] = [_user_turn(text)]
        return [_dumps({"clientContent": content})]

    def _cancel_response(self, action: CancelResponse) -> list[str]:
        response = self._turns.response
        if response is None or (action.response_id not in (None, response.id)):
            return []
        # No cancel on the wire: drop the rest of this turn's output as it comes.
        self._dropping = True
        self._local += self._turns.end_response("cancelled", None, reason="client_cancelled")
        return []

    def _nothing(self, action: Action) -> list[str]:
        return []  # no Gemini equivalent: the server keeps what it sent and heard

    def _send_tool_output(self, action: SendToolOutput) -> list[str]:
        if action.call_id in self._cancelled_calls:
            return []  # the model withdrew the call: it wants no answer
        try:
            output: Any = json.loads(action.output)
        except ValueError:
            output = action.output
        name = self._call_names.get(action.call_id, "")
        response = {"id": action.call_id, "name": name, "response": {"output": output}}
        self._triggered = True
        return [_dumps({"toolResponse": {"functionResponses": [response]}})]


_Decoder = Callable[[GeminiCodec, Any, dict[str, Any]], list[Event]]

_DECODERS: dict[str, _Decoder] = {
    "setupComplete": GeminiCodec._setup_complete,
    "serverContent": GeminiCodec._server_content,
    "toolCall": GeminiCodec._tool_call,
    "toolCallCancellation": GeminiCodec._tool_call_cancellation,
    "goAway": GeminiCodec._go_away,
    "sessionResumptionUpdate": GeminiCodec._resumption_update,
    "voiceActivity": GeminiCodec._voice_activity,
}

_ENCODERS: dict[type, Callable[[GeminiCodec, Any], list[str]]] = {
    UpdateSession: GeminiCodec._update_session,
    AppendAudio: GeminiCodec._append_audio,
    CommitAudio: GeminiCodec._commit_audio,
    ClearAudio: GeminiCodec._nothing,
    SendText: GeminiCodec._send_text,
    AddHistory: GeminiCodec._add_history,
    CreateResponse: GeminiCodec._create_response,
    CancelResponse: GeminiCodec._cancel_response,
    ClearOutputAudio: GeminiCodec._nothing,
    TruncateItem: GeminiCodec._nothing,
    SendToolOutput: GeminiCodec._send_tool_output,
    RestoreToolCall: GeminiCodec._restore_tool_call,
}


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(exc)


def _malformed(message: str, raw: dict[str, Any] | None = None) -> ErrorEvent:
    return ErrorEvent(code="malformed_event", message=message, raw=raw)
