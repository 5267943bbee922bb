"""Gemini sessions outlive their connections: ``goAway`` moves the session to a new
connection before the deadline with the latest resumption handle, a drop resumes with
it, a refused handle falls back to the text restore, and ``reconnected`` says which.
Real sockets to the emulator, whose connections live a few seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

import liveloop
from liveloop.events import Reconnected
from liveloop_emulator import Emulator

KEY = "AIza-resume-test"


def options(emu: Emulator, **extra: Any) -> dict[str, Any]:
    return {
        "provider": "gemini",
        "model": "gemini-3.8-live",
        "api_key": KEY,
        "base_url": emu.gemini_base_url,
        **extra,
    }


class Watch:
    """Collects the session's events in the background."""

    def __init__(self, session: liveloop.Session) -> None:
        self.events: list[Any] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._run(session))

    async def _run(self, session: liveloop.Session) -> None:
        async for event in session.events():
            self.events.append(event)
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 15) -> list[Any]:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.of(kind)) >= count)
        return self.of(kind)

    async def until(self, ready: Callable[[], bool], timeout: float = 15) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(ready)

    def of(self, kind: str) -> list[Any]:
        return [event for event in self.events if event.type == kind]

    def stop(self) -> None:
        self._task.cancel()


def user_texts(emu: Emulator) -> list[str]:
    """What the newest Gemini connection's conversation holds from the user."""
    items = emu.gemini.sessions[-1].engine.items
    return [
        part.get("text")
        for item in items
        if item.get("role") == "user"
        for part in item.get("content") or []
        if part.get("text")
    ]


async def test_a_conversation_outlives_many_connections_and_the_session_cap() -> None:
    # 4 s connections (goAway 2 s before the end) and an 8 s session cap that only a
    # session without context window compression hits, over a 20 s conversation.
    async with Emulator(
        speed=4.0, gemini_connection_seconds=4.0, gemini_session_seconds=8.0
    ) as emu:
        async with liveloop.connect(**options(emu)) as session:
            watch = Watch(session)
            replies: list[str] = []
            started = time.monotonic()
            turn = 0
            while time.monotonic() - started < 20:
                turn += 1
                text = f"turn number {turn}"
                await session.send_text(text)
                typed = await asyncio.wait_for(session.input(), 10)
                assert typed.text == text
                done = await _reply(watch, len(replies) + 1)
                replies.append(done)
                await asyncio.sleep(0.8)
            watch.stop()
            assert session.closed is False
        reconnected = [e for e in watch.events if isinstance(e, Reconnected)]
    assert len(reconnected) >= 3, [e.type for e in watch.events]
    assert all(event.resumed for event in reconnected)
    assert replies == [f"You said: turn number {n}" for n in range(1, turn + 1)]
    # The last connection holds the whole conversation: it came back with each handle.
    assert user_texts(emu) == [f"turn number {n}" for n in range(1, turn + 1)]


async def _reply(watch: Watch, count: int) -> str:
    return str((await watch.wait_for("assistant.transcript_done", count))[count - 1].transcript)


async def _handle_after_reply(watch: Watch) -> None:
    """Wait for the handle issued after the first reply (the one that resumes with it)."""

    def issued() -> bool:
        kinds = [event.type for event in watch.events]
        done = kinds.index("assistant.transcript_done")
        return "session.resumption_handle" in kinds[done:]

    await watch.until(issued)


async def test_a_drop_resumes_with_the_handle() -> None:
    async with Emulator(speed=8.0) as emu, liveloop.connect(**options(emu)) as session:
        watch = Watch(session)
        await session.send_text("remember the blue door")
        await asyncio.wait_for(session.input(), 10)
        await _reply(watch, 1)
        await _handle_after_reply(watch)
        # The service drops the connection, unannounced.
        await emu.gemini.sessions[-1].end(1011, "Internal error occurred.")
        await watch.wait_for("reconnected")
        assert watch.of("reconnected")[0].resumed is True
        assert user_texts(emu) == ["remember the blue door"]
        await session.send_text("and the red one")
        await asyncio.wait_for(session.input(), 10)
        assert await _reply(watch, 2) == "You said: and the red one"
        watch.stop()


async def test_a_refused_handle_falls_back_to_the_text_restore() -> None:
    async with Emulator(speed=8.0) as emu, liveloop.connect(**options(emu)) as session:
        watch = Watch(session)
        await session.send_text("my name is Ada")
        await asyncio.wait_for(session.input(), 10)
        await _reply(watch, 1)
        await _handle_after_reply(watch)
        emu.gemini.handles = type(emu.gemini.handles)()  # every handle forgotten
        await emu.gemini.sessions[-1].end(1011, "Internal error occurred.")
        await watch.wait_for("reconnected")
        assert watch.of("reconnected")[0].resumed is False
        texts = user_texts(emu)
        assert "my name is Ada" in texts  # replayed as text
        watch.stop()


async def test_a_refused_key_ends_connect_with_a_provider_error() -> None:
    async with Emulator(api_keys=["AIza-good"]) as emu:
        started = time.monotonic()
        with pytest.raises(liveloop.ProviderError, match="API key not valid") as refused:
            async with liveloop.connect(**options(emu, api_key="AIza-wrong")):
                pass
    assert refused.value.code == "invalid_api_key"
    assert time.monotonic() - started < 5
