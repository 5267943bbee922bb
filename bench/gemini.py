"""Gemini Live: liveloop against the floor and the google-genai SDK's live client.

Contenders, all over ``wss://`` to the emulator's Gemini front end (TLS, because the SDK
always dials it), the emulator in its own process pinned to another core:

- ``floor``: raw ``websockets`` + ``json`` + ``base64`` for the same messages;
- ``sdk``: ``google.genai`` ``client.aio.live.connect`` and its ``receive()``;
- ``liveloop``: ``liveloop.connect(provider="gemini")`` with an ``audio_out()`` listener.

Measured, contenders alternating within each repetition:

- per message: CPU time (``time.process_time``) of this process around one long spoken
  reply, divided by the number of server messages it carried (counted by the floor);
- added latency: from sending a typed turn (and, for liveloop, ``say()``; the floor sends
  the same ``clientContent``) to the first audio chunk in the app's hands; liveloop's minus
  the floor's, p50 and p95. The clock is the client's share of that time, between events
  that are the same for every contender, on one clock (``perf_counter``, ``CLOCK_MONOTONIC``
  in both processes): from the request to its arrival at the server (the emulator stamps
  the ``clientContent`` that completes the turn, ``bench/_stamped_emulator.py``), plus from
  the first audio part leaving the server to the app holding it. The server's own time in
  between is the same work for every contender (the same messages) and is reported beside
  it with the end-to-end wall time; left in, the shared machine's noise in the emulator's
  process landed on whichever contender was running (a floor turn once measured 47 ms
  against liveloop's 4 ms, an "added latency" of -43 ms).

Run: ``uv run python bench/gemini.py [--quick] [--reps N]``; prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _common import cores, emit, header, paired, pin_self, ratio, run, summary

MODEL = "gemini-3.8-live"
KEY = "AIza-bench"
SPEED = 50.0
TEXT = (
    "thank you for calling the front desk, your table for four is booked at seven thirty "
    "tonight, we will hold it for fifteen minutes, is there anything else i can do for you?"
)
SAY_FORM = 'Say exactly the following text, word for word, and nothing else:\n"""\n{text}\n"""'
BENCH = Path(__file__).resolve().parent


def start_emulator(core: int | None) -> tuple[subprocess.Popen[str], str, str]:
    """The emulator with server-side stamps (``bench/_stamped_emulator.py``), serving TLS,
    in its own process on ``core``: (process, Gemini base URL, certificate path)."""
    command = [sys.executable, str(BENCH / "_stamped_emulator.py"), "--tls"]
    command += ["--speed", repr(SPEED), "--rule", f"^long={TEXT}", "--rule", "^short=Hi."]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    if core is not None:
        os.sched_setaffinity(process.pid, {core})
    assert process.stdout is not None
    base_url, cert = process.stdout.readline().split()
    return process, base_url, cert


def stamps(base_url: str, context: ssl.SSLContext) -> dict[str, float]:
    """The emulator's stamps since the last call (event -> the latest moment), forgotten."""
    with urllib.request.urlopen(f"{base_url}/bench/stamps", timeout=5, context=context) as r:
        return {s["event"]: s["at"] for s in json.loads(r.read())["stamps"]}


def user_turn(text: str) -> list[str]:
    """What liveloop sends for ``send_text`` then ``respond()`` (every contender sends
    these same messages): the turn, then the request for a reply."""
    turn = {"role": "user", "parts": [{"text": text}]}
    return [
        json.dumps({"clientContent": {"turns": [turn], "turnComplete": False}}),
        json.dumps({"clientContent": {"turnComplete": True}}),
    ]


