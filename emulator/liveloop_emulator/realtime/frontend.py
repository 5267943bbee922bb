"""The OpenAI Realtime front end: GA client events in, GA server events out, on an engine."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from .. import audio
from ..engine import (
    BufferTooSmall,
    DuplicateItem,
    Engine,
    EngineError,
    ItemNotFound,
    NoActiveResponse,
    NoPlayoutBuffer,
    NotAssistantAudio,
    NotAssistantMessage,
    OutputAudio,
    ResponseActive,
    ResponseRequest,
    TruncateTooLong,
)
from ..engine import events as ev
from ..replies import Rule
from . import client_events as ce
from .audio_out import EventAudioOutput
from .errors import ProtocolError, Strict, validate, wrong_type
from .items import decode_base64, parse_item, wire_item
from .render import ResponseTag, new_event_id, render, session_object
from .session import (
    check_tool_choice,
    check_tools,
    default_session,
    merge_session,
    normalize_format,
    settings_of,
)
from .session_models import VoiceRef

__all__ = ["EventAudioOutput", "RealtimeFrontEnd", "Send"]

Send = Callable[[dict[str, Any]], Awaitable[None]]

# The error code OpenAI uses for each item-id lookup that fails, by client event.
_NOT_FOUND_CODES = {
    "conversation.item.retrieve": "item_retrieve_invalid_item_id",
    "conversation.item.delete": "item_delete_invalid_item_id",
    "conversation.item.truncate": "item_truncate_invalid_item_id",
}


class RealtimeFrontEnd:
    """One Realtime session: validates client events, drives its :class:`Engine`, and sends
    the server events (each with an ``event_id``) through ``send``.

    ``session`` is extra session config applied before ``session.created`` (e.g. from a
    client secret); ``output`` replaces the WebSocket's audio deltas (a WebRTC playout).
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
        self._send = send
        self.session = default_session(
            model,
            session_id="sess_" + secrets.token_hex(10),
            expires_at=expires_at if expires_at is not None else int(time.time()) + 3600,
        )
        if session:
            self.session = merge_session(self.session, {"type": "realtime", **dict(session)})
        self.engine = Engine(
            self.on_event,
            settings=settings_of(self.session),
            script=script,
            speed=speed,
            chunk_ms=chunk_ms,
            output=output if output is not None else EventAudioOutput(self),
        )
        self._lock = asyncio.Lock()
        self._closed = False
        self._handlers: dict[str, Callable[[Any], Awaitable[None]]] = {
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

    @property
    def items(self) -> list[dict[str, Any]]:
        """The conversation's items (the engine's form)."""
        return self.engine.items

    # -- sending

    async def emit(self, event: dict[str, Any]) -> None:
        """Send one server event (an ``event_id`` is added first)."""
        if self._closed:
            return
        # "type" first, then "event_id", then the rest (``**event`` keeps type's place)
        await self.send_event({"type": event["type"], "event_id": new_event_id(), **event})

    async def send_event(self, event: dict[str, Any]) -> None:
        """Send one server event that already carries its ``event_id``, second."""
        if self._closed:
            return
        async with self._lock:
            await self._send(event)

    async def on_event(self, event: ev.EngineEvent) -> None:
        """Render one engine event (also fed by playout buffers) and send it."""
        if isinstance(event, ev.ResponseStarted) and event.response.tag is None:
            event.response.tag = self._session_tag()  # a response turn detection started
        for server_event in render(event, self.engine.conversation.id):
            await self.emit(server_event)

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
        error = {"type": type, "code": code, "message": message, "param": param}
        await self.emit({"type": "error", "error": {**error, "event_id": event_id}})

    def session_created(self) -> dict[str, Any]:
        """A ``session.created`` event (with its ``event_id``) for a newly attached client."""
        return {
            "type": "session.created",
            "event_id": new_event_id(),
            "session": session_object(self.session),
        }

    async def start(self) -> None:
        """Send ``session.created``."""
        await self.emit({"type": "session.created", "session": session_object(self.session)})

    async def close(self) -> None:
        """Stop any running response; no more events are sent."""
        self._closed = True
        await self.engine.close()

    async def feed_audio(self, pcm: bytes) -> None:
        """User audio from a media track (PCM16 24 kHz mono)."""
        await self.engine.feed_audio(pcm)

    # -- dispatch

    async def handle(self, event: dict[str, Any]) -> None:
        """Handle one parsed client event; mistakes become ``error`` events."""
        try:
            if ce.is_plain_append(event):
                # Every chunk of user audio: its model would accept it as it is.
                await self._append_audio(event["audio"])
            else:
                parsed = ce.parse_event(event)
                await self._handlers[event["type"]](parsed)
        except ProtocolError as exc:
            await self._refuse(exc, event.get("event_id"))
        except EngineError as exc:
            await self._refuse(_word(exc, event.get("type")), event.get("event_id"))

    async def _refuse(self, exc: ProtocolError, event_id: Any) -> None:
        await self.error(
            exc.message,
            code=exc.code,
            param=exc.param,
            event_id=event_id if isinstance(event_id, str) else None,
            type=exc.type,
        )

    async def _session_update(self, event: ce.SessionUpdate) -> None:
        self.session = merge_session(
            self.session, event.session, audio_started=self.engine.audio_started
        )
        self.engine.configure(settings_of(self.session))
        await self.emit({"type": "session.updated", "session": session_object(self.session)})

    async def _append(self, event: ce.InputAudioBufferAppend) -> None:
        await self._append_audio(event.audio)

    async def _append_audio(self, data: str) -> None:
        raw = decode_base64(data, "audio")
        await self.engine.feed_audio(
            audio.from_format(raw, self.session["audio"]["input"]["format"])
        )

    async def _commit(self, event: BaseModel) -> None:
        await self.engine.commit_input()

    async def _clear(self, event: BaseModel) -> None:
        await self.engine.clear_input()

    async def _item_create(self, event: ce.ConversationItemCreate) -> None:
        item, pcm = parse_item(event.item, "item", self.session["audio"]["input"]["format"])
        await self.engine.add_item(item, after=event.previous_item_id, pcm=pcm)

    async def _item_retrieve(self, event: ce.ItemById) -> None:
        item = self.engine.conversation.get(event.item_id)
        role_input = item.get("role") == "user"
        fmt = self.session["audio"]["input" if role_input else "output"]["format"]
        pcm = self.engine.conversation.audio.get(item["id"])
        retrieved = wire_item(item, bytes(pcm) if pcm is not None else None, fmt)
        await self.emit({"type": "conversation.item.retrieved", "item": retrieved})

    async def _item_delete(self, event: ce.ItemById) -> None:
        await self.engine.delete_item(event.item_id)

    async def _item_truncate(self, event: ce.ConversationItemTruncate) -> None:
        await self.engine.truncate_item(event.item_id, event.content_index, event.audio_end_ms)

    async def _output_clear(self, event: BaseModel) -> None:
        await self.engine.clear_output()

    async def _response_cancel(self, event: ce.ResponseCancel) -> None:
        await self.engine.cancel_response(event.response_id)

    async def _response_create(self, event: ce.ResponseCreate) -> None:
        await self.engine.create_response(self._plan(event.response))

    def _session_tag(self) -> ResponseTag:
        out = self.session["audio"]["output"]
        return ResponseTag(
            output_format=out["format"],
            voice=out["voice"],
            max_output_tokens=self.session["max_output_tokens"],
            metadata=None,
        )

    def _plan(self, raw: dict[str, Any] | None) -> ResponseRequest:
        session = self.session
        params = ce.parse_response_params(raw or {})
        given = params.model_fields_set
        tool_choice = session["tool_choice"]
        if "tool_choice" in given:
            tool_choice = check_tool_choice(params.tool_choice, "response.tool_choice")
        if "tools" in given:
            check_tools(params.tools, "response.tools")
        output_format = session["audio"]["output"]["format"]
        voice = session["audio"]["output"]["voice"]
        out = params.audio.output if "audio" in given and params.audio is not None else None
        if out is not None:
            if "format" in out.model_fields_set:
                output_format = normalize_format(out.format, "response.audio.output.format")
            if "voice" in out.model_fields_set:
                voice = out.voice
                if isinstance(voice, dict):
                    voice = validate(VoiceRef, voice, "response.audio.output.voice").model_dump()
                elif not isinstance(voice, str):
                    raise wrong_type("response.audio.output.voice", "a string", voice)
        modalities = session["output_modalities"]
        if "output_modalities" in given:
            modalities = params.output_modalities
        context = None
        if params.input is not None:
            context = self._resolve_input(params.input)
        tag = ResponseTag(
            output_format=output_format,
            voice=voice,
            max_output_tokens=params.max_output_tokens
            if "max_output_tokens" in given
            else session["max_output_tokens"],
            metadata=dict(params.metadata) if params.metadata is not None else None,
        )
        return ResponseRequest(
            conversation=params.conversation == "auto",
            modalities=tuple(modalities),
            instructions=params.instructions,
            allow_tools=tool_choice != "none",
            context=context,
            tag=tag,
        )

    def _resolve_input(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        context: list[dict[str, Any]] = []
        for index, entry in enumerate(entries):
            p = f"response.input[{index}]"
            if entry.get("type") == "item_reference":
                ref = validate(_ItemReference, entry, p)
                index_found = self.engine.conversation.find(ref.id)
                if index_found is None:
                    raise ProtocolError(f"Item with item_id not found: {ref.id}", param=f"{p}.id")
                context.append(self.engine.items[index_found])
            else:
                item, pcm = parse_item(entry, p, self.session["audio"]["input"]["format"])
                if pcm is not None:
                    self.engine.hear(item, pcm)
                context.append(item)
        return context


class _ItemReference(Strict):
    type: str
    id: str


def _word(exc: EngineError, event_type: Any) -> ProtocolError:
    """An engine refusal in OpenAI's words."""
    if isinstance(exc, BufferTooSmall):
        return ProtocolError(
            "Error committing input audio buffer: buffer too small. Expected at least "
            f"{exc.minimum_ms}ms of audio, but buffer only has {exc.buffered_ms:.2f}ms of audio.",
            code="input_audio_buffer_commit_empty",
        )
    if isinstance(exc, ItemNotFound):
        if event_type == "conversation.item.create":
            return ProtocolError(
                f"Previous item with item_id not found: {exc.item_id}", param="previous_item_id"
            )
        return ProtocolError(
            f"Item with item_id not found: {exc.item_id}",
            code=_NOT_FOUND_CODES.get(str(event_type), "invalid_value"),
            param="item_id",
        )
    if isinstance(exc, DuplicateItem):
        return ProtocolError(f"Item with id '{exc.item_id}' already exists.", param="item.id")
    if isinstance(exc, NotAssistantMessage):
        return ProtocolError("Only assistant messages can be truncated.", param="item_id")
    if isinstance(exc, NotAssistantAudio):
        return ProtocolError(
            f"Content at index {exc.content_index} of item {exc.item_id} is not audio.",
            param="content_index",
        )
    if isinstance(exc, TruncateTooLong):
        return ProtocolError(
            f"Audio content of {exc.duration_ms}ms is already shorter than {exc.audio_end_ms}ms",
            param="audio_end_ms",
        )
    if isinstance(exc, ResponseActive):
        return ProtocolError(
            f"Conversation already has an active response in progress: {exc.response_id}. "
            "Wait until the response is finished before creating a new one.",
            code="conversation_already_has_active_response",
        )
    if isinstance(exc, NoActiveResponse):
        return ProtocolError(
            "Cancellation failed: no active response found", code="response_cancel_not_active"
        )
    if isinstance(exc, NoPlayoutBuffer):
        return ProtocolError(
            "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
            param="type",
        )
    return ProtocolError(str(exc))
