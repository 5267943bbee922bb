"""A light reference server for the concurrency benchmark only: it replays one recorded
response of the emulator, so the client (not the server) runs out of CPU first.

At start it runs the real emulator in-process once to record, frame by frame, a session's
``session.created`` / ``session.updated`` and the whole cascade of one ``say`` response
(audio deltas with transcript deltas, as the emulator sends them). Then it serves
WebSocket sessions (``websockets``' asyncio server) that answer ``session.update`` with the
recorded ``session.updated`` and each ``response.create`` with the recorded cascade, new
ids and the client's own ``metadata`` substituted, audio deltas paced in real time (40 ms
apart). Input audio is read and dropped: no turn detection, no synthesis, no copies.

``python bench/_light_server.py TEXT`` prints its base URL and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _clients import SESSION, say_response
from _common import CHUNK_MS, KEY, MODEL

REQUEST = "req_recorded"
AUDIO_DELTA = b'"response.output_audio.delta"'


async def record(text: str) -> tuple[bytes, bytes, list[bytes]]:
    """(session.created, session.updated, the response's frames) from the real emulator."""
    from websockets.asyncio.client import connect

    from liveloop_emulator import Emulator

    async with Emulator(speed=50.0) as emu:
        url = f"{emu.ws_base_url}/realtime?model={MODEL}"
        async with connect(url, additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
            created = await ws.recv(decode=False)
            await ws.send(json.dumps({"type": "session.update", "session": SESSION}))
            updated = await ws.recv(decode=False)
            create = {"type": "response.create", "response": say_response(text, REQUEST)}
            await ws.send(json.dumps(create))
            frames: list[bytes] = []
            while True:
                frame = await ws.recv(decode=False)
                frames.append(frame)
                if b'"response.done"' in frame[:40]:
                    return created, updated, frames


class Replay:
    """The recorded cascade with its ids swapped per response."""

    def __init__(self, frames: list[bytes]) -> None:
        created = json.loads(frames[0])["response"]
        self.response_id = created["id"].encode()
        item = next(json.loads(f)["item"]["id"] for f in frames if b'"item"' in f)
        self.item_id = item.encode()
        self.frames = frames
        self.ids = itertools.count(1)

    def frames_for(self, request: str) -> list[tuple[bool, bytes]]:
        n = next(self.ids)
        swaps = (
            (self.response_id, f"resp_light{n:012d}".encode()),
            (self.item_id, f"item_light{n:012d}".encode()),
            (REQUEST.encode(), request.encode()),
        )
        out = []
        for frame in self.frames:
            for old, new in swaps:
                frame = frame.replace(old, new)
            out.append((AUDIO_DELTA in frame[:48], frame))
        return out


async def serve(text: str) -> None:
    from websockets.asyncio.server import ServerConnection
    from websockets.asyncio.server import serve as ws_serve

    created, updated, frames = await record(text)
    replay = Replay(frames)
    step = CHUNK_MS / 1000

    async def speak(ws: ServerConnection, request: str) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        for is_audio, frame in replay.frames_for(request):
            if is_audio:
                due += step
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await ws.send(frame, text=True)

    async def session(ws: ServerConnection) -> None:
        speaking: set[asyncio.Task[None]] = set()
        try:
            await ws.send(created, text=True)
            async for message in ws:
                # Parsed (clients put "type" anywhere in the object); audio is then dropped.
                event: dict[str, Any] = json.loads(message)
                kind = event.get("type")
                if kind == "session.update":
                    await ws.send(updated, text=True)
                elif kind == "response.create":
                    metadata = (event.get("response") or {}).get("metadata") or {}
                    task = asyncio.create_task(speak(ws, metadata.get("liveloop_request", "a")))
                    speaking.add(task)
                    task.add_done_callback(speaking.discard)
        finally:
            for task in list(speaking):
                task.cancel()
            await asyncio.gather(*speaking, return_exceptions=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with ws_serve(session, "127.0.0.1", 0, compression=None, max_size=2**24) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"http://127.0.0.1:{port}/v1", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