class Floor:
    """The least a client can do: send JSON, receive frames, decode audio."""

    def __init__(self, base_url: str, context: ssl.SSLContext) -> None:
        self.url = base_url.replace("https://", "wss://") + (
            "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
        )
        self.context = context

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(
            self.url, ssl=self.context, additional_headers={"x-goog-api-key": KEY},
            compression=None, max_size=None,
        )  # fmt: skip
        # The same session as liveloop's (resumption handles and compression on), so the
        # server does the same work for every contender.
        setup = {
            "model": f"models/{MODEL}",
            "outputAudioTranscription": {},
            "sessionResumption": {},
            "contextWindowCompression": {"slidingWindow": {}},
        }
        await self.ws.send(json.dumps({"setup": setup}))
        await self.ws.recv()

    async def turn(self, text: str, *, first_audio_only: bool = False) -> int:
        for message in user_turn(text):
            await self.ws.send(message)
        messages = 0
        while True:
            message = json.loads(await self.ws.recv())
            messages += 1
            content = message.get("serverContent") or {}
            for part in (content.get("modelTurn") or {}).get("parts") or []:
                if "inlineData" in part:
                    base64.b64decode(part["inlineData"]["data"])
                    if first_audio_only:
                        self.first_at = time.perf_counter()
                        return messages
            if content.get("turnComplete"):
                return messages

    async def say(self, request: str) -> None:
        """What liveloop sends for ``say()``: one completed turn asking for the text."""
        turn = {"role": "user", "parts": [{"text": request}]}
        await self.ws.send(json.dumps({"clientContent": {"turns": [turn], "turnComplete": True}}))
        while True:
            message = json.loads(await self.ws.recv())
            parts = ((message.get("serverContent") or {}).get("modelTurn") or {}).get("parts")
            if parts and "inlineData" in parts[0]:
                base64.b64decode(parts[0]["inlineData"]["data"])
                self.first_at = time.perf_counter()
                return

    async def drain(self) -> None:
        while True:
            message = json.loads(await self.ws.recv())
            if (message.get("serverContent") or {}).get("turnComplete"):
                return

    async def close(self) -> None:
        await self.ws.close()


class Sdk:
    def __init__(self, base_url: str, context: ssl.SSLContext) -> None:
        from google import genai
        from google.genai import types

        self.types = types
        self.client = genai.Client(
            api_key=KEY,
            http_options=types.HttpOptions(
                base_url=base_url, api_version="v1beta", async_client_args={"ssl": context}
            ),
        )

    async def open(self) -> None:
        config = self.types.LiveConnectConfig(
            response_modalities=[self.types.Modality.AUDIO],
            output_audio_transcription=self.types.AudioTranscriptionConfig(),
            session_resumption=self.types.SessionResumptionConfig(),
            context_window_compression=self.types.ContextWindowCompressionConfig(
                sliding_window=self.types.SlidingWindow()
            ),
        )
        self.manager = self.client.aio.live.connect(model=MODEL, config=config)
        self.session = await self.manager.__aenter__()

    async def turn(self, text: str, *, first_audio_only: bool = False) -> int:
        types = self.types
        turn = types.Content(role="user", parts=[types.Part(text=text)])
        await self.session.send_client_content(turns=turn, turn_complete=False)
        await self.session.send_client_content(turn_complete=True)
        async for message in self.session.receive():
            content = message.server_content
            if first_audio_only and content and content.model_turn:
                self.first_at = time.perf_counter()
                return 0
        return 0

    async def drain(self) -> None:
        async for _ in self.session.receive():
            pass

    async def close(self) -> None:
        await self.manager.__aexit__(None, None, None)


