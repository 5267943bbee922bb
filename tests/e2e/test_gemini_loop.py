"""The handler loop end to end over gemini/websocket: the real Gemini plugins over a real
WebSocket (plain ``ws://``) to the emulator's Gemini Live front end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.genai import types

import liveloop
from liveloop.events import AssistantAudio, Interrupted
from liveloop.testing import Heard
from liveloop_emulator import Emulator, Rule, tones

KEY = "AIza-e2e-test"
SILENCE = b"\x00\x00" * 24000  # one second at the session's 24 kHz


def speech(text: str) -> bytes:
    return tones.encode(text) + SILENCE


async def send_in_chunks(session: liveloop.Session, pcm: bytes, chunk: int = 1920) -> None:
    for start in range(0, len(pcm), chunk):
        await session.send_audio(pcm[start : start + chunk])


def options(emu: Emulator, **extra: Any) -> dict[str, Any]:
    return {
        "provider": "gemini",
        "model": "gemini-3.8-live",
        "voice": "Puck",
        "api_key": KEY,
        "base_url": emu.gemini_base_url,
        **extra,
    }


def check_messages(emu: Emulator) -> None:
    for front in emu.gemini.sessions:
        for message in front.sent:
            types.LiveServerMessage.model_validate(message)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    rules = [Rule(match="weather", tool="weather", arguments={"city": "Oslo"}, reply="{output}")]
    async with Emulator(speed=4.0, script=rules) as emulator:
        yield emulator
        check_messages(emulator)


async def test_say_is_voiced_and_heard_at_24_khz(emu: Emulator) -> None:
    async with liveloop.connect(**options(emu)) as session:
        heard: list[AssistantAudio] = []

        async def listen() -> None:
            async for item in session.audio_out():
                if isinstance(item, AssistantAudio):
                    heard.append(item)

        listener = asyncio.create_task(listen())
        speech_ = session.say("Welcome to the front desk.")
        await asyncio.wait_for(speech_.wait(), 10)
        listener.cancel()
    assert speech_.status == "done"
    assert speech_.transcript == "Welcome to the front desk."
    audio = b"".join(chunk.audio for chunk in heard)
    assert tones.decode(audio, sample_rate=24000) == "welcome to the front desk."
    assert speech_.audio_ms == pytest.approx(len(audio) / 48, abs=1)


async def test_typed_and_spoken_turns(emu: Emulator) -> None:
    async with liveloop.connect(**options(emu)) as session:
        await session.send_text("a table for two")
        typed = await asyncio.wait_for(session.input(), 10)
        await send_in_chunks(session, speech("at eight tonight"))
        spoken = await asyncio.wait_for(session.input(), 10)
    assert (typed.text, typed.channel) == ("a table for two", "text")
    assert (spoken.text, spoken.channel) == ("at eight tonight", "audio")


async def test_a_manual_turn_is_heard_whole_and_carries_its_audio(emu: Emulator) -> None:
    # Without turn detection the audio goes between activityStart and activityEnd; an
    # utterance longer than a second is heard from its first word.
    pcm = speech("book a table for two at half past seven")
    async with liveloop.connect(**options(emu, turn_detection=None)) as session:
        await send_in_chunks(session, pcm)
        await session.commit_audio()
        turn = await asyncio.wait_for(session.input(), 10)
    assert turn.text == "book a table for two at half past seven"
    assert turn.audio == pcm  # the user's audio of the turn, as sent
    assert (turn.started_ms, turn.ended_ms) == (0, len(pcm) // 48)


async def test_with_auto_respond_off_only_what_is_asked_for_is_heard(emu: Emulator) -> None:
    # Gemini answers every detected turn; the session hears only the say() it asked for.
    async with liveloop.connect(**options(emu, auto_respond=False)) as session:
        heard = Heard(session)
        await send_in_chunks(session, speech("hello there"))
        turn = await asyncio.wait_for(session.input(), 10)
        await session.say("your table is ready").wait(10)
        assert turn.text == "hello there"
        assert await heard.wait_for_lines(1) == ["your table is ready"]
        heard.close()


async def test_interrupt_cuts_the_reply_and_metrics_count_what_happened(emu: Emulator) -> None:
    async with liveloop.connect(**options(emu, auto_respond=False)) as session:
        await session.say("Welcome.").wait(10)
        heard = Heard(session)
        long = session.say("This is a long answer that goes on and on about the menu and more.")
        await heard.wait_for_audio(ms=300)
        await session.interrupt()
        await asyncio.wait_for(long.wait(), 10)
        heard.close()
        metrics = session.metrics
    assert long.status == "interrupted"
    assert metrics.responses >= 1  # the welcome, completed
    assert metrics.total_tokens > 0  # from Gemini's usageMetadata


async def test_a_tool_is_called_once_and_its_result_spoken(emu: Emulator) -> None:
    calls: list[str] = []

    def weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"Sunny in {city}."

    async with liveloop.connect(**options(emu), tools=[weather]) as session:
        events: list[Any] = []
        spoken = asyncio.Event()

        async def watch() -> None:
            async for event in session.events():
                events.append(event)
                if event.type == "assistant.transcript_done" and "Sunny" in event.transcript:
                    spoken.set()

        watcher = asyncio.create_task(watch())
        await session.send_text("what is the weather")
        await asyncio.wait_for(spoken.wait(), 10)
        watcher.cancel()
    assert calls == ["Oslo"]
    results = [e for e in events if e.type == "tool.result"]
    assert len(results) == 1 and results[0].output == '"Sunny in Oslo."'


async def test_barge_in_stops_the_reply(emu: Emulator) -> None:
    async with liveloop.connect(**options(emu)) as session:
        markers: list[Interrupted] = []
        first_audio = asyncio.Event()

        async def listen() -> None:
            async for item in session.audio_out():
                if isinstance(item, Interrupted):
                    markers.append(item)
                else:
                    first_audio.set()

        listener = asyncio.create_task(listen())
        long = session.say("This is a long answer that goes on and on about the menu and more.")
        await asyncio.wait_for(first_audio.wait(), 10)
        await send_in_chunks(session, speech("stop"))
        await asyncio.wait_for(long.wait(), 10)
        turn = await asyncio.wait_for(session.input(), 10)
        listener.cancel()
    assert long.status == "interrupted"
    assert markers and markers[0].played_ms is not None
    assert turn.text == "stop"


async def test_a_withdrawn_call_is_cancelled_and_answered_by_nothing(emu: Emulator) -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    async def weather(city: str) -> str:
        """The weather in a city (slowly)."""
        started.set()
        await asyncio.sleep(30)
        finished.set()
        return "late"

    async with liveloop.connect(**options(emu), tools=[weather]) as session:
        events: list[Any] = []

        async def watch() -> None:
            async for event in session.events():
                events.append(event)

        watcher = asyncio.create_task(watch())
        await session.send_text("what is the weather")
        await asyncio.wait_for(started.wait(), 10)
        await send_in_chunks(session, speech("never mind"))  # the user speaks over the call
        turn = await asyncio.wait_for(session.input(), 10)
        while turn.text != "never mind":
            turn = await asyncio.wait_for(session.input(), 10)
        await asyncio.sleep(0.2)
        watcher.cancel()
    assert [e.call_ids for e in events if e.type == "tool.call_cancelled"]
    assert not [e for e in events if e.type == "tool.result"]
    assert not finished.is_set()
    outputs = [
        i for i in emu.gemini.sessions[-1].engine.items if i["type"] == "function_call_output"
    ]
    assert outputs == []
