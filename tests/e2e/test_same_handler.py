"""One handler file, both providers: ``examples/concierge.py`` runs unchanged over
openai/websocket and gemini/websocket (the emulator speaks both protocols), a caller
speaks the same lines, and the conversation's transcript is the same; each spoken turn
carries the caller's audio of that turn (``turn.audio``) on both."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import liveloop
from liveloop.testing.voice import speak
from liveloop.turns import SessionTurn
from liveloop_emulator import Emulator, load_script, tones

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CALLER = ("hello, can i book a table for two", "thank you, goodbye")  # tone speech: lower case
EXPECTED = [
    ("assistant", "Hi, this is the front desk. How can I help?"),
    ("caller", "hello, can i book a table for two"),
    ("tool", "book_table"),
    ("assistant", "Booked: a table for 2 at 19:30, booking number 1."),
    ("caller", "thank you, goodbye"),
    ("assistant", "Bye now."),  # the model answers the turn on its own (auto_respond)
    ("assistant", "Thank you for calling. Goodbye!"),  # then the handler says goodbye
]


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("concierge_example", EXAMPLES / "concierge.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def provider_options(provider: str, emu: Emulator) -> dict[str, Any]:
    if provider == "gemini":
        return {
            "provider": "gemini",
            "model": "gemini-3.8-live",
            "voice": "Puck",
            "api_key": "AIza-same-handler",
            "base_url": emu.gemini_base_url,
        }
    return {"provider": "openai", "api_key": "sk-same-handler", "base_url": emu.base_url}


async def converse(provider: str) -> tuple[list[tuple[str, str]], list[SessionTurn]]:
    example = load_example()
    script = load_script(EXAMPLES / "concierge_script.json")
    transcript: list[tuple[str, str]] = []
    turns: list[SessionTurn] = []
    async with Emulator(speed=8.0, script=script) as emu:
        options = provider_options(provider, emu)
        async with example.app.start("concierge", **options) as run:
            session: liveloop.Session = run.session
            spoken = asyncio.Event()

            async def follow() -> None:
                async for event in session.events():
                    if event.type == "assistant.transcript_done":
                        transcript.append(("assistant", event.transcript))
                        spoken.set()
                    elif event.type == "user.turn":
                        transcript.append(("caller", event.turn.text))
                        turns.append(event.turn)
                    elif event.type == "tool.call":
                        transcript.append(("tool", event.name))

            follower = asyncio.create_task(follow())
            await asyncio.sleep(0)
            for line in CALLER:
                await asyncio.wait_for(spoken.wait(), 15)  # the assistant has spoken
                spoken.clear()
                await speak(session, line)
            await run.wait(15)
            await asyncio.wait_for(spoken.wait(), 15)
            follower.cancel()
    return transcript, turns


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_the_concierge_holds_the_same_conversation(provider: str) -> None:
    transcript, turns = await converse(provider)
    assert transcript == EXPECTED
    # turn.audio is the caller's audio of that turn, and of no other: Gemini says no
    # speech timing, so there the turns are cut at their boundaries.
    heard = []
    for turn in turns:
        assert turn.audio is not None and turn.audio_format is not None
        heard.append(tones.decode(turn.audio, turn.audio_format.rate))
    assert heard == list(CALLER)
    first, second = turns
    assert first.ended_ms is not None and second.started_ms is not None
    assert first.ended_ms <= second.started_ms