class Liveloop:
    """liveloop as a handler uses it: ``send_text`` then ``respond()`` (its ``Speech``
    handle ends with the reply), ``say()``, and an ``audio_out()`` listener."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def open(self) -> None:
        import liveloop

        self.manager = liveloop.connect(
            provider="gemini", model=MODEL, api_key=KEY, base_url=self.base_url,
            input_transcription=None, auto_respond=False,
        )  # fmt: skip
        self.session = await self.manager.__aenter__()
        self.audio: asyncio.Queue[Any] = asyncio.Queue()
        self.first_at: float | None = None
        self.listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        async for item in self.session.audio_out():
            # The app holds the chunk here; the queue hop to the waiting caller below is
            # the benchmark's, not liveloop's.
            if self.first_at is None:
                self.first_at = time.perf_counter()
            self.audio.put_nowait(item)

    async def turn(self, text: str, *, first_audio_only: bool = False) -> int:
        self.first_at = None
        await self.session.send_text(text)
        self.speech = self.session.respond()
        await self.audio.get()
        if not first_audio_only:
            await self.drain()
        return 0

    async def say(self, text: str) -> None:
        self.first_at = None
        self.speech = self.session.say(text)
        await self.audio.get()

    async def drain(self) -> None:
        await self.speech.wait()
        while not self.audio.empty():
            self.audio.get_nowait()

    async def close(self) -> None:
        self.listener.cancel()
        await self.manager.__aexit__(None, None, None)


async def per_message(contenders: dict[str, Any], reps: int) -> dict[str, Any]:
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    # The floor counts the reply's messages once, in a warm-up turn every contender takes:
    # the sessions keep the same history (counting in every repetition gave the floor's
    # twice as many turns, and the emulator's work per turn grows with the history: it
    # copies the conversation for each resumption handle it offers).
    messages = await contenders["floor"].turn("long reply please")
    for name, contender in contenders.items():
        if name != "floor":
            await contender.turn("long reply please")
    for _ in range(reps):
        for name, contender in contenders.items():
            start = time.process_time()
            await contender.turn("long reply please")
            cpu[name].append((time.process_time() - start) / messages * 1e6)
    result = {name: summary(values, 2) for name, values in cpu.items()}
    floor = result["floor"]["median"]
    return {
        "unit": "µs CPU per server message (p50 over repetitions)",
        "messages_per_reply": messages,
        "contenders": result,
        "vs_floor": {name: ratio(result[name]["median"], floor) for name in result},
    }


async def latency(
    contenders: dict[str, Any], reps: int, base_url: str, context: ssl.SSLContext
) -> dict[str, Any]:
    """Turn (all contenders) and say (floor, liveloop) latencies; the order of the
    contenders rotates from one repetition to the next."""
    clocks: dict[str, dict[str, list[float]]] = {"client": {}, "wall": {}, "server": {}}

    async def timed(key: str, contender: Any, ask: Callable[[], Awaitable[Any]]) -> float | None:
        await asyncio.to_thread(stamps, base_url, context)  # forget earlier ones
        start = time.perf_counter()
        await ask()
        delivered = contender.first_at
        server = await asyncio.to_thread(stamps, base_url, context)
        clocks["wall"].setdefault(key, []).append((delivered - start) * 1000)
        if "request" in server and "first_audio" in server:
            asked, answered = server["request"], server["first_audio"]
            client = ((asked - start) + (delivered - answered)) * 1000
            clocks["client"].setdefault(key, []).append(client)
            clocks["server"].setdefault(key, []).append((answered - asked) * 1000)
        else:
            client = None
        await contender.drain()
        return client

    sayers = {"floor": SAY_FORM.format(text="Hi."), "liveloop": "Hi."}
    diffs: dict[str, list[float]] = {}  # liveloop's minus the floor's, rep by rep
    for rep in range(reps):
        names = list(contenders)
        names = names[rep % len(names) :] + names[: rep % len(names)]
        this_rep: dict[str, float | None] = {}
        for name in names:
            c = contenders[name]
            ask = functools.partial(c.turn, "short", first_audio_only=True)
            this_rep[f"turn/{name}"] = await timed(f"turn/{name}", c, ask)
        for name in names:
            if name in sayers:
                c, text = contenders[name], sayers[name]
                ask = functools.partial(c.say, text)
                this_rep[f"say/{name}"] = await timed(f"say/{name}", c, ask)
        for kind in ("turn", "say"):
            mine, floor = this_rep.get(f"{kind}/liveloop"), this_rep.get(f"{kind}/floor")
            if mine is not None and floor is not None:
                diffs.setdefault(kind, []).append(mine - floor)
    out: dict[str, Any] = {name: summary(values, 3) for name, values in clocks["client"].items()}
    for kind in ("turn", "say"):
        floor_s, ll_s = out.get(f"{kind}/floor"), out.get(f"{kind}/liveloop")
        if floor_s and ll_s:
            out[f"{kind}/added_ms"] = {
                "p50": round(ll_s["median"] - floor_s["median"], 3),
                "p95": round(ll_s["p95"] - floor_s["p95"], 3),
                # The median of per-rep differences and its 95% interval: noise or cost.
                "paired": paired(diffs.get(kind, [])),
            }
    out["end_to_end"] = {name: summary(v, 3) for name, v in clocks["wall"].items()}
    out["server"] = {name: summary(v, 3) for name, v in clocks["server"].items()}
    out["clock"] = (
        "client's share: request -> its arrival at the server, plus the first audio part "
        "leaving the server -> in the app's hands (server stamps, bench/_stamped_emulator.py)"
    )
    return out


async def main() -> int:
    quick = "--quick" in sys.argv
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else None
    mine, theirs = cores()
    pin_self(mine)
    process, base_url, cert = start_emulator(theirs)
    os.environ["SSL_CERT_FILE"] = cert  # liveloop's transport trusts the emulator's cert
    context = ssl.create_default_context(cafile=cert)
    try:
        contenders: dict[str, Any] = {
            "floor": Floor(base_url, context),
            "sdk": Sdk(base_url, context),
            "liveloop": Liveloop(base_url),
        }
        for contender in contenders.values():
            await contender.open()
        doc = header("gemini", argparse.Namespace(quick=quick), None)
        doc["speed"] = SPEED
        doc["per_message"] = await per_message(contenders, reps or (2 if quick else 15))
        doc["latency_ms"] = await latency(
            contenders, reps or (3 if quick else 30), base_url, context
        )
        for contender in contenders.values():
            await contender.close()
    finally:
        process.terminate()
        process.wait(5)
    emit(doc)
    return 0


if __name__ == "__main__":
    run(main)
