"""The emulator with a stopwatch on the server side, for the latency benchmarks.

Runs ``liveloop_emulator.Emulator`` (its public API) behind a thin ASGI wrapper that notes,
on ``time.perf_counter()`` (``CLOCK_MONOTONIC`` on Linux: the same clock as the measuring
process, which runs on the same machine), the moments a latency is measured between:

- ``last_append``: the last ``input_audio_buffer.append`` arrived (OpenAI);
- ``speech_stopped`` / ``transcribed``: the server sent ``input_audio_buffer.speech_stopped``
  / ``…input_audio_transcription.completed`` (OpenAI: the end of a spoken user turn);
- ``request``: a request for a reply arrived (OpenAI ``response.create``; Gemini a
  ``clientContent`` with ``turnComplete`` true);
- ``first_audio``: the first assistant audio after a ``request`` left (OpenAI
  ``response.output_audio.delta``; Gemini a ``modelTurn`` ``inlineData`` part).

``GET /bench/stamps`` returns and forgets them. A client's share of a latency is then
measured between events that are the same for every contender: its own request to the
server's ``request`` stamp, and the server's ``first_audio`` stamp to the audio in the
app's hands. The server's own time in between (``first_audio - request``) is the same work
for every contender that sends the same messages, and is reported beside it, so noise in
the server's process (another process on its core) does not land on one contender's figure.

``python bench/_stamped_emulator.py --speed 4`` prints the base URL (with ``--tls``: the
Gemini base URL and the certificate's path), then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from liveloop_emulator import Emulator, Rule

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

APPEND = b'"input_audio_buffer.append"'
RESPONSE_CREATE = b'"response.create"'
# google-genai spells keys in snake_case; json.dumps puts a space after the colon.
CLIENT_CONTENT = re.compile(rb'"client_?[cC]ontent"')
TURN_COMPLETE = re.compile(rb'"turn_?[cC]omplete"\s*:\s*true')
STAMPED = {
    '"input_audio_buffer.speech_stopped"': "speech_stopped",
    '"conversation.item.input_audio_transcription.completed"': "transcribed",
}
"""Server events whose sending is noted (the turn ends at the server; its last event)."""
AUDIO_OUT = ('"response.output_audio.delta"', '"inlineData"')


class Stamps:
    """ASGI middleware: stamps around ``app``'s WebSocket traffic, and the stamps route."""

    def __init__(self, app: ASGI) -> None:
        self.app = app
        self.last_append: float | None = None
        self.stamps: list[dict[str, Any]] = []

    def _note(self, kind: str, at: float) -> None:
        self.stamps.append({"event": kind, "at": at, "last_append": self.last_append})

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
        awaiting_audio = False  # this connection asked for a reply and no audio left yet

        async def stamped_receive() -> Message:
            nonlocal awaiting_audio
            message = await receive()
            # Stamped as the frame comes out of the server's WebSocket, before the app
            # parses it: the moment the request reached the server.
            now = time.perf_counter()
            data = message.get("text") or message.get("bytes")
            if data is not None:
                raw = data.encode() if isinstance(data, str) else data
                head = raw[:80]
                if APPEND in head:
                    self.last_append = now
                elif RESPONSE_CREATE in head or (
                    CLIENT_CONTENT.search(raw[:40]) and TURN_COMPLETE.search(raw)
                ):
                    self._note("request", now)
                    awaiting_audio = True
            return message

        async def stamped_send(message: Message) -> None:
            nonlocal awaiting_audio
            text = message.get("text")
            if text is not None:
                head = text[:120]
                for marker, kind in STAMPED.items():
                    if marker in head:
                        self._note(kind, time.perf_counter())
                if awaiting_audio and any(marker in head for marker in AUDIO_OUT):
                    awaiting_audio = False
                    # Stamped as the frame is handed to the server's WebSocket: what
                    # follows (framing, the socket, the client) is the client's share.
                    self._note("first_audio", time.perf_counter())
            await send(message)

        await self.app(scope, stamped_receive, stamped_send)


def _rule(text: str) -> Rule:
    match, _, reply = text.partition("=")
    return Rule(match=match, reply=reply)


async def serve(speed: float, chunk_ms: int, tls: bool, rules: list[Rule]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    emulator = Emulator(speed=speed, chunk_ms=chunk_ms, tls=tls, script=rules)
    emulator.app = Stamps(emulator.app)  # type: ignore[assignment]
    async with emulator:
        if tls:
            print(emulator.gemini_base_url, emulator.cert_path, flush=True)
        else:
            print(emulator.base_url, flush=True)
        await stop.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--chunk-ms", type=int, default=40)
    p.add_argument("--tls", action="store_true", help="serve TLS (the Gemini benchmark)")
    p.add_argument("--rule", action="append", default=[], help="MATCH=REPLY: a scripted reply")
    args = p.parse_args()
    asyncio.run(serve(args.speed, args.chunk_ms, args.tls, [_rule(r) for r in args.rule]))


if __name__ == "__main__":
    main()
