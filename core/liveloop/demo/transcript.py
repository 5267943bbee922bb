"""Printing a conversation as it happens: aligned and coloured, or one JSON object a line."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import click

from ..events import (
    AssistantAudio,
    AssistantTranscriptDone,
    PlaybackStopped,
    ResponseDone,
    ResponseStarted,
    ToolCall,
    ToolResult,
    UserTurn,
)
from ..session import Session

__all__ = ["Follower", "Transcript"]

_TRACK_TAIL_S = 0.4

_COLOURS = {"caller": "cyan", "assistant": "green", "tool": "yellow", "info": "white"}


class Transcript:
    """Writes conversation entries through ``echo`` as they happen.

    Text lines look like ``  1.24s  caller     do you have a terrace``; with
    ``as_json`` every entry is a JSON object on its own line with ``t`` (seconds since
    the start), ``role``, ``text`` and any extra fields.
    """

    def __init__(self, *, as_json: bool = False, echo: Callable[[str], None] = click.echo) -> None:
        self.as_json = as_json
        self._echo = echo
        self._start = time.monotonic()
        self.entries: list[dict[str, Any]] = []

    def add(self, role: str, text: str, note: str = "", **fields: Any) -> None:
        """Record and print one entry; ``note`` is shown dimmed after the text."""
        seconds = round(time.monotonic() - self._start, 2)
        entry = {"t": seconds, "role": role, "text": text, **fields}
        self.entries.append(entry)
        if self.as_json:
            self._echo(json.dumps(entry))
            return
        label = click.style(f"{role:<9}", fg=_COLOURS.get(role, "white"), bold=True)
        suffix = f"  {click.style(note, dim=True)}" if note else ""
        self._echo(f"{seconds:6.2f}s  {label}  {text}{suffix}")

    def info(self, text: str, **fields: Any) -> None:
        """A line about the run itself (not part of the conversation)."""
        if self.as_json:
            self._echo(json.dumps({"role": "info", "text": text, **fields}))
        else:
            self._echo(click.style(text, dim=True))


class Follower:
    """Follows a session's events into a :class:`Transcript`: the assistant's lines
    (decoded from its tone-speech audio with ``decode_audio``, else its transcript), tool
    calls and results; counts finished replies so a caller knows when to speak again."""

    def __init__(
        self,
        session: Session,
        transcript: Transcript,
        *,
        decode_audio: bool,
        show_turns: bool = False,
    ) -> None:
        self._session = session
        self._transcript = transcript
        self._decode = decode_audio
        self._show_turns = show_turns
        self._audio: dict[str, bytearray] = {}
        self.replies = 0
        self.turns = 0
        """User turns seen so far."""
        self.answered = 0
        """How many of those turns a finished reply came after."""
        self._changed = asyncio.Event()
        # Over a media track (WebRTC) a reply is heard until its playback stops.
        self._on_track = session.features.media == "track"
        self._unheard: dict[str, AssistantTranscriptDone] = {}
        self._final: set[str] = set()
        self._turns_before: dict[str, int] = {}
        self.last_event_at = time.monotonic()
        """When the session last said anything (monotonic clock)."""

    async def run(self) -> None:
        async for event in self._session.events():
            self.last_event_at = time.monotonic()
            if isinstance(event, AssistantAudio):
                self._audio.setdefault(event.item_id, bytearray()).extend(event.audio)
            elif isinstance(event, UserTurn):
                self.turns += 1
                if self._show_turns:
                    self._transcript.add(
                        "caller",
                        event.turn.text,
                        f"({event.turn.channel})",
                        channel=event.turn.channel,
                    )
            elif isinstance(event, AssistantTranscriptDone):
                if self._on_track:
                    # The track is still playing it: the line is heard when playback stops.
                    self._unheard[event.response_id] = event
                else:
                    self._assistant_line(event)
            elif isinstance(event, PlaybackStopped):
                # The track's last audio arrives a little after the event that ends it.
                loop = asyncio.get_running_loop()
                loop.call_later(_TRACK_TAIL_S, self._heard_in_full, event.response_id)
            elif isinstance(event, ToolCall):
                self._transcript.add(
                    "tool", f"{event.name}({_arguments(event.arguments)})", call_id=event.call_id
                )
            elif isinstance(event, ToolResult):
                note = "error" if event.is_error else ""
                self._transcript.add("tool", f"-> {event.output}", note, call_id=event.call_id)
            elif isinstance(event, ResponseStarted):
                self._turns_before[event.response_id] = self.turns
            elif isinstance(event, ResponseDone) and not event.tool_call_ids:
                if self._on_track and event.response_id in self._unheard:
                    self._final.add(event.response_id)
                else:
                    self._reply_finished(event.response_id)

    def _heard_in_full(self, response_id: str) -> None:
        line = self._unheard.pop(response_id, None)
        if line is not None:
            self._assistant_line(line)
        if response_id in self._final:
            self._final.discard(response_id)
            self._reply_finished(response_id)

    def _reply_finished(self, response_id: str) -> None:
        self.replies += 1
        # A reply answers the turns that had arrived when it began, not those after it.
        self.answered = max(self.answered, self._turns_before.pop(response_id, 0))
        self._changed.set()

    def _assistant_line(self, event: AssistantTranscriptDone) -> None:
        text = event.transcript
        fields: dict[str, Any] = {}
        if self._decode:
            from liveloop_emulator import tones

            rate = self._session.config.output_audio.rate
            text = tones.decode(bytes(self._audio.pop(event.item_id, b"")), rate)
            fields["heard_from"] = "audio"
        latency = next(
            (
                turn.first_audio_latency_ms
                for turn in self._session.metrics.turns
                if turn.response_id == event.response_id
            ),
            None,
        )
        note = ""
        if latency is not None:
            fields["latency_ms"] = round(latency, 1)
            note = f"({latency:.0f} ms after the caller stopped)"
        self._transcript.add("assistant", text, note, **fields)

    async def wait_for_replies(self, count: int, timeout: float) -> None:
        """Wait until ``count`` replies have finished; TimeoutError after ``timeout`` s."""

        async def wait() -> None:
            while self.replies < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    async def wait_for_answers(self, turns: int, timeout: float) -> None:
        """Wait until ``turns`` user turns were seen and a reply finished after the last;
        TimeoutError after ``timeout`` s."""

        async def wait() -> None:
            while self.answered < turns:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)


def _arguments(arguments: str) -> str:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return arguments
    if not isinstance(parsed, dict):
        return arguments
    return ", ".join(f"{key}={value!r}" for key, value in parsed.items())
