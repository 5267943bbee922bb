"""What the Redis store adds to an offer's round trip in ``liveloop serve``, side by side
with the in-memory store.

Two ``liveloop serve`` apps (``create_app``) over the same instant stand-in provider (an
in-process ASGI app that answers every offer at once), one with the in-memory store, one
with ``--store redis://…`` on a ``redis-server`` this script starts on a free port of
127.0.0.1. Each trial posts an SDP offer (the caller's identity, its rate limit, the body
checks, the slot reservation, the call record) and then hangs up, alternating the two
stores, so both see the same machine state. Only the offer's round trip is timed.

    uv run python bench/store.py [--trials N] [--warmup N] [--quick]

Prints one JSON document: per store the offer round trip (median, p5, p95, in ms) and the
Redis store's added latency (its median and p95 less the in-memory store's).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from _common import emit, header, parser
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import liveloop
from liveloop_serve import create_app

KEY = "sk-bench-store-0123456789"
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
HEADERS = {"Content-Type": "application/sdp", "Authorization": "Bearer bench"}


def _provider() -> Starlette:
    served = 0

    async def calls(request: Request) -> Response:
        nonlocal served
        await request.body()
        served += 1
        location = f"/v1/realtime/calls/rtc_bench{served}"
        return Response(SDP, 201, media_type="application/sdp", headers={"Location": location})

    async def hangup(request: Request) -> Response:
        return Response(status_code=200)

    return Starlette(
        routes=[
            Route("/v1/realtime/calls", calls, methods=["POST"]),
            Route("/v1/realtime/calls/{id}/hangup", hangup, methods=["POST"]),
        ]
    )


def _app() -> liveloop.App:
    app = liveloop.App(authorize=lambda request: "bench", auto_respond=False)

    @app.session("echo")
    async def echo(session: liveloop.Session) -> None:
        await session.input()

    return app


@contextmanager
def _redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="bench-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _summary(ms: list[float]) -> dict[str, Any]:
    cuts = statistics.quantiles(ms, n=20, method="inclusive")
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p5_ms": round(cuts[0], 3),
        "p95_ms": round(cuts[-1], 3),
    }


async def _offer(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    response = await client.post("/sessions/echo/offer", content=SDP, headers=HEADERS)
    took = (time.perf_counter() - started) * 1000
    if response.status_code != 201:
        raise SystemExit(f"the offer failed: {response.status_code} {response.text}")
    await client.post(response.headers["location"] + "/hangup", headers=HEADERS)
    return took


async def main(args: argparse.Namespace) -> dict[str, Any]:
    trials, warmup = (20, 5) if args.quick else (args.trials, args.warmup)
    doc = header("store", args, None)
    liveloop.configure_logging("ERROR", stream=sys.stderr)
    provider = httpx.AsyncClient(transport=httpx.ASGITransport(app=_provider()))
    limits = {"rate": "1000000/h", "max_sessions": 10_000, "max_per_caller": 10_000}
    with _redis() as url:
        apps = {
            name: create_app(
                _app(),
                api_key=KEY,
                provider_base_url="http://127.0.0.1:9/v1",  # sidebands fail at once
                http_client=provider,
                store=store,
                connect_timeout=0,
                **limits,
            )
            for name, store in (("memory", None), ("redis", url))
        }
        clients = {
            name: httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://b")
            for name, asgi in apps.items()
        }
        for asgi in apps.values():
            await asgi.state.liveloop.start()
        samples: dict[str, list[float]] = {name: [] for name in apps}
        try:
            for trial in range(warmup + trials):
                order = list(apps) if trial % 2 else list(reversed(apps))
                for name in order:
                    took = await _offer(clients[name])
                    if trial >= warmup:
                        samples[name].append(took)
        finally:
            for name, asgi in apps.items():
                await clients[name].aclose()
                await asgi.state.liveloop.aclose()
            await provider.aclose()
    result = {name: _summary(ms) for name, ms in samples.items()}
    return {
        **doc,
        "what": "offer round trip through liveloop serve (instant stand-in provider)",
        "trials": trials,
        "stores": result,
        "redis_added_ms": {
            "median": round(result["redis"]["median_ms"] - result["memory"]["median_ms"], 3),
            "p95": round(result["redis"]["p95_ms"] - result["memory"]["p95_ms"], 3),
        },
    }


if __name__ == "__main__":
    options = parser(__doc__.splitlines()[0], contenders=())
    options.add_argument("--trials", type=int, default=300, help="offers per store")
    options.add_argument("--warmup", type=int, default=30, help="offers per store not timed")
    emit(asyncio.run(main(options.parse_args())))
