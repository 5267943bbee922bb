"""Helpers of the reliability suite (imported as ``reliability._support``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import liveloop
from liveloop.events import Event
from liveloop_emulator import Emulator

KEY = "sk-test-reliability-0123456789"


def options(emu: Emulator, **extra: Any) -> dict[str, Any]:
    """``liveloop.connect`` keywords for the emulator."""
    return {"api_key": KEY, "base_url": emu.base_url, **extra}


class Watch:
    """Collects a session's events from the moment it is created."""

    def __init__(self, session: liveloop.Session) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._stream = session.events()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self._stream:
            self.events.append(event)
            self._changed.set()

    def of(self, kind: str) -> list[Any]:
        return [event for event in self.events if event.type == kind]

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 10.0) -> list[Any]:
        async with asyncio.timeout(timeout):
            while len(self.of(kind)) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.of(kind)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    @classmethod
    async def start(cls, session: liveloop.Session) -> Watch:
        watch = cls(session)
        await asyncio.sleep(0)  # the task has subscribed
        return watch


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def link_down(session: liveloop.Session, timeout: float = 5.0) -> None:
    """Wait until the session noticed its link is down: user audio sent from then on is
    dropped and counted (probes of 1 ms of silence)."""
    deadline = time.monotonic() + timeout
    before = session.metrics.audio_dropped_ms
    while session.metrics.audio_dropped_ms == before:
        assert time.monotonic() < deadline, "the link did not go down in time"
        await session.send_audio(b"\x00\x00" * 24)
        await asyncio.sleep(0.01)
