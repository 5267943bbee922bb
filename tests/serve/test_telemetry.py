"""``liveloop serve --metrics`` and ``--otlp`` in a real process: a call's metrics are
scraped at ``/metrics`` and its spans reach an OTLP/HTTP collector, with no key in either."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from liveloop_emulator import Emulator
from liveloop_serve import serving

from .conftest import KEY, real_offer
from .procs import ServeProcess, app_module

pytestmark = pytest.mark.timeout(120)

APP = """
import liveloop

app = liveloop.App()


@app.session("hello")
async def hello(session):
    await session.send_text("hello there")
    await session.input()
"""


class Collector:
    """An OTLP/HTTP receiver on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: dict[str, list[bytes]] = {}
        self.arrived = asyncio.Event()

    async def receive(self, request: Request) -> Response:
        self.received.setdefault(request.url.path, []).append(await request.body())
        self.arrived.set()
        return Response(b"", media_type="application/x-protobuf")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        paths = ["/v1/traces", "/v1/metrics"]
        app = Starlette(routes=[Route(path, self.receive, methods=["POST"]) for path in paths])
        async with serving(app) as url:
            yield url


async def _call_runs_and_ends(server: ServeProcess, emu: Emulator) -> None:
    async with httpx.AsyncClient(timeout=20) as client:
        offer = await client.post(
            f"{server.url}/sessions/hello/offer",
            content=await real_offer(),
            headers={"Content-Type": "application/sdp"},
        )
        assert offer.status_code == 201, offer.text
    [call] = emu.calls.values()
    try:  # the handler returns after its typed turn; the server then hangs the call up
        await asyncio.wait_for(call.closed.wait(), 30)
    except TimeoutError:
        raise AssertionError(f"the call did not end:\n{server.output()}") from None


async def test_metrics_are_scraped_and_spans_reach_the_collector(tmp_path: Path) -> None:
    target = app_module(tmp_path, APP)
    collector = Collector()
    async with Emulator() as emu, collector.running() as otlp:
        server = ServeProcess(
            target,
            "--insecure-dev",
            "--base-url",
            emu.base_url,
            "--metrics",
            "--otlp",
            otlp,
            cwd=tmp_path,
            env={"OPENAI_API_KEY": KEY},
        )
        try:
            await server.ready()
            await _call_runs_and_ends(server, emu)
            async with httpx.AsyncClient(timeout=10) as client:
                page = await client.get(f"{server.url}/metrics")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/plain")
            assert "liveloop_sessions_active" in page.text
            assert 'gen_ai_system="openai"' in page.text
            assert KEY not in page.text
        finally:
            await server.stop()  # flushes the spans of the call
        assert server.proc.returncode == 0, server.output()
    [*traces] = collector.received.get("/v1/traces", [])
    assert traces and all(body for body in traces)
    spans = b"".join(traces)
    assert b"liveloop.session.id" in spans and b"liveloop.turn" in spans
    assert KEY.encode() not in spans
    assert b"hello there" not in spans  # no transcript in spans
