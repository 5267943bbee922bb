"""The Gemini Live front end: one ``BidiGenerateContent`` connection on the engine.

It parses client messages (:mod:`.messages`), drives the protocol-neutral engine, and
renders the engine's events as Gemini's server messages: ``setupComplete`` first;
``serverContent`` with input/output transcriptions, ``modelTurn`` audio (24 kHz tone
speech) or text, ``interrupted``, ``generationComplete`` and ``turnComplete`` (with
``usageMetadata``); ``toolCall``/``toolCallCancellation``; ``sessionResumptionUpdate``
at each resumable moment; ``goAway`` before the connection's lifetime runs out. Errors
are what Gemini sends: a close code and reason (1007 for a bad message, 1008 for a
refused request, 1011 when the connection's time is up).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import soxr

from ..engine import (
    BufferTooSmall,
    ClearedAudio,
    Engine,
    Response,
    ResponseActive,
    ResponseRequest,
    new_id,
)
from ..engine import events as ev
from ..replies import Rule, parse_say_instructions
from .messages import (
    ClientContent,
    ClientMessage,
    ContextUpdate,
    InvalidMessage,
    RealtimeInput,
    Setup,
    ToolResponse,
    audio_rate,
    decode_base64,
    parse_message,
)
from .settings import engine_settings, replace_settings, user_or_model_item
from .store import HandleStore

__all__ = ["GeminiFrontEnd"]

Send = Callable[[dict[str, Any]], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]

ENGINE_RATE = 24_000
DEADLINE_REASON = "Deadline expired before operation could complete."
SESSION_LIMIT_REASON = "Session duration limit exceeded."
_RECORDED = 20_000  # server messages kept per connection for inspection


class _AudioOut:
    """Engine speech -> ``modelTurn`` audio parts (the engine paces them)."""

    paced = False

    def __init__(self, front: GeminiFrontEnd) -> None:
        self._front = front

    async def write(self, pcm: bytes, target: ev.Position) -> None:
        await self._front.output_begins()
        sent = self._front.audio_sent
        sent[target.item_id] = sent.get(target.item_id, 0) + len(pcm)
        data = base64.b64encode(pcm).decode("ascii")
        blob = {"mimeType": f"audio/pcm;rate={ENGINE_RATE}", "data": data}
        await self._front.content(modelTurn={"role": "model", "parts": [{"inlineData": blob}]})

    async def end(self, target: ev.Position) -> None:
        return None

    async def clear(self) -> ClearedAudio | None:
        return None  # audio goes out as it is made: no buffer on this side to clear


class GeminiFrontEnd:
    """One Gemini Live connection. ``handle`` each client frame; ``close`` at the end.

    ``lifetime`` (seconds, None = unlimited) is the connection's cap: ``goAway`` comes
    ``go_away_lead`` seconds before it (default: half the lifetime, at most 50 s), then
    the connection closes with 1011. ``session_limit`` caps a session across its
    resumptions when the setup asks for no context window compression (Gemini's 15
    minutes): then it ends with 1008. ``handles`` keeps resumption snapshots across
    connections.
    """

    def __init__(
        self,
        send: Send,
        close: Close,
        *,
        handles: HandleStore,
        script: Sequence[Rule] = (),
        speed: float = 1.0,
        chunk_ms: int = 40,
        lifetime: float | None = None,
        go_away_lead: float | None = None,
        session_limit: float | None = None,
    ) -> None:
        self._send = send
        self._close = close
        self._handles = handles
        self._lifetime = lifetime
        self._lead = go_away_lead
        self._session_limit = session_limit
        self._started = time.monotonic()
        self.engine = Engine(self.on_event, script=script, speed=speed, chunk_ms=chunk_ms)
        self.engine.output = _AudioOut(self)
        self.setup: Setup | None = None
        self.sent: deque[dict[str, Any]] = deque(maxlen=_RECORDED)
        """Every server message sent (the latest ones), for inspection."""
        self.received: deque[tuple[str, bool]] = deque(maxlen=_RECORDED)
        """Each client message's kind, and whether it asked for a reply."""
        self.responses: deque[Response] = deque(maxlen=1024)
        """The engine's finished responses (status, output items)."""
        self.audio_sent: dict[str, int] = {}
        """Bytes of 24 kHz audio sent per assistant item."""
        self.tool_results = 0
        """Tool results the client sent (each function response of a ``toolResponse``)."""
        self.id = new_id("gemini_session")
        """This connection's id, for inspection (Gemini names no sessions on the wire)."""
        self.resumed = False
        self._transcribe_output = False
        self._resumable = False
        self._resamplers: dict[int, soxr.ResampleStream] = {}
        self._pending_calls: dict[str, str] = {}  # call id -> name, awaiting toolResponse
        # Calls withdrawn by toolCallCancellation: a client may answer one before it reads
        # the cancellation, and that answer is dropped, not an error.
        self._withdrawn: deque[str] = deque(maxlen=256)
        # The user's transcription, held until the reply it triggered begins: Gemini's
        # input transcription lands after the model has started to answer.
        self._held: list[dict[str, Any]] = []
        self._calls_in: dict[str, list[str]] = {}  # response id -> its call ids
        self._timer: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether this connection has ended."""
        return self._closed

    # -- sending -------------------------------------------------------------------------

    async def emit(self, message: dict[str, Any]) -> None:
        if self._closed:
            return
        self.sent.append(message)
        await self._send(message)

    async def content(self, **fields: Any) -> None:
        await self.emit({"serverContent": fields})

    async def end(self, code: int, reason: str) -> None:
        """Close the connection with ``code`` and ``reason``, as the service would."""
        await self.close()
        await self._close(code, reason[:123])

    async def close(self) -> None:
        """Stop the engine and the lifetime timer; nothing is sent afterwards."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
        await self.engine.close()

    # -- client messages -----------------------------------------------------------------

    async def handle(self, frame: str | bytes) -> None:
        """One client frame. Bad input closes the connection as Gemini does (1007)."""
        try:
            message = parse_message(frame)
            self.received.append((type(message).__name__, self._asks_reply(message)))
            if self.setup is None and not isinstance(message, Setup):
                raise InvalidMessage("The first message must be a setup message.")
            await self._dispatch(message)
        except InvalidMessage as exc:
            await self.end(1007, str(exc))

    async def _dispatch(self, message: ClientMessage) -> None:
        if isinstance(message, Setup):
            await self._setup(message)
        elif isinstance(message, RealtimeInput):
            await self._realtime_input(message)
        elif isinstance(message, ClientContent):
            await self._client_content(message)
        elif isinstance(message, ToolResponse):
            await self._tool_response(message)
        else:
            self._context_update(message)

    async def _setup(self, setup: Setup) -> None:
        if self.setup is not None:
            raise InvalidMessage("Setup must be sent once, as the first message.")
        self.setup = setup
        instructions = None
        resumption = setup.session_resumption
        if resumption is not None and resumption.handle:
            restored = self._handles.restore(resumption.handle)
            if restored is None:
                await self.end(1008, "Session resumption handle is invalid or has expired.")
                return
            instructions, self._started = restored.instructions, restored.started
            for item in restored.items:
                await self.engine.add_item(item)
            self.resumed = True
        if setup.system_instruction is not None:
            instructions = None  # a resumed session may change its instructions
        self.engine.configure(engine_settings(setup, instructions))
        self._transcribe_output = setup.output_audio_transcription is not None
        self._resumable = resumption is not None
        await self.emit({"setupComplete": {}})
        await self._offer_handle()
        ends = self._ends(setup)
        if ends is not None:
            self._timer = asyncio.create_task(self._expire(*ends))

    async def _realtime_input(self, message: RealtimeInput) -> None:
        blobs = [message.audio] if message.audio is not None else (message.media_chunks or [])
        for blob in blobs:
            await self.engine.feed_audio(self._to_engine_rate(blob.mime_type, blob.data))
        if message.text:
            await self._user_text(message.text)
        if message.activity_start is not None:
            await self._interrupt()
            await self.engine.clear_input()
        if message.activity_end is not None or (
            message.audio_stream_end and self.engine.input.speech_item_id is not None
        ):
            await self._commit_and_answer()

    def _to_engine_rate(self, mime_type: str, data: str) -> bytes:
        rate = audio_rate(mime_type or "audio/pcm;rate=16000")
        pcm = decode_base64(data)
        pcm = pcm[: len(pcm) // 2 * 2]
        if rate == ENGINE_RATE or not pcm:
            return pcm
        stream = self._resamplers.get(rate)
        if stream is None:
            import soxr  # the gemini extra: only Gemini sessions resample their input

            stream = soxr.ResampleStream(rate, ENGINE_RATE, 1, dtype="int16")
            self._resamplers[rate] = stream
        samples = np.frombuffer(pcm, dtype="<i2")
        return bytes(stream.resample_chunk(samples).astype("<i2").tobytes())

    async def _commit_and_answer(self) -> None:
        try:
            await self.engine.commit_input()
        except BufferTooSmall:
            return  # nothing said: nothing to answer
        await self._answer(None)

    async def _user_text(self, text: str) -> None:
        await self._interrupt()
        await self.engine.add_item(user_or_model_item("user", text))
        await self._answer(None)

    async def _client_content(self, message: ClientContent) -> None:
        say: str | None = None
        turns = list(message.turns)
        last = turns[-1] if turns else None
        if (
            message.turn_complete
            and last is not None
            and last.role in (None, "user")
            and parse_say_instructions(last.text) is not None
        ):
            say = last.text  # a request to voice a text, not a turn of the user's
            turns.pop()
        for turn in turns:
            if turn.role not in (None, "user", "model"):
                raise InvalidMessage(f"Please use a valid role: user, model (got {turn.role}).")
            role = "assistant" if turn.role == "model" else "user"
            await self.engine.add_item(user_or_model_item(role, turn.text))
        if message.turn_complete:
            await self._interrupt()
            await self._answer(say)
        else:
            await self._offer_handle()

    async def _tool_response(self, message: ToolResponse) -> None:
        for answer in message.function_responses:
            if answer.id in self._withdrawn:
                continue
            if answer.id is None or answer.id not in self._pending_calls:
                await self.end(1008, "Requested entity was not found.")
                return
            del self._pending_calls[answer.id]
            self.tool_results += 1
            result = answer.response or {}
            output = result.get("output", result)
            item = {
                "id": new_id("item"),
                "type": "function_call_output",
                "status": "completed",
                "call_id": answer.id,
                "output": output if isinstance(output, str) else json.dumps(output),
            }
            await self.engine.add_item(item)
        if not self._pending_calls and any(
            answer.id not in self._withdrawn for answer in message.function_responses
        ):
            await self._answer(None)

    def _context_update(self, message: ContextUpdate) -> None:
        settings = self.engine.settings
        if message.system_instruction is not None:
            settings = replace_settings(settings, instructions=message.system_instruction.text)
        if message.tools is not None:
            names = [d.name for t in message.tools.tools for d in t.function_declarations or []]
            settings = replace_settings(settings, allow_tools=bool(names))
        self.engine.configure(settings)

    async def _interrupt(self) -> None:
        # New input cuts the model off (START_OF_ACTIVITY_INTERRUPTS).
        active = self.engine.active
        if active is not None:
            await self.engine.cancel_response(active.id)
        await self._cancel_calls()

    async def _cancel_calls(self) -> None:
        if self._pending_calls:
            ids = list(self._pending_calls)
            self._pending_calls.clear()
            self._withdrawn.extend(ids)
            await self.emit({"toolCallCancellation": {"ids": ids}})

    async def _answer(self, instructions: str | None) -> None:
        # Already answering: the running response hears the new input too.
        with contextlib.suppress(ResponseActive):
            await self.engine.create_response(ResponseRequest(instructions=instructions))

    async def _offer_handle(self) -> None:
        if self._resumable and self.engine.active is None and not self._pending_calls:
            settings = self.engine.settings
            handle = self._handles.issue(self.engine.items, settings.instructions, self._started)
            await self.emit({"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}})

    def _ends(self, setup: Setup) -> tuple[float, int, str] | None:
        """(seconds left, close code, reason) of whichever cap comes first."""
        ends: list[tuple[float, int, str]] = []
        if self._lifetime is not None:
            ends.append((self._lifetime, 1011, DEADLINE_REASON))
        if self._session_limit is not None and setup.context_window_compression is None:
            left = self._started + self._session_limit - time.monotonic()
            ends.append((max(left, 0.0), 1008, SESSION_LIMIT_REASON))
        return min(ends) if ends else None

    async def _expire(self, left: float, code: int, reason: str) -> None:
        lifetime = self._lifetime if self._lifetime is not None else left
        lead = min(self._lead if self._lead is not None else min(50.0, lifetime / 2), left)
        await asyncio.sleep(max(left - lead, 0))
        await self.emit({"goAway": {"timeLeft": f"{lead:g}s"}})
        await asyncio.sleep(lead)
        await self.end(code, reason)

    def _asks_reply(self, message: ClientMessage) -> bool:
        """Whether ``message`` asks the model to answer (a tool response does once it
        answers every pending call)."""
        if isinstance(message, ClientContent):
            return message.turn_complete
        if isinstance(message, RealtimeInput):
            return message.activity_end is not None or bool(message.text)
        if isinstance(message, ToolResponse):
            answered = {answer.id for answer in message.function_responses}
            return bool(self._pending_calls) and set(self._pending_calls) <= answered
        return False

    # -- engine events -------------------------------------------------------------------

    async def on_event(self, event: ev.EngineEvent) -> None:
        """Render one engine event as Gemini messages (most have no Gemini form)."""
        if isinstance(event, ev.SpeechStarted):
            if self.engine.settings.turn_detection is not None:
                await self._cancel_calls()
        elif isinstance(event, ev.TranscriptionDelta):
            self._held.append({"text": event.delta})
        elif isinstance(event, ev.TranscriptionCompleted):
            self._held.append({"text": "", "finished": True})
            detection = self.engine.settings.turn_detection
            if detection is None or not detection.create_response:
                await self.output_begins()  # no reply follows on its own
        elif isinstance(event, ev.TranscriptDelta):
            await self.output_begins()
            if self._transcribe_output:
                await self.content(outputTranscription={"text": event.delta})
        elif isinstance(event, ev.TextDelta):
            await self.output_begins()
            await self.content(modelTurn={"role": "model", "parts": [{"text": event.delta}]})
        elif isinstance(event, ev.ArgumentsDone):
            await self.output_begins()
            self._pending_calls[event.call_id] = event.name
            self._calls_in.setdefault(event.at.response_id, []).append(event.call_id)
            args = json.loads(event.arguments or "{}")
            call = {"id": event.call_id, "name": event.name, "args": args}
            await self.emit({"toolCall": {"functionCalls": [call]}})
        elif isinstance(event, ev.ResponseDone):
            await self._response_done(event)

    async def output_begins(self) -> None:
        """The model's output begins (or no reply comes): send the held transcription."""
        held, self._held = self._held, []
        for transcription in held:
            await self.content(inputTranscription=transcription)

    async def _response_done(self, event: ev.ResponseDone) -> None:
        await self.output_begins()
        response = event.response
        self.responses.append(response)
        called = self._calls_in.pop(response.id, [])
        if response.status == "completed" and called:
            return  # the model waits for the tool results (BLOCKING calls)
        usage = response.usage
        metadata = None
        if usage is not None:
            metadata = {
                "promptTokenCount": usage.input_tokens,
                "responseTokenCount": usage.output_tokens,
                "totalTokenCount": usage.total_tokens,
            }
        if response.status == "completed":
            await self.content(generationComplete=True)
        else:
            await self.content(interrupted=True)
        done: dict[str, Any] = {"serverContent": {"turnComplete": True}}
        if metadata is not None:
            done["usageMetadata"] = metadata
        await self.emit(done)
        await self._offer_handle()
