"""Teardown: how long ``close()`` takes against a server that never answers the close frame.

A tiny raw WebSocket server (asyncio streams, written here, no library: a library would
answer the close handshake) completes the upgrade, sends ``session.created``, answers each
``session.update`` with ``session.updated`` so every client considers itself connected, and
then ignores everything, the close frame included, keeping the TCP connection open until
the client drops it. Each contender opens a session and is closed; the time ``close()``
takes is measured (capped: a close still running at the cap is reported at the cap, with
``capped: true``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
import time
from typing import Any

from _clients import SESSION, Client, agents_available, make
from _common import Emulator, chosen, emit, header, parser, pin_self, run, summary

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455


class SilentCloseServer:
    """Speaks just enough Realtime to open a session; never answers a close frame."""

    def __init__(self) -> None:
        self.close_frames = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
        await asyncio.sleep(0.1)  # the handlers see the aborted streams and end

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            key = ""
            for line in request.split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-key":
                    key = value.strip()
            accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            writer.write(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                ).encode()
            )
            self._send(writer, _event("session.created"))
            while True:
                opcode, payload = await _read_frame(reader)
                if opcode == 0x8:
                    self.close_frames += 1  # and never answer it
                elif opcode == 0x1:
                    event = json.loads(payload)
                    if event.get("type") == "session.update":
                        self._send(writer, _event("session.updated"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.transport.abort()

    def _send(self, writer: asyncio.StreamWriter, event: dict[str, Any]) -> None:
        data = json.dumps(event).encode()
        if len(data) < 126:
            head = struct.pack("!BB", 0x81, len(data))
        elif len(data) < 65536:
            head = struct.pack("!BBH", 0x81, 126, len(data))
        else:
            head = struct.pack("!BBQ", 0x81, 127, len(data))
        writer.write(head + data)


def _event(kind: str) -> dict[str, Any]:
    session = {**SESSION, "id": "sess_silent", "object": "realtime.session"}
    return {"type": kind, "event_id": f"event_{kind}", "session": session}


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    b0, b1 = await reader.readexactly(2)
    length = b1 & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4) if b1 & 0x80 else b"\x00\x00\x00\x00"
    payload = bytearray(await reader.readexactly(length))
    for i in range(length):
        payload[i] ^= mask[i % 4]
    return b0 & 0x0F, bytes(payload)


async def _close_time(client: Client, cap: float) -> tuple[float, bool]:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(client.close(), cap)
    except TimeoutError:
        return cap, True
    except Exception:
        pass  # a close that raises still ended; its duration counts
    return time.perf_counter() - start, False


async def main() -> int:
    args = parser(__doc__ or "").parse_args()
    contenders = chosen(args)
    reps = args.reps or (1 if args.quick else 3)
    cap = 2.0 if args.quick else 15.0
    pin_self()
    server = SilentCloseServer()
    emu = Emulator(base_url=await server.start())
    doc: dict[str, Any] = header("teardown", args, None)
    doc["server"] = "raw asyncio WebSocket server that never answers the close frame"
    doc["cap_s"] = cap
    skipped: dict[str, str] = {}
    if "agents" in contenders and (why := agents_available()):
        skipped["agents"] = why
        contenders.remove("agents")
    results: dict[str, Any] = {}

    async def measure(name: str) -> list[tuple[float, bool]]:
        times = []
        for _ in range(reps):
            client = make(name)
            await asyncio.wait_for(client.open(emu), 10)
            times.append(await _close_time(client, cap))
        return times

    # liveloop alone first (short, sensitive); the peers then together (their closes are
    # waits on timers, so running them side by side does not change what they measure).
    ordered = [c for c in contenders if c == "liveloop"]
    others = [c for c in contenders if c != "liveloop"]
    outcomes: dict[str, list[tuple[float, bool]] | BaseException] = {}
    for name in ordered:
        try:
            outcomes[name] = await measure(name)
        except Exception as exc:
            outcomes[name] = exc
    gathered = await asyncio.gather(*(measure(n) for n in others), return_exceptions=True)
    outcomes.update(zip(others, gathered, strict=True))
    for name, outcome in outcomes.items():
        if isinstance(outcome, BaseException):
            skipped[name] = f"could not run: {type(outcome).__name__}: {outcome}"
            continue
        seconds = [t for t, _ in outcome]
        results[name] = {
            "close_s": summary(seconds, 3),
            "capped": any(c for _, c in outcome),
        }
    await server.stop()
    doc["results"] = results
    doc["close_frames_seen"] = server.close_frames
    doc["skipped"] = skipped
    emit(doc)
    return 0


if __name__ == "__main__":
    run(main)
