"""What a response says and how: a tool call, text, or tone speech paced in real time."""

from __future__ import annotations

import asyncio
import bisect
import copy
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .. import tones
from ..replies import Reply, Rule, decide_reply
from . import events as ev
from .conversation import Conversation, count_tokens, new_id
from .output import OutputAudio
from .pacing import pause
from .responses import Response

__all__ = ["Speaker"]

Emit = Callable[[ev.EngineEvent], Awaitable[None]]


class _Heard:
    """How much of a spoken text a listener has heard after some milliseconds of its audio,
    as a prefix of the original text (precomputed once per reply: no per-chunk rescans)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._clean = len(tones.sanitize(text))
        total = 0
        self._cumulative: list[int] = []
        for char in text:
            total += len(tones.sanitize(char))
            self._cumulative.append(total)

    def length_after(self, audio_ms: float) -> int:
        """The length of the prefix heard (the prefix itself is ``text[:length]``)."""
        slots = int(max(0.0, audio_ms) // tones.SYMBOL_MS) - tones.SYNC_SLOTS
        clean_chars = max(0, min(self._clean, slots))
        return bisect.bisect_right(self._cumulative, clean_chars)


@functools.lru_cache(maxsize=32)
def _speech(text: str, chunk_bytes: int) -> tuple[tuple[bytes, ...], _Heard]:
    """The tone speech of ``text`` cut into chunks, and how much of it each length of audio
    carries. Kept for the texts said last: sessions say the same things again and again, so
    most replies cost no synthesis, and the same chunk objects go out each time (an output
    sink can key its own work on them)."""
    pcm = tones.encode(text)
    chunks = tuple(pcm[offset : offset + chunk_bytes] for offset in range(0, len(pcm), chunk_bytes))
    return chunks, _Heard(text)


class Speaker:
    """Produces a response's output items: decides the reply (:mod:`..replies`), then emits
    a function call, a text message or an audio message, checking for cancellation between
    pieces. Audio goes to the output sink ``sink()`` in ``chunk_ms`` chunks, paced at real
    time divided by ``speed`` unless the sink paces itself."""

    def __init__(
        self,
        emit: Emit,
        conversation: Conversation,
        sink: Callable[[], OutputAudio],
        *,
        script: Sequence[Rule],
        speed: float,
        chunk_ms: int,
    ) -> None:
        self._emit = emit
        self._conversation = conversation
        self._sink = sink
        self.script = tuple(script)
        self.speed = speed
        self.chunk_ms = chunk_ms
        self.rule_calls: dict[str, Rule] = {}  # call_id -> the rule that made the call
        self.audio_started = False

    async def speak(self, response: Response) -> None:
        """Produce the whole output of ``response`` (returns early when it is cancelled)."""
        if await pause(response, 0):
            return
        reply = decide_reply(
            instructions=response.instructions,
            items=response.context,
            script=self.script,
            calls=self.rule_calls,
            heard=self._conversation.heard_text,
            allow_tools=response.allow_tools,
        )
        if reply.tool is not None:
            await self._function_call(response, reply)
        elif "audio" in response.modalities:
            await self._audio_message(response, reply.text or "")
        else:
            await self._text_message(response, reply.text or "")

    # -- items

    async def _open_item(self, response: Response, item: dict[str, Any]) -> tuple[int, str | None]:
        output_index = len(response.output)
        await self._emit(ev.OutputItemAdded(response, output_index, item))
        previous: str | None = None
        if response.conversation:
            previous = self._conversation.append(item)
            await self._emit(ev.ItemAdded(item, previous))
        return output_index, previous

    async def _close_item(
        self, response: Response, item: dict[str, Any], output_index: int, previous: str | None
    ) -> None:
        item["status"] = "incomplete" if response.cancelled else "completed"
        response.output.append(copy.deepcopy(item))
        await self._emit(ev.OutputItemDone(response, output_index, item))
        if response.conversation:
            await self._emit(ev.ItemDone(item, previous))

    async def _function_call(self, response: Response, reply: Reply) -> None:
        assert reply.tool is not None
        call_id = new_id("call")
        item: dict[str, Any] = {
            "id": new_id("item"),
            "type": "function_call",
            "status": "in_progress",
            "name": reply.tool,
            "call_id": call_id,
            "arguments": "",
        }
        if reply.rule is not None:
            self.rule_calls[call_id] = reply.rule
        output_index, previous = await self._open_item(response, item)
        at = ev.Position(response.id, item["id"], output_index)
        arguments = reply.arguments
        step = max(1, (len(arguments) + 1) // 2)
        for start in range(0, len(arguments), step):
            if await pause(response, 0):
                break
            delta = arguments[start : start + step]
            item["arguments"] += delta
            await self._emit(ev.ArgumentsDelta(at, call_id, delta))
        if not response.cancelled:
            await self._emit(ev.ArgumentsDone(at, call_id, reply.tool, item["arguments"]))
        response.output_text_tokens += count_tokens(arguments) + 5
        await self._close_item(response, item, output_index, previous)

    async def _open_message(
        self, response: Response, part: dict[str, Any]
    ) -> tuple[dict[str, Any], int, str | None, ev.Position]:
        """Add an assistant message item to ``response`` with its first content part."""
        item: dict[str, Any] = {
            "id": new_id("item"),
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        output_index, previous = await self._open_item(response, item)
        at = ev.Position(response.id, item["id"], output_index)
        await self._emit(ev.PartAdded(at, part))
        return item, output_index, previous, at

    async def _close_message(
        self,
        response: Response,
        item: dict[str, Any],
        opened: tuple[int, str | None, ev.Position],
        part: dict[str, Any],
        content: dict[str, Any],
    ) -> None:
        output_index, previous, at = opened
        await self._emit(ev.PartDone(at, part))
        item["content"] = [content]
        await self._close_item(response, item, output_index, previous)

    async def _text_message(self, response: Response, text: str) -> None:
        item, output_index, previous, at = await self._open_message(
            response, {"type": "text", "text": ""}
        )
        written = ""
        for index, word in enumerate(text.split(" ")):
            if await pause(response, 0):
                break
            delta = word if index == 0 else " " + word
            written += delta
            await self._emit(ev.TextDelta(at, delta))
        await self._emit(ev.TextDone(at, written))
        response.output_text_tokens += count_tokens(written)
        part = {"type": "text", "text": written}
        content = {"type": "output_text", "text": written}
        await self._close_message(response, item, (output_index, previous, at), part, content)

    async def _audio_message(self, response: Response, text: str) -> None:
        item, output_index, previous, at = await self._open_message(
            response, {"type": "audio", "transcript": ""}
        )
        self.audio_started = True
        self._conversation.spoken[item["id"]] = text
        item["content"] = [{"type": "output_audio", "transcript": ""}]
        chunks, heard = _speech(text, self.chunk_ms * 48)
        # The conversation's copy grows in place: appending a chunk costs the chunk only.
        sent = bytearray()
        if response.conversation:
            self._conversation.audio[item["id"]] = sent
        transcript = ""
        sink = self._sink()
        loop = asyncio.get_running_loop()
        started = loop.time()
        interval = self.chunk_ms / 1000 / self.speed
        # A chunk may go out up to an eighth of an interval early (5 ms at 40 ms chunks in
        # real time): enough for the waits of many sessions to share one timer fire.
        slack = interval / 8
        for index, chunk in enumerate(chunks):
            wait = 0.0 if sink.paced else started + index * interval - loop.time()
            if await pause(response, wait, slack):
                break
            await sink.write(chunk, at)
            sent += chunk
            heard_chars = heard.length_after(len(sent) / 48)
            if heard_chars > len(transcript):
                await self._emit(ev.TranscriptDelta(at, text[len(transcript) : heard_chars]))
                transcript = text[:heard_chars]
        if not response.cancelled and transcript != text:
            await self._emit(ev.TranscriptDelta(at, text[len(transcript) :]))
            transcript = text
        await sink.end(at)
        await self._emit(ev.AudioDone(at))
        await self._emit(ev.TranscriptDone(at, transcript))
        response.output_text_tokens += count_tokens(transcript)
        response.output_audio_tokens += len(sent) // 48 // 50
        part = {"type": "audio", "transcript": transcript}
        content = {"type": "output_audio", "transcript": transcript}
        await self._close_message(response, item, (output_index, previous, at), part, content)
