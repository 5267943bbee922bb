"""Shared fixtures: a started emulator per test, and the schema oracle applied to it.

``emulator`` is an ``Emulator(speed=8.0)`` serving for one test; ``make_emulator`` is a factory
(``async with make_emulator(script=[...]) as emu:``). After a test that used either, every server
event of every session is validated with ``tests/_realtime_oracle.py``; an invalid event fails the
test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
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


# -- the event loop ---------------------------------------------------------------------------
# The suite runs on the loop liveloop would pick (`auto`: uvloop where installed) or on the one
# `--event-loop` / LIVELOOP_LOOP names; CI runs it a second time on the other loop. The choice
# is exported to the environment so subprocesses (the CLI, bench scripts) run on it too.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--event-loop",
        choices=("auto", "uvloop", "asyncio"),
        default=None,
        help="event loop for async tests (default: $LIVELOOP_LOOP, else auto)",
    )


def pytest_configure(config: pytest.Config) -> None:
    from liveloop.loops import LOOP_ENV, choice

    setting = config.getoption("--event-loop") or os.environ.get(LOOP_ENV) or "auto"
    os.environ[LOOP_ENV] = choice(setting)


def pytest_report_header(config: pytest.Config) -> str:
    from liveloop.loops import LOOP_ENV

    return f"event loop: {os.environ[LOOP_ENV]}"


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    from liveloop.loops import loop_factory

    factory = loop_factory()
    return {"loop": factory if factory is not None else asyncio.new_event_loop}
