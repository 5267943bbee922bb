"""Graceful drain of a real ``liveloop serve`` process: on SIGTERM new calls get ``503``,
``/readyz`` turns false, calls run on for ``--drain-timeout``, then end with a
``SessionClosed`` that says the server is draining, and the process exits with 0."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest

from liveloop_emulator import Emulator

from .conftest import KEY, real_offer
from .procs import ServeProcess, app_module

pytestmark = pytest.mark.timeout(120)

APP = """
import asyncio
import sys

import liveloop

app = liveloop.App(auto_respond=False)


@app.session("long")
async def long(session):
    try:
        while True:
            await session.input()
    except liveloop.SessionClosed as exc:
        print(f"long handler closed: {exc}", file=sys.stderr, flush=True)
        raise


@app.session("short")
async def short(session):
    await asyncio.sleep(2.0)  # ends inside the drain window
    print("short handler finished", file=sys.stderr, flush=True)
"""


async def _offer(client: httpx.AsyncClient, url: str, name: str) -> httpx.Response:
    return await client.post(
        f"{url}/sessions/{name}/offer",
        content=await real_offer(),
        headers={"Content-Type": "application/sdp"},
    )


async def test_sigterm_drains_calls_then_exits_cleanly(tmp_path: Path) -> None:
    drain = 3.0
    target = app_module(tmp_path, APP)
    async with Emulator() as emu:
        server = ServeProcess(
            target,
            "--insecure-dev",
            "--base-url",
            emu.base_url,
            "--drain-timeout",
            str(drain),
            cwd=tmp_path,
            env={"OPENAI_API_KEY": KEY},
        )
        try:
            await server.ready()
            async with httpx.AsyncClient(timeout=20) as client:
                assert (await client.get(f"{server.url}/readyz")).status_code == 200
                long = await _offer(client, server.url, "long")
                short = await _offer(client, server.url, "short")
                assert (long.status_code, short.status_code) == (201, 201)
                for _ in range(200):  # both sidebands attached: the handlers run
                    if len(emu.calls) == 2 and all(c.sidebands for c in emu.calls.values()):
                        break
                    await asyncio.sleep(0.05)
                calls = list(emu.calls.values())

                server.signal(signal.SIGTERM)
                signalled = time.monotonic()
                refused = await _offer(client, server.url, "long")
                assert refused.status_code == 503, refused.text
                assert refused.json()["error"]["code"] == "draining"
                assert int(refused.headers["retry-after"]) > 0
                ready = await client.get(f"{server.url}/readyz")
                assert ready.status_code == 503 and ready.json()["draining"] is True
                assert (await client.get(f"{server.url}/healthz")).status_code == 200

                assert await server.wait(drain + 20) == 0
                took = time.monotonic() - signalled
            assert drain - 0.5 <= took <= drain + 10, took
            output = server.output()
            assert "short handler finished" in output
            assert "long handler closed: the server is draining" in output
            assert "Traceback" not in output
            assert all(call.closed.is_set() for call in calls)  # hung up at the provider
        finally:
            await server.stop()
