"""The engine: one session's conversation, input, turn detection and responses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .. import tones
from ..replies import Rule
from . import events as ev
from .conversation import Conversation, count_tokens, hear, new_id
from .errors import (
    BufferTooSmall,
    DuplicateItem,
    NoActiveResponse,
    NoPlayoutBuffer,
    NotAssistantAudio,
    NotAssistantMessage,
    ResponseActive,
    TruncateTooLong,
)
from .input import InputAudio
from .output import ClearedAudio, OutputAudio
from .responses import Response, ResponseRequest, usage_of
from .settings import MIN_COMMIT_MS, Settings
from .speaking import Speaker

__all__ = ["Engine", "EventSink"]

EventSink = Callable[[ev.EngineEvent], Awaitable[None]]

_BYTES_PER_MS = 48


class _Silent:
    """The sink before a front end installs one: audio goes nowhere, unpaced."""

    paced = False

    async def write(self, pcm: bytes, target: ev.Position) -> None:
        return None

    async def end(self, target: ev.Position) -> None:
        return None

    async def clear(self) -> ClearedAudio | None:
        return None


class Engine:
    """One session's model. See the package docstring for the front-end contract."""

    def __init__(
        self,
        events: EventSink,
        *,
        settings: Settings | None = None,
        script: Sequence[Rule] = (),
        speed: float = 1.0,
        chunk_ms: int = 40,
        output: OutputAudio | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if not 10 <= chunk_ms <= 1000:
            raise ValueError("chunk_ms must be between 10 and 1000")
        self._events = events
        self.settings = settings if settings is not None else Settings()
        self.output: OutputAudio = output if output is not None else _Silent()
        self.conversation = Conversation()
        self.input = InputAudio()
        self.input.configure(self.settings.turn_detection)
        self.speaker = Speaker(
            self._emit,
            self.conversation,
            lambda: self.output,
            script=script,
            speed=speed,
            chunk_ms=chunk_ms,
        )
        self._responses: dict[str, Response] = {}
        self.active: Response | None = None
        """The response writing to the conversation (at most one)."""
        self.closed = False

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.conversation.items

    @property
    def audio_started(self) -> bool:
        """Whether the model has spoken yet (some protocols lock the voice from then on)."""
        return self.speaker.audio_started

    async def _emit(self, event: ev.EngineEvent) -> None:
        if not self.closed:
            await self._events(event)

    def configure(self, settings: Settings) -> None:
        """Apply new settings (turn detection keeps its state when its parameters stay)."""
        self.settings = settings
        self.input.configure(settings.turn_detection)

    async def close(self) -> None:
        """Stop every running response; no more events are emitted."""
        self.closed = True
        tasks = [r.task for r in self._responses.values() if r.task is not None]
        for response in list(self._responses.values()):
            response.cancel("client_cancelled")
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)

    # -- input audio

    async def feed_audio(self, pcm: bytes) -> None:
        """Take user audio (PCM16 24 kHz mono): buffer it and run turn detection."""
        pcm = pcm[: len(pcm) // 2 * 2]
        if not pcm:
            return
        for change in self.input.feed(pcm):
            if change.started:
                await self._speech_started(change.ms)
            else:
                await self._speech_stopped(change.ms)
        if self.input.speech_item_id is None:
            self.input.trim()

    async def commit_input(self) -> str:
        """Commit the buffered audio as a user item; returns its id."""
        buffered = self.input.buffered_ms
        if buffered < MIN_COMMIT_MS:
            raise BufferTooSmall(buffered, MIN_COMMIT_MS)
        item_id = self.input.speech_item_id or new_id("item")
        await self._commit_audio(self.input.take_all(), item_id)
        return item_id

    async def clear_input(self) -> None:
        self.input.reset()
        await self._emit(ev.InputCleared())

    async def _speech_started(self, start_ms: float) -> None:
        item_id = new_id("item")
        self.input.speech_item_id = item_id
        self.input.speech_start_ms = start_ms
        await self._emit(ev.SpeechStarted(item_id, int(start_ms)))
        detection = self.settings.turn_detection
        active = self.active
        if detection is not None and detection.interrupt_response:
            if active is not None:
                await self._cancel(active, "turn_detected")
            await self._clear_output(active)

    async def _speech_stopped(self, end_ms: float) -> None:
        item_id = self.input.speech_item_id or new_id("item")
        self.input.speech_item_id = None
        await self._emit(ev.SpeechStopped(item_id, int(end_ms)))
        pcm = self.input.take_until(self.input.speech_start_ms, end_ms)
        await self._commit_audio(pcm, item_id)
        detection = self.settings.turn_detection
        if detection is not None and detection.create_response and self.active is None:
            await self.create_response(ResponseRequest())

    async def _commit_audio(self, pcm: bytes, item_id: str) -> None:
        conversation = self.conversation
        await self._emit(ev.InputCommitted(item_id, conversation.last_id()))
        item: dict[str, Any] = {
            "id": item_id,
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        previous = conversation.append(item)
        conversation.set_audio(item_id, pcm, heard=True)
        await self._item_added_and_done(item, previous)
        if self.settings.transcribe_input:
            await self._transcribe(item, conversation.heard[item_id], len(pcm) / _BYTES_PER_MS)

    async def _transcribe(self, item: dict[str, Any], text: str, audio_ms: float) -> None:
        words = text.split(" ")
        per = max(1, (len(words) + 2) // 3)
        pieces = [" ".join(words[i : i + per]) for i in range(0, len(words), per)]
        for index, piece in enumerate(pieces):
            delta = piece if index == 0 else " " + piece
            await self._emit(ev.TranscriptionDelta(item["id"], 0, delta))
        audio_tokens = max(1, int(audio_ms / 100))
        await self._emit(
            ev.TranscriptionCompleted(item["id"], 0, text, audio_tokens, count_tokens(text))
        )
        item["content"][0]["transcript"] = text

    # -- the conversation

    async def add_item(
        self, item: dict[str, Any], *, after: str | None = None, pcm: bytes | None = None
    ) -> None:
        """Add a complete item: at the end, or after item ``after`` (``"root"``: first).

        ``pcm`` is the audio of a user audio item (the model hears it). Raises
        :class:`DuplicateItem` or :class:`ItemNotFound`.
        """
        conversation = self.conversation
        if conversation.knows(item["id"]):
            raise DuplicateItem(item["id"])
        if after is None:
            index = len(conversation.items)
        elif after == "root":
            index = 0
        else:
            index = conversation.items.index(conversation.get(after)) + 1
        previous = conversation.insert(index, item)
        if pcm is not None:
            conversation.set_audio(item["id"], pcm, heard=True)
        await self._item_added_and_done(item, previous)

    def hear(self, item: dict[str, Any], pcm: bytes) -> None:
        """Let the model hear the audio of an item given as context (kept out of the
        conversation)."""
        self.conversation.heard[item["id"]] = hear(pcm)

    async def _item_added_and_done(self, item: dict[str, Any], previous: str | None) -> None:
        await self._emit(ev.ItemAdded(item, previous))
        await self._emit(ev.ItemDone(item, previous))

    async def delete_item(self, item_id: str) -> None:
        self.conversation.remove(item_id)
        await self._emit(ev.ItemDeleted(item_id))

    async def truncate_item(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        """Cut an assistant audio item's audio (and transcript) to ``audio_end_ms``."""
        item = self.conversation.get(item_id)
        if item.get("type") != "message" or item.get("role") != "assistant":
            raise NotAssistantMessage(item_id)
        content = item.get("content", [])
        if content_index >= len(content) or content[content_index].get("type") != "output_audio":
            raise NotAssistantAudio(item_id, content_index)
        duration = self.conversation.audio_ms(item_id)
        if audio_end_ms > duration:
            raise TruncateTooLong(item_id, duration, audio_end_ms)
        await self._truncate(item, content_index, audio_end_ms)

    async def _truncate(self, item: dict[str, Any], content_index: int, audio_end_ms: int) -> None:
        item_id = item["id"]
        content = item["content"]
        audio = self.conversation.audio.get(item_id)
        if audio is not None:
            del audio[audio_end_ms * _BYTES_PER_MS :]
        spoken = self.conversation.spoken.get(item_id, content[content_index].get("transcript"))
        content[content_index]["transcript"] = tones.played_words(spoken or "", audio_end_ms)
        await self._emit(ev.ItemTruncated(item_id, content_index, audio_end_ms))

    # -- output audio

    async def clear_output(self) -> None:
        """Drop unplayed output audio (raises :class:`NoPlayoutBuffer` when the sink has
        no server-side buffer)."""
        if not await self._clear_output(self.active):
            raise NoPlayoutBuffer()

    async def _clear_output(self, active: Response | None) -> bool:
        cleared = await self.output.clear()
        if cleared is None:
            return False
        response_id = cleared.response_id or (active.id if active is not None else None)
        if response_id is not None:
            await self._emit(ev.OutputCleared(response_id))
        for target, played_ms in cleared.cut:
            index = self.conversation.find(target.item_id)
            if index is None:
                continue  # out of band, or deleted meanwhile
            item = self.conversation.items[index]
            if target.content_index >= len(item.get("content") or []):
                continue
            if played_ms < self.conversation.audio_ms(target.item_id):
                await self._truncate(item, target.content_index, max(0, played_ms))
        return True

    # -- responses

    async def create_response(self, request: ResponseRequest) -> Response | None:
        """Start a response (raises :class:`ResponseActive` when a conversation response is
        running); None once the engine is closed."""
        if request.conversation and self.active is not None:
            raise ResponseActive(self.active.id)
        if self.closed:
            return None
        settings = self.settings
        response = Response(
            id=new_id("resp"),
            conversation=request.conversation,
            modalities=request.modalities or settings.modalities,
            instructions=request.instructions,
            allow_tools=settings.allow_tools
            if request.allow_tools is None
            else request.allow_tools,
            context=list(self.conversation.items) if request.context is None else request.context,
            tag=request.tag,
        )
        self._responses[response.id] = response
        if response.conversation:
            self.active = response
        await self._emit(ev.ResponseStarted(response))
        response.task = asyncio.create_task(self._run(response))
        return response

    async def cancel_response(self, response_id: str | None = None) -> None:
        """Cancel ``response_id`` (default: the conversation's active response)."""
        target = self._responses.get(response_id) if response_id else self.active
        if target is None or target.done.is_set():
            raise NoActiveResponse()
        await self._cancel(target, "client_cancelled")

    async def _cancel(self, response: Response, reason: str) -> None:
        response.cancel(reason)
        task = response.task
        if task is not None and task is not asyncio.current_task():
            await asyncio.wait({task}, timeout=5.0)

    async def _run(self, response: Response) -> None:
        try:
            await self.speaker.speak(response)
            response.status = "cancelled" if response.cancelled else "completed"
            response.usage = usage_of(response, self.conversation, self.settings.instructions)
            # The response is over before its done event is out, so a front end that answers
            # it with a new response is never refused.
            self._finish(response)
            await self._emit(ev.ResponseDone(response))
        finally:
            self._finish(response)

    def _finish(self, response: Response) -> None:
        response.done.set()
        self._responses.pop(response.id, None)
        if self.active is response:
            self.active = None
