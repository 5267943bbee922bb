"""``liveloop talk module:app``: talk to a handler with a microphone and a speaker.

The microphone goes to ``session.send_audio``; the assistant's audio plays on the speaker,
and ``session.played()`` reports the speaker's real position, so talking over the assistant
stops its audio at once and truncates its reply to what was heard. The conversation prints
as it goes: both sides, tool calls, each turn's latency.

By default the handler runs against the bundled emulator, which understands tone speech
only: with ``tone`` each typed line is spoken as tone speech into the microphone path. With
``live`` it runs against the provider (its key from the environment).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

from .audio_io import AudioBackend, AudioStreams, SoundDeviceBackend
from .console import ConsoleError, load_app, read_lines
from .demo.transcript import Follower, Transcript
from .errors import LiveloopError
from .events import AssistantAudio
from .matrix import default_provider
from .plugins import get_plugin_manager
from .session import Session

__all__ = ["BLOCK_MS", "run_talk"]

BLOCK_MS = 20
"""Microphone and speaker block size."""
REPORT_S = 0.02
"""How often the speaker's position is reported to the session."""
_TURN_SILENCE_MS = 1000
_REPLY_SPEED = 4.0  # how much faster than real time the bundled emulator sends its replies


async def run_talk(
    target: str,
    name: str | None = None,
    *,
    live: bool = False,
    provider: str | None = None,
    tone: bool = False,
    input_device: str | None = None,
    output_device: str | None = None,
    script: Path | None = None,
    record: Path | None = None,
    backend: AudioBackend | None = None,
    stream: TextIO | None = None,
) -> None:
    """Run ``target``'s handler with the sound devices until it returns (or Ctrl-C)."""
    app = load_app(target)
    devices = backend or SoundDeviceBackend()
    transcript = Transcript()
    async with AsyncExitStack() as stack:
        options: dict[str, Any] = {}
        if live:
            chosen = provider or default_provider()
            options["provider"] = chosen
            _require_key(chosen)
        else:
            options = await _start_emulator(stack, script)
        if record is not None:
            options["record"] = record
        run = await stack.enter_async_context(app.start(name, **options))
        session = run.session
        if not (session.features.audio_in and session.features.audio_out):
            raise ConsoleError(
                f"{session.config.pair} does not carry audio through this process; "
                "liveloop talk needs a pair with audio in and out"
            )
        streams = devices.open(
            rate=session.config.output_audio.rate,
            input_device=input_device,
            output_device=output_device,
            block_ms=BLOCK_MS,
        )
        stack.push_async_callback(streams.aclose)
        where = (
            f"{options['provider']} (live)"
            if live
            else f"the bundled emulator at {options.get('base_url')}"
        )
        transcript.info(f"{target} on {where}. Ctrl-C ends the call.")
        if not live and not tone:
            transcript.info(
                "The emulator understands tone speech only, not your voice: run with --tone "
                "and type a line to say it as tone speech through the microphone path."
            )
        elif not live:
            transcript.info("Type a line and press Enter: it is spoken as tone speech.")
        else:
            transcript.info("Speak, or type a line to send it as text.")
        talking = _Talk(session, streams, spoken=not live and tone)
        follower = Follower(session, transcript, decode_audio=not live, show_turns=True)
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        read_lines(stream or sys.stdin, asyncio.get_running_loop(), lines)
        tasks = [
            asyncio.create_task(follower.run(), name="talk-transcript"),
            asyncio.create_task(talking.microphone(), name="talk-microphone"),
            asyncio.create_task(talking.speaker(), name="talk-speaker"),
            asyncio.create_task(talking.report_played(), name="talk-played"),
            asyncio.create_task(_typed(lines, talking, transcript, live, tone), name="talk-lines"),
        ]
        try:
            done, _ = await asyncio.wait({run.task, *tasks}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not run.task and not task.cancelled() and task.exception():
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _require_key(provider: str) -> None:
    registered = get_plugin_manager().providers().get(provider)
    variable = registered.spec.api_key_env if registered is not None else None
    if variable and not os.environ.get(variable):
        raise ConsoleError(f"--live talks to {provider} and needs {variable} in the environment")


async def _start_emulator(stack: AsyncExitStack, script: Path | None) -> dict[str, Any]:
    try:
        from liveloop_emulator import Emulator, load_script
    except ImportError:
        raise ConsoleError(
            "liveloop talk needs the bundled emulator (or --live): pip install liveloop-emulator"
        ) from None
    rules = load_script(script) if script is not None else []
    # Replies arrive ahead of playback, as a real provider sends them: the speaker's buffer
    # then rides out a busy moment of the loop the emulator shares, instead of stuttering.
    emulator = await stack.enter_async_context(Emulator(script=rules, speed=_REPLY_SPEED))
    from .testing.target import emulated_provider

    try:
        _, emulated = emulated_provider()
    except LiveloopError as exc:
        raise ConsoleError(str(exc)) from None
    return emulated.options(emulator)


async def _typed(
    lines: asyncio.Queue[str | None], talking: _Talk, transcript: Transcript, live: bool, tone: bool
) -> None:
    hinted = False
    while (line := await lines.get()) is not None:
        text = line.strip()
        if not text:
            continue
        if live:
            await talking.session.send_text(text)
        elif tone:
            talking.say_as_tone(text)
        elif not hinted:
            hinted = True
            transcript.info("Typed lines need --tone against the emulator.")
    await asyncio.Event().wait()  # the input ended; the call goes on until Ctrl-C


class _Talk:
    """Moves audio between the session and the sound devices."""

    def __init__(self, session: Session, streams: AudioStreams, *, spoken: bool) -> None:
        self.session = session
        self.streams = streams
        self._tone = bytearray()
        self._spoken = spoken
        self._item: tuple[str, int] | None = None  # the item playing, its first frame

    def say_as_tone(self, text: str) -> None:
        from liveloop_emulator import tones

        rate = self.streams.rate
        self._tone.extend(tones.encode(text, rate) + bytes(rate * _TURN_SILENCE_MS // 1000 * 2))

    async def microphone(self) -> None:
        while True:
            block = await self.streams.read()
            if self._tone:
                # A typed line takes the microphone's place, block by block, in real time.
                size = len(block)
                block = bytes(self._tone[:size]).ljust(size, b"\0")
                del self._tone[:size]
            await self.session.send_audio(block)

    async def speaker(self) -> None:
        async for chunk in self.session.audio_out():
            if isinstance(chunk, AssistantAudio):
                if self._item is None or self._item[0] != chunk.item_id:
                    self._item = (chunk.item_id, self.streams.queued_frames)
                self.streams.play(chunk.audio)
            else:  # the user talked over it: silence now, the rest is dropped
                self.streams.clear()
                self._item = None

    async def report_played(self) -> None:
        # The session truncates a barge-in to what the speaker really played.
        while True:
            await asyncio.sleep(REPORT_S)
            item = self._item
            if item is not None:
                frames = max(0, self.streams.played_frames - item[1])
                with contextlib.suppress(Exception):  # the session may be closing
                    self.session.played(frames * 1000 // self.streams.rate, item[0])
