"""The per-session Realtime protocol engine, independent of the transport.

A :class:`RealtimeEngine` takes parsed client events through :meth:`RealtimeEngine.handle` and
emits server events through an async ``send`` callback. Output audio goes through an
:class:`OutputAudio` sink: the default, :class:`EventAudioOutput`, sends
``response.output_audio.delta`` events (the WebSocket behaviour); a WebRTC transport can plug in
a sink that plays the audio on a media track instead.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import audio, tones
from .replies import Reply, Rule, decide_reply
from .vad import EnergyVAD, SpeechStarted, SpeechStopped

__all__ = [
    "EAGERNESS_SILENCE_MS",
    "MAX_EVENT_BYTES",
    "UNINTELLIGIBLE",
    "AudioTarget",
    "ClearedAudio",
    "EventAudioOutput",
    "OutputAudio",
    "ProtocolError",
    "RealtimeEngine",
    "Send",
    "default_session",
    "new_id",
]

Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_EVENT_BYTES = 15 * 1024 * 1024
"""OpenAI's limit for one client event (15 MiB)."""

UNINTELLIGIBLE = "[unintelligible audio]"
"""The transcript of user audio that is not tone speech (a real microphone, noise...)."""

EAGERNESS_SILENCE_MS = {"low": 800, "medium": 500, "auto": 500, "high": 250}
"""``semantic_vad`` eagerness mapped to the silence duration that ends a turn."""

DEFAULT_INSTRUCTIONS = "You are a helpful, concise voice assistant."
MIN_COMMIT_MS = 100

SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}

CLIENT_EVENT_TYPES = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
)

VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")


def new_id(prefix: str) -> str:
    """An id in OpenAI's style: ``prefix_`` and random hex."""
    return f"{prefix}_{secrets.token_hex(10)}"


class ProtocolError(Exception):
    """A client mistake, reported as an ``error`` event in OpenAI's shape."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = "invalid_value",
        param: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.type = type


# ----------------------------------------------------------------------------- type checks


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong_type(param: str, expected: str, value: Any) -> ProtocolError:
    return ProtocolError(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        code="invalid_type",
        param=param,
    )


def _unknown(param: str) -> ProtocolError:
    return ProtocolError(f"Unknown parameter: '{param}'.", code="unknown_parameter", param=param)


def _missing(param: str) -> ProtocolError:
    return ProtocolError(
        f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param
    )


def _invalid_value(param: str, value: Any, allowed: Sequence[Any] | None = None) -> ProtocolError:
    message = f"Invalid value: {json.dumps(value)[:200]}."
    if allowed:
        message += " Supported values are: " + ", ".join(json.dumps(a) for a in allowed) + "."
    return ProtocolError(message, code="invalid_value", param=param)


def _check_keys(obj: Mapping[str, Any], allowed: Sequence[str], prefix: str) -> None:
    for key in obj:
        if key not in allowed:
            raise _unknown(f"{prefix}.{key}" if prefix else key)


def _want_str(obj: Mapping[str, Any], key: str, prefix: str, *, required: bool = False) -> None:
    if key not in obj:
        if required:
            raise _missing(f"{prefix}.{key}" if prefix else key)
        return
    if not isinstance(obj[key], str):
        raise _wrong_type(f"{prefix}.{key}" if prefix else key, "a string", obj[key])


def _want_dict(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong_type(param, "an object", value)
    return value


def _want_int(value: Any, param: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(param, "an integer", value)
    if minimum is not None and value < minimum:
        raise ProtocolError(
            f"Invalid '{param}': integer below minimum value. Expected a value >= {minimum}, "
            f"but got {value} instead.",
            code="integer_below_min_value",
            param=param,
        )
    return value


def _want_number(value: Any, param: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type(param, "a number", value)
    if not low <= value <= high:
        raise ProtocolError(
            f"Invalid '{param}': expected a value between {low} and {high}, but got {value}.",
            code="invalid_value",
            param=param,
        )
    return float(value)


def _want_bool(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(param, "a boolean", value)
    return value


# ------------------------------------------------------------------------ session objects


def default_session(model: str, *, session_id: str, expires_at: int) -> dict[str, Any]:
    """The full GA session object the emulator starts every session with."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "prompt": None,
        "truncation": "auto",
        "include": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(SERVER_VAD_DEFAULTS),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
    }


def _normalize_format(value: Any, param: str) -> dict[str, Any]:
    fmt = _want_dict(value, param)
    _check_keys(fmt, ("type", "rate"), param)
    kind = fmt.get("type", "audio/pcm")
    if kind not in ("audio/pcm", "audio/pcmu", "audio/pcma"):
        raise _invalid_value(f"{param}.type", kind, ["audio/pcm", "audio/pcmu", "audio/pcma"])
    if kind == "audio/pcm":
        rate = fmt.get("rate", 24000)
        if rate != 24000:
            raise _invalid_value(f"{param}.rate", rate, [24000])
        return {"type": "audio/pcm", "rate": 24000}
    if "rate" in fmt:
        raise _unknown(f"{param}.rate")
    return {"type": kind}


