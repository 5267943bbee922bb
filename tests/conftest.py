"""Shared fixtures: a started emulator per test, and the schema oracle applied to it.

``emulator`` is an ``Emulator(speed=8.0)`` serving for one test; ``make_emulator`` is a factory
(``async with make_emulator(script=[...]) as emu:``). After a test that used either, every server
event of every session is validated with ``tests/_realtime_oracle.py``; an invalid event fails the
test.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _realtime_oracle import validate_server_event

from liveloop_emulator import Emulator

MakeEmulator = Callable[..., contextlib.AbstractAsyncContextManager[Emulator]]


def check_emulator_events(emulators: list[Emulator]) -> None:
    """Validate every server event the emulators sent; AssertionError names the first bad one."""
    problems: list[str] = []
    for emu in emulators:
        for number, session in enumerate(emu.sessions):
            for index, event in enumerate(session.server_events):
                try:
                    validate_server_event(event)
                except AssertionError as exc:
                    problems.append(f"session {number} event #{index}: {exc}")
    if problems:
        shown = "\n\n".join(problems[:5])
        raise AssertionError(f"{len(problems)} invalid server event(s):\n{shown}")


@pytest.fixture
async def make_emulator() -> AsyncIterator[MakeEmulator]:
    started: list[Emulator] = []

    @contextlib.asynccontextmanager
    async def factory(**options: Any) -> AsyncIterator[Emulator]:
        options.setdefault("speed", 8.0)
        emu = Emulator(**options)
        started.append(emu)
        async with emu:
            yield emu

    yield factory
    check_emulator_events(started)


@pytest.fixture
async def emulator(make_emulator: MakeEmulator) -> AsyncIterator[Emulator]:
    async with make_emulator() as emu:
        yield emu
