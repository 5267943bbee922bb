"""Observers a test attaches to a session: what the user heard, which tools ran."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from ..events import AssistantAudio, Interrupted, ToolCall, ToolResult
from ..session import Session
from ._emulator import tones_module

__all__ = ["Heard", "ToolLog"]

DEFAULT_TIMEOUT = 10.0


class _Observer:
    """Runs ``_consume`` in a task from construction until :meth:`close`."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _start(self, consume: Callable[[], Any]) -> None:
        self._task = asyncio.create_task(consume())

    def _notify(self) -> None:
        self._changed.set()

    async def _until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        async def wait() -> None:
            while not ready():
                self._changed.clear()
                if self._task is not None and self._task.done():
                    if ready():
                        return
                    raise AssertionError(f"the session ended before {what}; {self._so_far()}")
                await self._changed.wait()

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}; {self._so_far()}"
            ) from None

    def _so_far(self) -> str:
        """What was observed so far, for a failure message."""
        return ""

    def close(self) -> None:
        """Stop observing."""
        if self._task is not None:
            self._task.cancel()

    async def __aenter__(self) -> _Observer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class Heard(_Observer):
    """Collects the assistant's audio from ``session.audio_out()``, item by item, and
    decodes it from tone speech, so a test asserts on what the user would hear.

    Observation starts when the object is created; create it before the audio you
    want to hear is produced.
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._tones = tones_module()
        self._format = session.config.output_audio
        self.audio: dict[str, bytearray] = {}
        """Assistant audio per item id, in the session's output format."""
        self.order: list[str] = []
        """Item ids in the order their audio began."""
        self.interruptions: list[Interrupted] = []
        self._decoded: dict[str, tuple[int, str]] = {}  # item -> (bytes decoded, its text)
        self._start(lambda: self._consume(session))

    async def _consume(self, session: Session) -> None:
        try:
            async for chunk in session.audio_out():
                if isinstance(chunk, AssistantAudio):
                    if chunk.item_id not in self.audio:
                        self.audio[chunk.item_id] = bytearray()
                        self.order.append(chunk.item_id)
                    self.audio[chunk.item_id] += chunk.audio
                else:
                    self.interruptions.append(chunk)
                self._notify()
        finally:
            self._notify()

    def _so_far(self) -> str:
        if not self.order:
            return "no assistant audio was heard"
        lines = "; ".join(repr(line) for line in self.lines)
        cut = f", {len(self.interruptions)} interruption(s)" if self.interruptions else ""
        return f"heard {len(self.order)} line(s): {lines}{cut}"

    def text(self, item_id: str) -> str:
        """The decoded words of one assistant item (lowercase tone-speech text)."""
        audio = bytes(self.audio.get(item_id, b""))
        # Waiting re-reads every line at each chunk: only the item that grew is decoded again.
        cached = self._decoded.get(item_id)
        if cached is not None and cached[0] == len(audio):
            return cached[1]
        pcm = audio
        if self._format.encoding != "pcm16":
            from ._g711 import to_pcm16

            pcm = to_pcm16(audio, self._format.encoding)
        text = str(self._tones.decode(pcm, self._format.rate))
        self._decoded[item_id] = (len(audio), text)
        return text

    @property
    def lines(self) -> list[str]:
        """Every assistant item heard so far, decoded, in order."""
        return [self.text(item_id) for item_id in self.order]

    async def wait_for_lines(self, count: int, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
        """Wait until ``count`` items have been heard in full or cut off, then return
        :attr:`lines`.

        An item counts as complete once a later item has begun, an interruption was
        reported, or no more audio arrived for 300 ms.
        """
        await self._until(lambda: len(self.order) >= count, timeout, f"{count} assistant lines")
        await self._settle(timeout)
        return self.lines

    async def wait_for_audio(self, ms: int = 1, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until at least ``ms`` of assistant audio (in all) has arrived."""
        wanted = int(ms * self._format.bytes_per_ms)

        def enough() -> bool:
            return sum(len(audio) for audio in self.audio.values()) >= wanted

        await self._until(enough, timeout, f"{ms} ms of assistant audio")

    async def wait_for_interruption(self, timeout: float = DEFAULT_TIMEOUT) -> Interrupted:
        """Wait until an interruption is reported; return the first."""
        await self._until(lambda: bool(self.interruptions), timeout, "an interruption")
        return self.interruptions[0]

    async def wait_for(self, words: str, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Wait until a heard line contains ``words`` (case-insensitive); return that line."""
        wanted = words.lower()

        def found() -> bool:
            return any(wanted in line for line in self.lines)

        await self._until(found, timeout, f"the assistant to say {words!r}")
        return next(line for line in self.lines if wanted in line)

    async def _settle(self, timeout: float) -> None:
        # Audio arrives in paced chunks: a line is complete when the chunks stop coming.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        size = -1
        while loop.time() < deadline:
            total = sum(len(audio) for audio in self.audio.values())
            if total == size:
                return
            size = total
            await asyncio.sleep(0.3)


class ToolLog(_Observer):
    """Records every tool call the model made and every result liveloop sent back."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.calls: list[ToolCall] = []
        self.results: list[ToolResult] = []
        self._start(lambda: self._consume(session))

    async def _consume(self, session: Session) -> None:
        try:
            async for event in session.events():
                if isinstance(event, ToolCall):
                    self.calls.append(event)
                elif isinstance(event, ToolResult):
                    self.results.append(event)
                else:
                    continue
                self._notify()
        finally:
            self._notify()

    def _so_far(self) -> str:
        if not self.calls:
            return "no tool was called"
        outputs = {result.call_id: result.output for result in self.results}
        made = "; ".join(
            f"{call.name}({call.arguments}) -> {outputs.get(call.call_id, 'no result yet')}"
            for call in self.calls
        )
        return f"calls made: {made}"

    async def wait_for_results(self, count: int, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until ``count`` tool results have been sent."""
        await self._until(lambda: len(self.results) >= count, timeout, f"{count} tool results")

    def assert_called(self, name: str, /, **arguments: Any) -> ToolResult:
        """Assert the model called ``name`` (with these arguments, if given) exactly once
        and that it was answered exactly once; return the result."""
        calls = [call for call in self.calls if call.name == name]
        if not calls:
            made = ", ".join(call.name for call in self.calls) or "none"
            raise AssertionError(f"tool {name!r} was not called (calls made: {made})")
        if len(calls) > 1:
            raise AssertionError(f"tool {name!r} was called {len(calls)} times; {self._so_far()}")
        [call] = calls
        if arguments:
            given = json.loads(call.arguments or "{}")
            if given != arguments:
                raise AssertionError(f"tool {name!r} was called with {given}, not {arguments}")
        answers = [result for result in self.results if result.call_id == call.call_id]
        if len(answers) != 1:
            raise AssertionError(f"tool call {call.call_id} was answered {len(answers)} times")
        return answers[0]