def _merge_turn_detection(current: Any, value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    td = _want_dict(value, param)
    kind = td.get("type", current.get("type") if isinstance(current, dict) else "server_vad")
    if kind == "server_vad":
        base = dict(SERVER_VAD_DEFAULTS)
        allowed: tuple[str, ...] = tuple(SERVER_VAD_DEFAULTS)
    elif kind == "semantic_vad":
        base = dict(SEMANTIC_VAD_DEFAULTS)
        allowed = tuple(SEMANTIC_VAD_DEFAULTS)
    else:
        raise _invalid_value(f"{param}.type", kind, ["server_vad", "semantic_vad"])
    _check_keys(td, allowed, param)
    if isinstance(current, dict) and current.get("type") == kind:
        base.update(current)
    for key, item in td.items():
        p = f"{param}.{key}"
        if key == "threshold":
            _want_number(item, p, 0.0, 1.0)
        elif key in ("prefix_padding_ms", "silence_duration_ms"):
            _want_int(item, p, minimum=0)
        elif key == "idle_timeout_ms":
            if item is not None:
                _want_int(item, p, minimum=0)
        elif key in ("create_response", "interrupt_response"):
            _want_bool(item, p)
        elif key == "eagerness" and item not in EAGERNESS_SILENCE_MS:
            raise _invalid_value(p, item, list(EAGERNESS_SILENCE_MS))
        base[key] = item
    base["type"] = kind
    return base


def _check_tools(value: Any, param: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _wrong_type(param, "an array", value)
    tools: list[dict[str, Any]] = []
    for index, tool in enumerate(value):
        p = f"{param}[{index}]"
        tool = _want_dict(tool, p)
        kind = tool.get("type", "function")
        if kind == "function":
            _check_keys(tool, ("type", "name", "description", "parameters"), p)
            _want_str(tool, "name", p, required=True)
            _want_str(tool, "description", p)
            if "parameters" in tool:
                _want_dict(tool["parameters"], f"{p}.parameters")
        elif kind != "mcp":
            raise _invalid_value(f"{p}.type", kind, ["function", "mcp"])
        tools.append(copy.deepcopy(tool))
    return tools


def _check_tool_choice(value: Any, param: str) -> Any:
    if isinstance(value, str):
        if value not in ("auto", "none", "required"):
            raise _invalid_value(param, value, ["auto", "none", "required"])
        return value
    choice = _want_dict(value, param)
    if choice.get("type") == "function":
        _check_keys(choice, ("type", "name"), param)
        _want_str(choice, "name", param, required=True)
    elif choice.get("type") == "mcp":
        _check_keys(choice, ("type", "server_label", "name"), param)
        _want_str(choice, "server_label", param, required=True)
    else:
        raise _invalid_value(f"{param}.type", choice.get("type"), ["function", "mcp"])
    return copy.deepcopy(choice)


def _check_modalities(value: Any, param: str) -> list[str]:
    if not isinstance(value, list):
        raise _wrong_type(param, "an array", value)
    if value not in (["audio"], ["text"]):
        raise ProtocolError(
            f"Invalid '{param}': expected ['audio'] or ['text'], got {json.dumps(value)}.",
            code="invalid_value",
            param=param,
        )
    return list(value)


def _check_max_tokens(value: Any, param: str) -> Any:
    if value == "inf":
        return value
    number = _want_int(value, param, minimum=1)
    if number > 4096:
        raise ProtocolError(
            f"Invalid '{param}': expected a value <= 4096 or 'inf', got {number}.",
            code="invalid_value",
            param=param,
        )
    return number


SESSION_KEYS = (
    "type",
    "model",
    "instructions",
    "output_modalities",
    "audio",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "tracing",
    "truncation",
    "include",
    "prompt",
    "parallel_tool_calls",
    "reasoning",
    # Echoed back by clients that resend the session object they received.
    "id",
    "object",
    "expires_at",
)


def merge_session(
    current: dict[str, Any], update: Any, *, param: str = "session", audio_started: bool = False
) -> dict[str, Any]:
    """Validate a ``session.update`` payload and return the merged session (a new dict).

    Only the fields present change; nested objects merge; ``null`` clears a nullable field.
    Raises :class:`ProtocolError` for anything OpenAI would reject.
    """
    patch = _want_dict(update, param)
    if "type" not in patch:
        raise _missing(f"{param}.type")
    if patch["type"] == "transcription":
        raise ProtocolError(
            "Transcription sessions are not supported by the emulator.",
            code="invalid_value",
            param=f"{param}.type",
        )
    if patch["type"] != "realtime":
        raise _invalid_value(f"{param}.type", patch["type"], ["realtime", "transcription"])
    _check_keys(patch, SESSION_KEYS, param)
    new = copy.deepcopy(current)
    for key, value in patch.items():
        p = f"{param}.{key}"
        if key in ("type", "id", "object", "expires_at", "parallel_tool_calls"):
            if key == "parallel_tool_calls":
                _want_bool(value, p)
            continue
        if key == "model":
            if not isinstance(value, str):
                raise _wrong_type(p, "a string", value)
            if value != current.get("model"):
                raise ProtocolError(
                    "Cannot update a session's model.", code="invalid_value", param=p
                )
        elif key == "instructions":
            if not isinstance(value, str):
                raise _wrong_type(p, "a string", value)
            new[key] = value
        elif key == "output_modalities":
            new[key] = _check_modalities(value, p)
        elif key == "tools":
            new[key] = _check_tools(value, p)
        elif key == "tool_choice":
            new[key] = _check_tool_choice(value, p)
        elif key == "max_output_tokens":
            new[key] = _check_max_tokens(value, p)
        elif key == "tracing":
            if value is not None and value != "auto":
                tracing = _want_dict(value, p)
                _check_keys(tracing, ("workflow_name", "group_id", "metadata"), p)
            new[key] = copy.deepcopy(value)
        elif key == "truncation":
            if value not in ("auto", "disabled"):
                trunc = _want_dict(value, p)
                _check_keys(trunc, ("type", "retention_ratio", "token_limits"), p)
                if trunc.get("type") != "retention_ratio":
                    raise _invalid_value(f"{p}.type", trunc.get("type"), ["retention_ratio"])
            new[key] = copy.deepcopy(value)
        elif key == "include":
            if value is not None:
                if not isinstance(value, list):
                    raise _wrong_type(p, "an array", value)
                for entry in value:
                    if entry != "item.input_audio_transcription.logprobs":
                        raise _invalid_value(p, entry, ["item.input_audio_transcription.logprobs"])
            new[key] = copy.deepcopy(value)
        elif key == "prompt":
            if value is not None:
                prompt = _want_dict(value, p)
                _check_keys(prompt, ("id", "version", "variables"), p)
                _want_str(prompt, "id", p, required=True)
            new[key] = copy.deepcopy(value)
        elif key == "reasoning":
            if value is not None:
                reasoning = _want_dict(value, p)
                _check_keys(reasoning, ("effort",), p)
            new[key] = copy.deepcopy(value)
        elif key == "audio":
            _merge_audio(new, current, value, p, audio_started=audio_started)
    return new


def _merge_audio(
    new: dict[str, Any], current: dict[str, Any], value: Any, param: str, *, audio_started: bool
) -> None:
    patch = _want_dict(value, param)
    _check_keys(patch, ("input", "output"), param)
    target = new["audio"]
    if "input" in patch:
        p = f"{param}.input"
        inp = _want_dict(patch["input"], p)
        _check_keys(inp, ("format", "transcription", "noise_reduction", "turn_detection"), p)
        cur = target["input"]
        if "format" in inp:
            cur["format"] = _normalize_format(inp["format"], f"{p}.format")
        if "transcription" in inp:
            tr = inp["transcription"]
            if tr is not None:
                tr = _want_dict(tr, f"{p}.transcription")
                _check_keys(
                    tr,
                    ("model", "language", "prompt", "languages", "keywords", "delay"),
                    f"{p}.transcription",
                )
                for key in ("model", "language", "prompt"):
                    _want_str(tr, key, f"{p}.transcription")
                tr = copy.deepcopy(tr)
            cur["transcription"] = tr
        if "noise_reduction" in inp:
            nr = inp["noise_reduction"]
            if nr is not None:
                nr = _want_dict(nr, f"{p}.noise_reduction")
                _check_keys(nr, ("type", "strength"), f"{p}.noise_reduction")
                if nr.get("type") not in ("near_field", "far_field"):
                    raise _invalid_value(
                        f"{p}.noise_reduction.type", nr.get("type"), ["near_field", "far_field"]
                    )
                nr = copy.deepcopy(nr)
            cur["noise_reduction"] = nr
        if "turn_detection" in inp:
            cur["turn_detection"] = _merge_turn_detection(
                cur.get("turn_detection"), inp["turn_detection"], f"{p}.turn_detection"
            )
    if "output" in patch:
        p = f"{param}.output"
        out = _want_dict(patch["output"], p)
        _check_keys(out, ("format", "voice", "speed"), p)
        cur = target["output"]
        if "format" in out:
            cur["format"] = _normalize_format(out["format"], f"{p}.format")
        if "voice" in out:
            voice = out["voice"]
            if not isinstance(voice, str):
                raise _wrong_type(f"{p}.voice", "a string", voice)
            if audio_started and voice != current["audio"]["output"]["voice"]:
                raise ProtocolError(
                    "Cannot update a conversation's voice if assistant audio is present.",
                    code="cannot_update_voice",
                    param=f"{p}.voice",
                )
            cur["voice"] = voice
        if "speed" in out:
            cur["speed"] = _want_number(out["speed"], f"{p}.speed", 0.25, 1.5)


# ------------------------------------------------------------------------- output audio


@dataclass(frozen=True)
class AudioTarget:
    """Where a chunk of output audio belongs."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int


@dataclass(frozen=True)
class ClearedAudio:
    """What :meth:`OutputAudio.clear` cut short.

    ``response_id`` is the response whose audio was playing (None: nothing was playing);
    ``cut`` lists each item whose audio was dropped, with the milliseconds of it actually
    played, which the engine truncates the item to.
    """

    response_id: str | None = None
    cut: tuple[tuple[AudioTarget, int], ...] = ()


class OutputAudio(Protocol):
    """Where the model's speech goes.

    ``paced`` tells the engine whether the sink plays audio out in real time by itself (a media
    track); if not, the engine paces the chunks (real time divided by the speed factor).
    ``clear`` drops audio not yet played (barge-in, ``output_audio_buffer.clear``); it returns
    None when the sink has no server-side playout buffer at all (only WebRTC/SIP have one),
    else a :class:`ClearedAudio` saying what was cut.
    """

    paced: bool

    async def write(self, pcm: bytes, target: AudioTarget) -> None:
        """Play/send one chunk of PCM16 24 kHz mono audio."""
        ...

    async def end(self, target: AudioTarget) -> None:
        """The item's audio is complete (or was cut short)."""
        ...

    async def clear(self) -> ClearedAudio | None:
        """Drop unplayed audio; None if this transport has no server-side audio buffer."""
        ...


class EventAudioOutput:
    """The WebSocket behaviour: audio goes out as ``response.output_audio.delta`` events."""

    paced = False

    def __init__(self, engine: RealtimeEngine) -> None:
        self._engine = engine

    async def write(self, pcm: bytes, target: AudioTarget) -> None:
        data = audio.to_format(pcm, self._engine.session["audio"]["output"]["format"])
        await self._engine.emit(
            {
                "type": "response.output_audio.delta",
                "response_id": target.response_id,
                "item_id": target.item_id,
                "output_index": target.output_index,
                "content_index": target.content_index,
                "delta": base64.b64encode(data).decode("ascii"),
            }
        )

    async def end(self, target: AudioTarget) -> None:
        return None

    async def clear(self) -> ClearedAudio | None:
        return None


# ------------------------------------------------------------------------------ responses


@dataclass
class _Response:
    id: str
    conversation: bool
    modalities: list[str]
    metadata: dict[str, str] | None
    instructions: str | None
    tool_choice: Any
    context: list[dict[str, Any]]
    output_format: dict[str, Any]
    voice: str
    max_output_tokens: Any
    output: list[dict[str, Any]] = field(default_factory=list)
    cancel_reason: str | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    output_tokens_text: int = 0
    output_tokens_audio: int = 0

    def cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.wake.set()


def _original_prefix(text: str, clean_chars: int) -> str:
    """The prefix of ``text`` whose sanitized form has ``clean_chars`` characters at most."""
    total = 0
    for index, char in enumerate(text):
        total += len(tones.sanitize(char))
        if total > clean_chars:
            return text[:index]
    return text


def _count_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4) if text else 0


# -------------------------------------------------------------------------------- engine


class RealtimeEngine:
    """One Realtime session's protocol state machine.

    ``send`` receives every server event (a dict, already carrying an ``event_id``).
    ``session`` is extra session config applied before ``session.created`` (e.g. from a client
    secret). ``speed`` divides the real-time pacing of output audio.
    """

    def __init__(
        self,
        send: Send,
        *,
        model: str,
        script: Sequence[Rule] = (),
        speed: float = 1.0,
        chunk_ms: int = 40,
        session: Mapping[str, Any] | None = None,
        expires_at: int | None = None,
        output: OutputAudio | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if not 10 <= chunk_ms <= 1000:
            raise ValueError("chunk_ms must be between 10 and 1000")
        self._send = send
        self.script: tuple[Rule, ...] = tuple(script)
        self.speed = speed
        self.chunk_ms = chunk_ms
        self.session = default_session(
            model,
            session_id=new_id("sess"),
            expires_at=expires_at if expires_at is not None else int(time.time()) + 3600,
        )
        if session:
            self.session = merge_session(self.session, {"type": "realtime", **dict(session)})
        self.output: OutputAudio = output if output is not None else EventAudioOutput(self)
        self.conversation_id = new_id("conv")
        self.items: list[dict[str, Any]] = []
        self._audio: dict[str, bytes] = {}  # item id -> PCM16 24 kHz
        self._heard: dict[str, str] = {}  # user audio item id -> what the emulator decoded
        self._spoken: dict[str, str] = {}  # assistant audio item id -> the full text spoken
        self._rule_calls: dict[str, Rule] = {}  # call_id -> the rule that made the call
        self._responses: dict[str, _Response] = {}
        self._active: _Response | None = None  # the response writing to the conversation
        self._audio_started = False
        self._buffer = bytearray()  # PCM16 24 kHz not yet committed
        self._buffer_start_ms = 0.0  # input timeline position of _buffer[0]
        self._input_ms = 0.0  # total input audio received, in ms
        self._vad: EnergyVAD | None = None
        self._vad_offset_ms = 0.0
        self._vad_config: dict[str, Any] | None = None
        self._speech_item_id: str | None = None
        self._speech_start_ms = 0.0
        self._lock = asyncio.Lock()
        self._closed = False
        self._configure_vad()

    # -- emitting

    async def emit(self, event: dict[str, Any]) -> None:
        """Send one server event (an ``event_id`` is added first)."""
        if self._closed:
            return
        full = {"type": event["type"], "event_id": new_id("event")}
        full.update((k, v) for k, v in event.items() if k != "type")
        async with self._lock:
            await self._send(full)

    async def error(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        event_id: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        """Send an ``error`` event in OpenAI's shape."""
        await self.emit(
            {
                "type": "error",
                "error": {
                    "type": type,
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": event_id,
                },
            }
        )

    async def start(self) -> None:
        """Send ``session.created``."""
        await self.emit({"type": "session.created", "session": copy.deepcopy(self.session)})

    async def close(self) -> None:
        """Stop any running response; no more events are sent."""
        self._closed = True
        tasks = [r.task for r in self._responses.values() if r.task is not None]
        for response in list(self._responses.values()):
            response.cancel("client_cancelled")
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)

    # -- dispatch

    async def handle(self, event: dict[str, Any]) -> None:
        """Handle one parsed client event; mistakes become ``error`` events."""
        event_id = event.get("event_id")
        client_event_id = event_id if isinstance(event_id, str) else None
        try:
            if "event_id" in event and not isinstance(event_id, str):
                raise _wrong_type("event_id", "a string", event_id)
            kind = event.get("type")
            if kind is None:
                raise _missing("type")
            if not isinstance(kind, str):
                raise _wrong_type("type", "a string", kind)
            handler = self._handlers().get(kind)
            if handler is None:
                raise _invalid_value("type", kind, CLIENT_EVENT_TYPES)
            await handler(event)
        except ProtocolError as exc:
            await self.error(
                exc.message,
                code=exc.code,
                param=exc.param,
                event_id=client_event_id,
                type=exc.type,
            )

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[None]]]:
        return {
            "session.update": self._session_update,
            "input_audio_buffer.append": self._append,
            "input_audio_buffer.commit": self._commit,
            "input_audio_buffer.clear": self._clear,
            "conversation.item.create": self._item_create,
            "conversation.item.retrieve": self._item_retrieve,
            "conversation.item.truncate": self._item_truncate,
            "conversation.item.delete": self._item_delete,
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
            "output_audio_buffer.clear": self._output_clear,
        }

    # -- session

    async def _session_update(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id", "session"), "")
        if "session" not in event:
            raise _missing("session")
        self.session = merge_session(
            self.session, event["session"], audio_started=self._audio_started
        )
        self._configure_vad()
        await self.emit({"type": "session.updated", "session": copy.deepcopy(self.session)})

    def _configure_vad(self) -> None:
        td = self.session["audio"]["input"]["turn_detection"]
        if td is None:
            self._vad = None
            self._vad_config = None
            self._speech_item_id = None
            return
        if td.get("type") == "semantic_vad":
            params = {
                "threshold": SERVER_VAD_DEFAULTS["threshold"],
                "prefix_padding_ms": SERVER_VAD_DEFAULTS["prefix_padding_ms"],
                "silence_duration_ms": EAGERNESS_SILENCE_MS[td.get("eagerness") or "auto"],
            }
        else:
            params = {
                "threshold": td["threshold"],
                "prefix_padding_ms": td["prefix_padding_ms"],
                "silence_duration_ms": td["silence_duration_ms"],
            }
        if params == self._vad_config and self._vad is not None:
            return
        self._vad_config = params
        self._vad = EnergyVAD(
            threshold=float(params["threshold"]),
            prefix_padding_ms=int(params["prefix_padding_ms"]),
            silence_duration_ms=int(params["silence_duration_ms"]),
        )
        self._vad_offset_ms = self._input_ms
        self._speech_item_id = None

    def _turn_detection(self) -> dict[str, Any] | None:
        td = self.session["audio"]["input"]["turn_detection"]
        return td if isinstance(td, dict) else None

    # -- input audio

    async def _append(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id", "audio"), "")
        if "audio" not in event:
            raise _missing("audio")
        data = event["audio"]
        if not isinstance(data, str):
            raise _wrong_type("audio", "a string", data)
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProtocolError(
                "Invalid 'audio'. Expected base64-encoded audio data.",
                code="invalid_value",
                param="audio",
            ) from exc
        await self.feed_audio(audio.from_format(raw, self.session["audio"]["input"]["format"]))

    async def feed_audio(self, pcm: bytes) -> None:
        """Take user audio (PCM16 24 kHz mono): buffer it and run turn detection.

        WebSocket sessions get here from ``input_audio_buffer.append``; a WebRTC transport can
        call it with the audio of the incoming media track.
        """
        pcm = pcm[: len(pcm) // 2 * 2]
        if not pcm:
            return
        self._buffer += pcm
        self._input_ms += len(pcm) / 48
        if self._vad is None:
            return
        for change in self._vad.feed(pcm):
            if isinstance(change, SpeechStarted):
                await self._speech_started(change.audio_start_ms + self._vad_offset_ms)
            elif isinstance(change, SpeechStopped):
                await self._speech_stopped(change.audio_end_ms + self._vad_offset_ms)
        if self._speech_item_id is None:
            self._trim_buffer()

    def _trim_buffer(self) -> None:
        keep_ms = 1000.0
        if self._vad_config is not None:
            keep_ms += float(self._vad_config["prefix_padding_ms"])
        excess = len(self._buffer) - int(keep_ms * 48)
        if excess > 48 * 500:
            excess -= excess % 2
            del self._buffer[:excess]
            self._buffer_start_ms += excess / 48

    def _buffer_slice(self, start_ms: float, end_ms: float) -> bytes:
        start = max(0, int((start_ms - self._buffer_start_ms) * 48))
        end = max(start, int((end_ms - self._buffer_start_ms) * 48))
        start -= start % 2
        end -= end % 2
        return bytes(self._buffer[start:end])

    def _drop_buffer_until(self, end_ms: float) -> None:
        cut = max(0, int((end_ms - self._buffer_start_ms) * 48))
        cut -= cut % 2
        del self._buffer[:cut]
        self._buffer_start_ms += cut / 48

    async def _speech_started(self, start_ms: float) -> None:
        item_id = new_id("item")
        self._speech_item_id = item_id
        self._speech_start_ms = start_ms
        await self.emit(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": int(start_ms),
                "item_id": item_id,
            }
        )
        td = self._turn_detection()
        active = self._active
        if td is not None and td.get("interrupt_response", True):
            if active is not None:
                await self._cancel(active, "turn_detected")
            await self._clear_output(active)

    async def _speech_stopped(self, end_ms: float) -> None:
        item_id = self._speech_item_id or new_id("item")
        self._speech_item_id = None
        await self.emit(
            {
                "type": "input_audio_buffer.speech_stopped",
                "audio_end_ms": int(end_ms),
                "item_id": item_id,
            }
        )
        pcm = self._buffer_slice(self._speech_start_ms, end_ms)
        self._drop_buffer_until(end_ms)
        await self._commit_audio(pcm, item_id)
        td = self._turn_detection()
        if td is not None and td.get("create_response", True) and self._active is None:
            await self._start_response(self._plan_response(None))

    async def _commit(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id"), "")
        ms = len(self._buffer) / 48
        if ms < MIN_COMMIT_MS:
            raise ProtocolError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
                param=None,
            )
        pcm = bytes(self._buffer)
        item_id = self._speech_item_id or new_id("item")
        self._reset_buffer()
        await self._commit_audio(pcm, item_id)

    def _reset_buffer(self) -> None:
        self._buffer.clear()
        self._buffer_start_ms = self._input_ms
        self._speech_item_id = None
        if self._vad is not None:
            self._vad.reset()
            self._vad_offset_ms = self._input_ms

    async def _clear(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id"), "")
        self._reset_buffer()
        await self.emit({"type": "input_audio_buffer.cleared"})

    async def _commit_audio(self, pcm: bytes, item_id: str) -> None:
        previous = self.items[-1]["id"] if self.items else None
        await self.emit(
            {
                "type": "input_audio_buffer.committed",
                "previous_item_id": previous,
                "item_id": item_id,
            }
        )
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.items.append(item)
        self._audio[item_id] = pcm
        await self._item_added_and_done(item, previous)
        text = self._hear(pcm)
        self._heard[item_id] = text
        if self.session["audio"]["input"]["transcription"] is not None:
            await self._transcribe(item, text, len(pcm) / 48)

    @staticmethod
    def _hear(pcm: bytes) -> str:
        result = tones.decode_result(pcm)
        if result.confidence < tones.MIN_CONFIDENCE or not result.text.strip():
            return UNINTELLIGIBLE
        return result.text

    async def _transcribe(self, item: dict[str, Any], text: str, audio_ms: float) -> None:
        words = text.split(" ")
        per = max(1, (len(words) + 2) // 3)
        pieces = [" ".join(words[i : i + per]) for i in range(0, len(words), per)]
        for index, piece in enumerate(pieces):
            delta = piece if index == 0 else " " + piece
            await self.emit(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": item["id"],
                    "content_index": 0,
                    "delta": delta,
                }
            )
        audio_tokens = max(1, int(audio_ms / 100))
        text_tokens = _count_tokens(text)
        await self.emit(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item["id"],
                "content_index": 0,
                "transcript": text,
                "usage": {
                    "type": "tokens",
                    "input_tokens": audio_tokens,
                    "output_tokens": text_tokens,
                    "total_tokens": audio_tokens + text_tokens,
                    "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
                },
            }
        )
        item["content"][0]["transcript"] = text

    # -- conversation items

    def _find(self, item_id: str) -> int | None:
        for index, item in enumerate(self.items):
            if item["id"] == item_id:
                return index
        return None

    def _normalize_item(
        self, value: Any, *, new: bool = True
    ) -> tuple[dict[str, Any], bytes | None]:
        """Validate a client item; ``new`` items may not reuse an id of the conversation."""
        item = _want_dict(value, "item")
        kind = item.get("type")
        common = ("id", "type", "object", "status")
        if "id" in item and not isinstance(item["id"], str):
            raise _wrong_type("item.id", "a string", item["id"])
        if "status" in item and item["status"] not in ("completed", "incomplete", "in_progress"):
            raise _invalid_value("item.status", item["status"], ["completed", "incomplete"])
        if "object" in item and item["object"] != "realtime.item":
            raise _invalid_value("item.object", item["object"], ["realtime.item"])
        item_id = item.get("id") or new_id("item")
        if new and (item_id in self._audio or self._find(item_id) is not None):
            raise ProtocolError(
                f"Item with id '{item_id}' already exists.", code="invalid_value", param="item.id"
            )
        base: dict[str, Any] = {"id": item_id, "object": "realtime.item", "type": kind}
        pcm: bytes | None = None
        if kind == "message":
            _check_keys(item, (*common, "role", "content"), "item")
            role = item.get("role")
            if role not in ("user", "assistant", "system"):
                raise _invalid_value("item.role", role, ["user", "assistant", "system"])
            content = item.get("content")
            if content is None:
                raise _missing("item.content")
            if not isinstance(content, list):
                raise _wrong_type("item.content", "an array", content)
            parts: list[dict[str, Any]] = []
            allowed = {
                "user": ("input_text", "input_audio", "input_image"),
                "system": ("input_text",),
                "assistant": ("output_text", "output_audio"),
            }[role]
            for index, part in enumerate(content):
                p = f"item.content[{index}]"
                part = _want_dict(part, p)
                ptype = part.get("type")
                if ptype not in allowed:
                    raise _invalid_value(f"{p}.type", ptype, allowed)
                if ptype in ("input_text", "output_text"):
                    _check_keys(part, ("type", "text"), p)
                    _want_str(part, "text", p, required=True)
                    parts.append({"type": ptype, "text": part["text"]})
                elif ptype == "input_image":
                    _check_keys(part, ("type", "image_url", "detail"), p)
                    _want_str(part, "image_url", p, required=True)
                    parts.append(copy.deepcopy(part))
                elif ptype == "input_audio":
                    _check_keys(part, ("type", "audio", "transcript"), p)
                    _want_str(part, "audio", p)
                    if part.get("transcript") is not None:
                        _want_str(part, "transcript", p)
                    if "audio" in part:
                        try:
                            raw = base64.b64decode(part["audio"], validate=True)
                        except (binascii.Error, ValueError) as exc:
                            raise ProtocolError(
                                "Invalid 'audio'. Expected base64-encoded audio data.",
                                code="invalid_value",
                                param=f"{p}.audio",
                            ) from exc
                        pcm = audio.from_format(raw, self.session["audio"]["input"]["format"])
                    parts.append({"type": "input_audio", "transcript": part.get("transcript")})
                else:  # output_audio
                    raise ProtocolError(
                        "Assistant audio messages cannot be created; use 'output_text'.",
                        code="invalid_value",
                        param=f"{p}.type",
                    )
            base.update({"status": "completed", "role": role, "content": parts})
        elif kind == "function_call":
            _check_keys(item, (*common, "name", "arguments", "call_id"), "item")
            _want_str(item, "name", "item", required=True)
            _want_str(item, "arguments", "item")
            _want_str(item, "call_id", "item")
            base.update(
                {
                    "status": "completed",
                    "name": item["name"],
                    "call_id": item.get("call_id") or new_id("call"),
                    "arguments": item.get("arguments", ""),
                }
            )
        elif kind == "function_call_output":
            _check_keys(item, (*common, "call_id", "output"), "item")
            _want_str(item, "call_id", "item", required=True)
            _want_str(item, "output", "item", required=True)
            base.update(
                {"status": "completed", "call_id": item["call_id"], "output": item["output"]}
            )
        elif kind is None:
            raise _missing("item.type")
        else:
            raise _invalid_value(
                "item.type", kind, ["message", "function_call", "function_call_output"]
            )
        return base, pcm

    async def _item_create(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id", "item", "previous_item_id"), "")
        if "item" not in event:
            raise _missing("item")
        item, pcm = self._normalize_item(event["item"])
        previous = event.get("previous_item_id")
        if previous is None:
            index = len(self.items)
        elif not isinstance(previous, str):
            raise _wrong_type("previous_item_id", "a string", previous)
        elif previous == "root":
            index = 0
        else:
            found = self._find(previous)
            if found is None:
                raise ProtocolError(
                    f"Previous item with item_id not found: {previous}",
                    code="invalid_value",
                    param="previous_item_id",
                )
            index = found + 1
        self.items.insert(index, item)
        previous_id = self.items[index - 1]["id"] if index > 0 else None
        if pcm is not None:
            self._audio[item["id"]] = pcm
            self._heard[item["id"]] = self._hear(pcm)
        await self._item_added_and_done(item, previous_id)

    async def _item_added_and_done(self, item: dict[str, Any], previous: str | None) -> None:
        """A complete item joined the conversation: ``added`` then ``done``, as OpenAI does."""
        for kind in ("conversation.item.added", "conversation.item.done"):
            await self.emit(
                {"type": kind, "previous_item_id": previous, "item": copy.deepcopy(item)}
            )

    def _with_audio(self, item: dict[str, Any], fmt: Any) -> dict[str, Any]:
        out = copy.deepcopy(item)
        pcm = self._audio.get(item["id"])
        if pcm is None:
            return out
        for part in out.get("content", []):
            if part.get("type") in ("input_audio", "output_audio"):
                part["audio"] = base64.b64encode(audio.to_format(pcm, fmt)).decode("ascii")
        return out

    def _item_id_param(self, event: dict[str, Any]) -> str:
        if "item_id" not in event:
            raise _missing("item_id")
        item_id = event["item_id"]
        if not isinstance(item_id, str):
            raise _wrong_type("item_id", "a string", item_id)
        return item_id

    async def _item_retrieve(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id", "item_id"), "")
        item_id = self._item_id_param(event)
        index = self._find(item_id)
        if index is None:
            raise ProtocolError(
                f"Item with item_id not found: {item_id}",
                code="item_retrieve_invalid_item_id",
                param="item_id",
            )
        item = self.items[index]
        fmt = (
            self.session["audio"]["input"]["format"]
            if item.get("role") == "user"
            else self.session["audio"]["output"]["format"]
        )
        await self.emit(
            {"type": "conversation.item.retrieved", "item": self._with_audio(item, fmt)}
        )

    async def _item_delete(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id", "item_id"), "")
        item_id = self._item_id_param(event)
        index = self._find(item_id)
        if index is None:
            raise ProtocolError(
                f"Item with item_id not found: {item_id}",
                code="item_delete_invalid_item_id",
                param="item_id",
            )
        del self.items[index]
        self._audio.pop(item_id, None)
        await self.emit({"type": "conversation.item.deleted", "item_id": item_id})

    async def _item_truncate(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id", "item_id", "content_index", "audio_end_ms"), "")
        item_id = self._item_id_param(event)
        for key in ("content_index", "audio_end_ms"):
            if key not in event:
                raise _missing(key)
        content_index = _want_int(event["content_index"], "content_index", minimum=0)
        audio_end_ms = _want_int(event["audio_end_ms"], "audio_end_ms", minimum=0)
        index = self._find(item_id)
        if index is None:
            raise ProtocolError(
                f"Item with item_id not found: {item_id}",
                code="item_truncate_invalid_item_id",
                param="item_id",
            )
        item = self.items[index]
        if item.get("type") != "message" or item.get("role") != "assistant":
            raise ProtocolError(
                "Only assistant messages can be truncated.", code="invalid_value", param="item_id"
            )
        content = item.get("content", [])
        if content_index >= len(content) or content[content_index].get("type") != "output_audio":
            raise ProtocolError(
                f"Content at index {content_index} of item {item_id} is not audio.",
                code="invalid_value",
                param="content_index",
            )
        duration = len(self._audio.get(item_id, b"")) // 48
        if audio_end_ms > duration:
            raise ProtocolError(
                f"Audio content of {duration}ms is already shorter than {audio_end_ms}ms",
                code="invalid_value",
                param="audio_end_ms",
            )
        await self._truncate(item, content_index, audio_end_ms)

    async def _truncate(self, item: dict[str, Any], content_index: int, audio_end_ms: int) -> None:
        item_id = item["id"]
        content = item["content"]
        self._audio[item_id] = self._audio.get(item_id, b"")[: audio_end_ms * 48]
        spoken = self._spoken.get(item_id, content[content_index].get("transcript") or "")
        content[content_index]["transcript"] = tones.played_words(spoken, audio_end_ms)
        await self.emit(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": content_index,
                "audio_end_ms": audio_end_ms,
            }
        )

    async def _output_clear(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id"), "")
        if not await self._clear_output(self._active):
            raise ProtocolError(
                "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
                code="invalid_value",
                param="type",
            )

    async def _clear_output(self, active: _Response | None) -> bool:
        """Drop unplayed output audio; False if the transport has no server-side buffer.

        Emits ``output_audio_buffer.cleared`` (for the response that was playing, else the
        active one) and truncates each cut item to what was played, as OpenAI does on WebRTC.
        """
        cleared = await self.output.clear()
        if cleared is None:
            return False
        response_id = cleared.response_id or (active.id if active is not None else None)
        if response_id is not None:
            await self.emit({"type": "output_audio_buffer.cleared", "response_id": response_id})
        for target, played_ms in cleared.cut:
            index = self._find(target.item_id)
            if index is None:
                continue  # out of band, or deleted meanwhile
            item = self.items[index]
            content = item.get("content") or []
            if target.content_index >= len(content):
                continue
            duration = len(self._audio.get(target.item_id, b"")) // 48
            if played_ms < duration:
                await self._truncate(item, target.content_index, max(0, played_ms))
        return True

    # -- responses

    async def _response_create(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id", "response"), "")
        params = event.get("response")
        if params is not None:
            params = _want_dict(params, "response")
        plan = self._plan_response(params)
        if plan.conversation and self._active is not None:
            raise ProtocolError(
                f"Conversation already has an active response in progress: {self._active.id}. "
                "Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
                param=None,
            )
        await self._start_response(plan)

    def _resolve_input(self, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise _wrong_type("response.input", "an array", value)
        context: list[dict[str, Any]] = []
        for index, entry in enumerate(value):
            p = f"response.input[{index}]"
            entry = _want_dict(entry, p)
            if entry.get("type") == "item_reference":
                _check_keys(entry, ("type", "id"), p)
                _want_str(entry, "id", p, required=True)
                found = self._find(entry["id"])
                if found is None:
                    raise ProtocolError(
                        f"Item with item_id not found: {entry['id']}",
                        code="invalid_value",
                        param=f"{p}.id",
                    )
                context.append(self.items[found])
            else:
                item, pcm = self._normalize_item(entry, new=False)
                if pcm is not None:
                    self._heard[item["id"]] = self._hear(pcm)
                context.append(item)
        return context

    def _plan_response(self, params: dict[str, Any] | None) -> _Response:
        params = params or {}
        allowed = (
            "instructions",
            "output_modalities",
            "conversation",
            "metadata",
            "tool_choice",
            "tools",
            "input",
            "audio",
            "max_output_tokens",
            "prompt",
            "reasoning",
            "parallel_tool_calls",
            "tracing",
        )
        _check_keys(params, allowed, "response")
        session = self.session
        instructions = params.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise _wrong_type("response.instructions", "a string", instructions)
        modalities = session["output_modalities"]
        if "output_modalities" in params:
            modalities = _check_modalities(
                params["output_modalities"], "response.output_modalities"
            )
        conversation = params.get("conversation", "auto")
        if conversation not in ("auto", "none"):
            if isinstance(conversation, str):
                raise _invalid_value("response.conversation", conversation, ["auto", "none"])
            raise _wrong_type("response.conversation", "a string", conversation)
        metadata = params.get("metadata")
        if metadata is not None:
            metadata = _want_dict(metadata, "response.metadata")
            if len(metadata) > 16:
                raise ProtocolError(
                    "Invalid 'response.metadata': too many keys (at most 16).",
                    code="invalid_value",
                    param="response.metadata",
                )
            for key, value in metadata.items():
                if not isinstance(value, str):
                    raise _wrong_type(f"response.metadata.{key}", "a string", value)
            metadata = dict(metadata)
        tool_choice = session["tool_choice"]
        if "tool_choice" in params:
            tool_choice = _check_tool_choice(params["tool_choice"], "response.tool_choice")
        if "tools" in params:
            _check_tools(params["tools"], "response.tools")
        max_tokens = session["max_output_tokens"]
        if "max_output_tokens" in params:
            max_tokens = _check_max_tokens(
                params["max_output_tokens"], "response.max_output_tokens"
            )
        output_format = session["audio"]["output"]["format"]
        voice = session["audio"]["output"]["voice"]
        if "audio" in params:
            audio_params = _want_dict(params["audio"], "response.audio")
            _check_keys(audio_params, ("output",), "response.audio")
            if "output" in audio_params:
                out = _want_dict(audio_params["output"], "response.audio.output")
                _check_keys(out, ("format", "voice"), "response.audio.output")
                if "format" in out:
                    output_format = _normalize_format(out["format"], "response.audio.output.format")
                if "voice" in out:
                    if not isinstance(out["voice"], str):
                        raise _wrong_type("response.audio.output.voice", "a string", out["voice"])
                    voice = out["voice"]
        context = self._resolve_input(params["input"]) if "input" in params else list(self.items)
        return _Response(
            id=new_id("resp"),
            conversation=conversation == "auto",
            modalities=list(modalities),
            metadata=metadata,
            instructions=instructions,
            tool_choice=tool_choice,
            context=context,
            output_format=output_format,
            voice=voice,
            max_output_tokens=max_tokens,
        )

    async def _start_response(self, response: _Response) -> None:
        if self._closed:
            return
        self._responses[response.id] = response
        if response.conversation:
            self._active = response
        await self.emit({"type": "response.created", "response": self._response_object(response)})
        response.task = asyncio.create_task(self._run_response(response))

    async def _response_cancel(self, event: dict[str, Any]) -> None:
        _check_keys(event, ("type", "event_id", "response_id"), "")
        response_id = event.get("response_id")
        if response_id is not None and not isinstance(response_id, str):
            raise _wrong_type("response_id", "a string", response_id)
        target = self._responses.get(response_id) if response_id else self._active
        if target is None or target.done.is_set():
            raise ProtocolError(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
                param=None,
            )
        await self._cancel(target, "client_cancelled")

    async def _cancel(self, response: _Response, reason: str) -> None:
        response.cancel(reason)
        task = response.task
        if task is not None and task is not asyncio.current_task():
            await asyncio.wait({task}, timeout=5.0)

    def _response_object(
        self, response: _Response, *, status: str = "in_progress", usage: bool = False
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": response.id,
            "object": "realtime.response",
            "status": status,
            "status_details": None,
            "output": copy.deepcopy(response.output),
            "conversation_id": self.conversation_id if response.conversation else None,
            "output_modalities": list(response.modalities),
            "max_output_tokens": response.max_output_tokens,
            "audio": {"output": {"format": dict(response.output_format), "voice": response.voice}},
            "metadata": response.metadata,
            "usage": None,
        }
        if status == "cancelled":
            obj["status_details"] = {"type": "cancelled", "reason": response.cancel_reason}
        if usage:
            obj["usage"] = self._usage(response)
        return obj

    def _usage(self, response: _Response) -> dict[str, Any]:
        text_in = 0
        audio_in = 0
        for item in response.context:
            for part in item.get("content") or []:
                if isinstance(part, dict):
                    text_in += _count_tokens(str(part.get("text") or part.get("transcript") or ""))
            if item.get("type") in ("function_call", "function_call_output"):
                text_in += _count_tokens(str(item.get("arguments") or item.get("output") or ""))
            pcm = self._audio.get(str(item.get("id")))
            if pcm:
                audio_in += max(1, len(pcm) // 48 // 100)
        text_in += _count_tokens(response.instructions or self.session["instructions"])
        cached = (text_in // 2) // 64 * 64
        text_out = response.output_tokens_text
        audio_out = response.output_tokens_audio
        return {
            "total_tokens": text_in + audio_in + text_out + audio_out,
            "input_tokens": text_in + audio_in,
            "output_tokens": text_out + audio_out,
            "input_token_details": {
                "text_tokens": text_in,
                "audio_tokens": audio_in,
                "image_tokens": 0,
                "cached_tokens": cached,
                "cached_tokens_details": {
                    "text_tokens": cached,
                    "audio_tokens": 0,
                    "image_tokens": 0,
                },
            },
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }

    def _heard_text(self, item: Mapping[str, Any]) -> str | None:
        return self._heard.get(str(item.get("id")))

    def _decide(self, response: _Response) -> Reply:
        return decide_reply(
            instructions=response.instructions,
            items=response.context,
            script=self.script,
            calls=self._rule_calls,
            heard=self._heard_text,
            allow_tools=response.tool_choice != "none",
        )

    async def _pause(self, response: _Response, seconds: float) -> bool:
        """Wait up to ``seconds``; True if the response was cancelled meanwhile."""
        if response.cancel_reason is not None:
            return True
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(response.wake.wait(), seconds)
        else:
            await asyncio.sleep(0)
        return response.cancel_reason is not None

    async def _run_response(self, response: _Response) -> None:
        try:
            if not await self._pause(response, 0):
                reply = self._decide(response)
                if reply.tool is not None:
                    await self._function_call(response, reply)
                elif "audio" in response.modalities:
                    await self._audio_message(response, reply.text or "")
                else:
                    await self._text_message(response, reply.text or "")
            status = "cancelled" if response.cancel_reason is not None else "completed"
            final = self._response_object(response, status=status, usage=True)
            # The response is over before its response.done is out, so a client that answers
            # response.done with response.create is never refused.
            self._finish(response)
            await self.emit({"type": "response.done", "response": final})
            await self._rate_limits(response)
        finally:
            self._finish(response)

    def _finish(self, response: _Response) -> None:
        response.done.set()
        self._responses.pop(response.id, None)
        if self._active is response:
            self._active = None

    async def _rate_limits(self, response: _Response) -> None:
        used = self._usage(response)["total_tokens"]
        await self.emit(
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {"name": "requests", "limit": 10000, "remaining": 9999, "reset_seconds": 0.006},
                    {
                        "name": "tokens",
                        "limit": 2000000,
                        "remaining": 2000000 - used,
                        "reset_seconds": round(used * 0.00003, 3),
                    },
                ],
            }
        )

    async def _open_item(self, response: _Response, item: dict[str, Any]) -> tuple[int, str | None]:
        output_index = len(response.output)
        await self.emit(
            {
                "type": "response.output_item.added",
                "response_id": response.id,
                "output_index": output_index,
                "item": copy.deepcopy(item),
            }
        )
        previous: str | None = None
        if response.conversation:
            previous = self.items[-1]["id"] if self.items else None
            self.items.append(item)
            await self.emit(
                {
                    "type": "conversation.item.added",
                    "previous_item_id": previous,
                    "item": copy.deepcopy(item),
                }
            )
        return output_index, previous

    async def _close_item(
        self, response: _Response, item: dict[str, Any], output_index: int, previous: str | None
    ) -> None:
        item["status"] = "incomplete" if response.cancel_reason is not None else "completed"
        response.output.append(copy.deepcopy(item))
        await self.emit(
            {
                "type": "response.output_item.done",
                "response_id": response.id,
                "output_index": output_index,
                "item": copy.deepcopy(item),
            }
        )
        if response.conversation:
            await self.emit(
                {
                    "type": "conversation.item.done",
                    "previous_item_id": previous,
                    "item": copy.deepcopy(item),
                }
            )

    async def _function_call(self, response: _Response, reply: Reply) -> None:
        assert reply.tool is not None
        call_id = new_id("call")
        item: dict[str, Any] = {
            "id": new_id("item"),
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": reply.tool,
            "call_id": call_id,
            "arguments": "",
        }
        if reply.rule is not None:
            self._rule_calls[call_id] = reply.rule
        output_index, previous = await self._open_item(response, item)
        arguments = reply.arguments
        step = max(1, (len(arguments) + 1) // 2)
        for start in range(0, len(arguments), step):
            if await self._pause(response, 0):
                break
            delta = arguments[start : start + step]
            item["arguments"] += delta
            await self.emit(
                {
                    "type": "response.function_call_arguments.delta",
                    "response_id": response.id,
                    "item_id": item["id"],
                    "output_index": output_index,
                    "call_id": call_id,
                    "delta": delta,
                }
            )
        if response.cancel_reason is None:
            await self.emit(
                {
                    "type": "response.function_call_arguments.done",
                    "response_id": response.id,
                    "item_id": item["id"],
                    "output_index": output_index,
                    "call_id": call_id,
                    "name": reply.tool,
                    "arguments": item["arguments"],
                }
            )
        response.output_tokens_text += _count_tokens(arguments) + 5
        await self._close_item(response, item, output_index, previous)

    async def _open_message(
        self, response: _Response, part: dict[str, Any]
    ) -> tuple[dict[str, Any], int, str | None, dict[str, Any]]:
        """Add an assistant message item to ``response`` with its first content part."""
        item: dict[str, Any] = {
            "id": new_id("item"),
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        output_index, previous = await self._open_item(response, item)
        ids = {"response_id": response.id, "item_id": item["id"], "output_index": output_index}
        await self.emit(
            {"type": "response.content_part.added", **ids, "content_index": 0, "part": part}
        )
        return item, output_index, previous, ids

    async def _close_message(
        self,
        response: _Response,
        item: dict[str, Any],
        output_index: int,
        previous: str | None,
        ids: dict[str, Any],
        part: dict[str, Any],
        content: dict[str, Any],
    ) -> None:
        """Finish a message opened by :meth:`_open_message` with its final part."""
        await self.emit(
            {"type": "response.content_part.done", **ids, "content_index": 0, "part": part}
        )
        item["content"] = [content]
        await self._close_item(response, item, output_index, previous)

    async def _text_message(self, response: _Response, text: str) -> None:
        part = {"type": "text", "text": ""}
        item, output_index, previous, ids = await self._open_message(response, part)
        words = text.split(" ")
        written = ""
        for index, word in enumerate(words):
            if await self._pause(response, 0):
                break
            delta = word if index == 0 else " " + word
            written += delta
            await self.emit(
                {"type": "response.output_text.delta", **ids, "content_index": 0, "delta": delta}
            )
        await self.emit(
            {"type": "response.output_text.done", **ids, "content_index": 0, "text": written}
        )
        response.output_tokens_text += _count_tokens(written)
        part = {"type": "text", "text": written}
        content = {"type": "output_text", "text": written}
        await self._close_message(response, item, output_index, previous, ids, part, content)

    async def _audio_message(self, response: _Response, text: str) -> None:
        part = {"type": "audio", "transcript": ""}
        item, output_index, previous, ids = await self._open_message(response, part)
        self._audio_started = True
        self._spoken[item["id"]] = text
        item["content"] = [{"type": "output_audio", "transcript": ""}]
        target = AudioTarget(response.id, item["id"], output_index, 0)
        pcm = tones.encode(text)
        chunk_bytes = self.chunk_ms * 48
        sent = bytearray()
        if response.conversation:
            self._audio[item["id"]] = b""
        transcript = ""
        loop = asyncio.get_running_loop()
        started = loop.time()
        for index, offset in enumerate(range(0, len(pcm), chunk_bytes)):
            due = started + index * self.chunk_ms / 1000 / self.speed
            wait = 0.0 if self.output.paced else due - loop.time()
            if await self._pause(response, wait):
                break
            chunk = pcm[offset : offset + chunk_bytes]
            await self.output.write(chunk, target)
            sent += chunk
            if response.conversation:
                self._audio[item["id"]] = bytes(sent)
            heard = _original_prefix(text, len(tones.played_text(text, len(sent) / 48)))
            if len(heard) > len(transcript):
                await self._transcript_delta(ids, heard[len(transcript) :])
                transcript = heard
        if response.cancel_reason is None and transcript != text:
            await self._transcript_delta(ids, text[len(transcript) :])
            transcript = text
        await self.output.end(target)
        await self.emit({"type": "response.output_audio.done", **ids, "content_index": 0})
        await self.emit(
            {
                "type": "response.output_audio_transcript.done",
                **ids,
                "content_index": 0,
                "transcript": transcript,
            }
        )
        response.output_tokens_text += _count_tokens(transcript)
        response.output_tokens_audio += len(sent) // 48 // 50
        part = {"type": "audio", "transcript": transcript}
        content = {"type": "output_audio", "transcript": transcript}
        await self._close_message(response, item, output_index, previous, ids, part, content)

    async def _transcript_delta(self, ids: dict[str, Any], delta: str) -> None:
        await self.emit(
            {
                "type": "response.output_audio_transcript.delta",
                **ids,
                "content_index": 0,
                "delta": delta,
            }
        )
