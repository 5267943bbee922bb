"""What uvicorn's WebSocket implementations cost per message on a Twilio media stream's
traffic: a server process (uvicorn) whose app answers each text message with one
(as the bridge answers Twilio's 100 messages a second with 100), flooded by a client in this
process; the server's CPU time per message pair, each implementation (and event loop) in turn,
alternating. ``wsproto`` is not a liveloop dependency: ``uv pip install wsproto`` first.

Run: ``uv run python bench/_phone_ws.py [messages] [rounds]``; prints one line per run.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import sys
import time

import websockets
from _common import process_cpu_seconds

VARIANTS = (
    ("websockets-sansio", "uvloop"),
    ("websockets", "uvloop"),
    ("wsproto", "uvloop"),
    ("websockets-sansio", "asyncio"),
)
MEDIA = json.dumps(
    {
        "event": "media",
        "sequenceNumber": "4",
        "streamSid": "MZ" + "0" * 32,
        "media": {"track": "inbound", "chunk": "2", "timestamp": "40",
                  "payload": base64.b64encode(b"\xff" * 160).decode()},
    }
)  # fmt: skip
SERVER = """
import sys, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message["text"]})

uvicorn.run(app, port=int(sys.argv[1]), ws=sys.argv[2], loop=sys.argv[3], log_level="error",
            ws_per_message_deflate=False)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _flood(url: str, messages: int) -> None:
    async with websockets.connect(url, compression=None) as ws:

        async def drain() -> None:
            for _ in range(messages):
                await ws.recv()

        reader = asyncio.ensure_future(drain())
        for index in range(messages):
            await ws.send(MEDIA)
            if index % 50 == 49:
                await asyncio.sleep(0)
        await reader


async def run(ws: str, loop: str, messages: int, streams: int) -> float:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", SERVER, str(port), ws, loop)
    url = f"ws://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                async with websockets.connect(url):
                    break
            except OSError:
                await asyncio.sleep(0.1)
        before = process_cpu_seconds(proc.pid) or 0.0
        await asyncio.gather(*(_flood(url, messages) for _ in range(streams)))
        after = process_cpu_seconds(proc.pid) or 0.0
    finally:
        proc.terminate()
        await proc.wait()
    return (after - before) / (messages * streams) * 1e6


async def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    for round_ in range(rounds):
        for ws, loop in VARIANTS:
            load = os.getloadavg()[0]
            started = time.monotonic()
            us = await run(ws, loop, messages, 4)
            row = {
                "ws": ws,
                "loop": loop,
                "round": round_,
                "load": round(load, 1),
                "server_cpu_us_per_message_pair": round(us, 1),
                "wall_s": round(time.monotonic() - started, 1),
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
