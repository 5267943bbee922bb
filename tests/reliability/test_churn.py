"""Churn: many sessions opened and closed, in sequence and concurrently, against the emulator
in its own process, leave no asyncio task, file descriptor or thread behind, and RSS grows by
less than 10 MB (measured after a warm-up of 50 sessions). 1,000 sessions in sequence take a
few seconds, so the full size runs in the normal suite.

Sessions closed while busy (a tool running, a say queued, a reconnect just done) leave no
task behind either: every task a session starts is owned, cancelled and awaited on close.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from reliability._proxy import Proxy
from reliability._support import Watch

import liveloop

KEY = "sk-test-churn-0123456789"
WARM_UP = 50
CONCURRENT = 100
FD_TOLERANCE = 4
RSS_LIMIT = 10 * 1024 * 1024


SCRIPT = [{"match": "booking", "tool": "lookup_booking", "arguments": {"code": "B7"}}]


@pytest.fixture(scope="module")
def emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The emulator CLI in a subprocess, so its sockets and memory are not ours."""
    script = tmp_path_factory.mktemp("churn") / "script.json"
    script.write_text(json.dumps(SCRIPT))
    yield from _emulator(script)


def _emulator(script: Path) -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liveloop_emulator.cli",
            "--port",
            "0",
            "--speed",
            "8",
            "--script",
            str(script),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        assert url.startswith("http://"), url
        yield url
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def open_and_close(url: str) -> None:
    async with liveloop.connect(api_key=KEY, base_url=url) as session:
        assert not session.closed
    assert session.closed


def _tasks() -> set[asyncio.Task[object]]:
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


class Snapshot:
    def __init__(self) -> None:
        gc.collect()
        me = psutil.Process()
        self.tasks = _tasks()
        self.fds = me.num_fds()
        self.connections = len(me.net_connections(kind="inet"))
        self.threads = threading.active_count()
        self.rss = me.memory_info().rss


async def _churn(url: str, sequential: int) -> None:
    for _ in range(WARM_UP):
        await open_and_close(url)
    await asyncio.sleep(0.2)
    before = Snapshot()
    started = time.monotonic()
    for _ in range(sequential):
        await open_and_close(url)
    await asyncio.gather(*(open_and_close(url) for _ in range(CONCURRENT)))
    elapsed = time.monotonic() - started
    await asyncio.sleep(0.2)  # closes in flight finish
    after = Snapshot()
    leftover = after.tasks - before.tasks
    assert not leftover, sorted(t.get_name() for t in leftover)
    assert after.fds <= before.fds + FD_TOLERANCE, (before.fds, after.fds)
    assert after.connections <= before.connections, (before.connections, after.connections)
    assert after.threads <= before.threads
    growth = after.rss - before.rss
    assert growth < RSS_LIMIT, f"RSS grew by {growth / 1e6:.1f} MB"
    print(f"{sequential}+{CONCURRENT} sessions in {elapsed:.1f} s, RSS {growth / 1e6:+.2f} MB")


@pytest.mark.timeout(300)
async def test_a_thousand_sessions_in_sequence_and_a_hundred_at_once_leave_nothing_behind(
    emulator_url: str,
) -> None:
    await _churn(emulator_url, 1000)


async def open_busy_and_close(url: str) -> None:
    """A session closed while a tool runs and a say waits behind the tool's response."""
    started = asyncio.Event()

    async def lookup_booking(code: str) -> str:
        """Look a booking up (never in time)."""
        started.set()
        await asyncio.sleep(60)
        return code

    async with liveloop.connect(api_key=KEY, base_url=url, tools=[lookup_booking]) as session:
        await session.send_text("check my booking")
        await asyncio.wait_for(started.wait(), 10)
        speech = session.say("queued behind the tool")
    with pytest.raises(liveloop.SessionClosed):
        await speech


async def open_reconnect_and_close(url: str) -> None:
    """A session whose connection is cut and restored, then closed."""
    async with Proxy(url) as proxy, liveloop.connect(api_key=KEY, base_url=proxy.base_url) as s:
        watch = await Watch.start(s)
        proxy.cut()
        await watch.wait_for("reconnected")
        await watch.stop()


@pytest.mark.timeout(300)
async def test_busy_and_reconnected_sessions_leave_no_task_behind(emulator_url: str) -> None:
    await open_busy_and_close(emulator_url)  # warm-up
    await asyncio.sleep(0.2)
    before = Snapshot()
    for _ in range(20):
        await open_busy_and_close(emulator_url)
    await asyncio.gather(*(open_busy_and_close(emulator_url) for _ in range(20)))
    for _ in range(10):
        await open_reconnect_and_close(emulator_url)
    await asyncio.sleep(0.2)
    leftover = Snapshot().tasks - before.tasks
    assert not leftover, sorted(t.get_name() for t in leftover)
