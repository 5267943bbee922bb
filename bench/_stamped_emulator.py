"""The emulator with a stopwatch on the server side, for the latency benchmark.

Runs ``liveloop_emulator.Emulator`` (its public API) behind a thin ASGI wrapper that notes,
on ``time.perf_counter()`` (``CLOCK_MONOTONIC`` on Linux: the same clock as the measuring
process), when each ``input_audio_buffer.append`` arrived and when each
``input_audio_buffer.speech_stopped`` and ``…input_audio_transcription.completed`` left.
``GET /bench/stamps`` returns and forgets them.
A turn's latency measured from those server-side moments does not depend on how fast the
client sent its audio (a slower sender no longer starts its own clock later).

``python bench/_stamped_emulator.py --speed 4`` prints the base URL, then serves until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from liveloop_emulator import Emulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

APPEND = b'"input_audio_buffer.append"'
STAMPED = {
    '"input_audio_buffer.speech_stopped"': "speech_stopped",
    '"conversation.item.input_audio_transcription.completed"': "transcribed",
}
"""Server events whose sending is noted (the turn ends at the server; its last event)."""


class Stamps:
    """ASGI middleware: stamps around ``app``'s WebSocket traffic, and the stamps route."""

    def __init__(self, app: ASGI) -> None:
        self.app = app
        self.last_append: float | None = None
        self.stamps: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == "/bench/stamps":
            body = json.dumps({"stamps": self.stamps}).encode()
            self.stamps = []
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return

        async def stamped_receive() -> Message:
            message = await receive()
            now = time.perf_counter()
            data = message.get("text") or message.get("bytes")
            if data is not None:
                raw = data.encode() if isinstance(data, str) else data
                if APPEND in raw[:80]:
                    self.last_append = now
            return message

        async def stamped_send(message: Message) -> None:
            text = message.get("text")
            if text is not None:
                head = text[:80]
                for marker, kind in STAMPED.items():
                    if marker in head:
                        self.stamps.append(
                            {
                                "event": kind,
                                "at": time.perf_counter(),
                                "last_append": self.last_append,
                            }
                        )
            await send(message)

        await self.app(scope, stamped_receive, stamped_send)


async def serve(speed: float, chunk_ms: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    emulator = Emulator(speed=speed, chunk_ms=chunk_ms)
    emulator.app = Stamps(emulator.app)  # type: ignore[assignment]
    async with emulator:
        print(emulator.base_url, flush=True)
        await stop.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--chunk-ms", type=int, default=40)
    args = p.parse_args()
    asyncio.run(serve(args.speed, args.chunk_ms))


if __name__ == "__main__":
    main()
