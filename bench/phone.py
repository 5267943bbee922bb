"""The Twilio Media Streams bridge: what it adds to a turn and to ``say()``, and what a call
costs the server.

Latency, side by side on one emulator (its own process, µ-law both ways, real-time pace):
- direct: a liveloop session over ``openai/websocket``; the "user" streams tone speech in
  20 ms frames; measured from the end of the user's speech (turn) or the ``say()`` call to
  the first assistant audio the session delivers;
- bridged: the same measures behind ``liveloop-twilio``'s routes (served by uvicorn in this
  process), called by the simulated Twilio caller; measured to the first ``media`` message
  the caller receives.
Cost: a real ``liveloop serve`` process bridges N concurrent calls whose callers stream
20 ms frames both ways while the assistant talks without a pause; the server's CPU time over
the window gives CPU seconds per call-second and calls per core (µ-law passed through).
Calls per core divide by the call-seconds the callers actually heard when that is less than
the window: on a busy machine the callers (all in this process) fall behind, the server
then has less to do, and CPU per wall-clock call-second would flatter it.

Run: ``uv run python bench/phone.py [--quick]``; prints one JSON document.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import KEY, emit, emulator, header, parser, process_cpu_seconds, summary

import liveloop
from liveloop.events import AssistantAudio
from liveloop.testing import _g711
from liveloop.testing.phone import TwilioCaller

TOKEN = "bench-twilio-token"
ULAW = {"encoding": "g711_ulaw", "rate": 8000}
SPEECH = "what time is breakfast"
LONG = "our front desk is open day and night, and the restaurant serves dinner from six. " * 3


def _tone_ulaw(text: str) -> bytes:
    from liveloop_emulator import tones

    return _g711.pcm16_to_ulaw(tones.encode(text, 8000))


async def _paced(session: liveloop.Session, audio: bytes) -> None:
    next_at = time.monotonic()
    for offset in range(0, len(audio), 160):
        await session.send_audio(audio[offset : offset + 160])
        next_at += 0.02
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def direct(base_url: str, reps: int) -> dict[str, list[float]]:
    """Turn and say() latency of a direct WebSocket session (µ-law both ways)."""
    turns: list[float] = []
    says: list[float] = []
    speech = _tone_ulaw(SPEECH)
    silence = b"\xff" * 8 * 1200
    options = {"input_audio": ULAW, "output_audio": ULAW}
    async with liveloop.connect(api_key=KEY, base_url=base_url, **options) as session:
        events = session.events()
        seen: set[str] = set()  # responses whose audio came already

        async def first_audio() -> float:
            async for event in events:
                if isinstance(event, AssistantAudio) and event.response_id not in seen:
                    seen.add(event.response_id)
                    return time.monotonic()
            raise RuntimeError("the session ended")

        for _ in range(reps):
            await _paced(session, speech)
            ended = time.monotonic()
            pacing = asyncio.ensure_future(_paced(session, silence))
            turns.append((await first_audio() - ended) * 1000)
            await pacing
            await session.interrupt()
            said = time.monotonic()
            session.say("one moment")
            says.append((await first_audio() - said) * 1000)
            await asyncio.sleep(1.0)  # let the reply end
    return {"turn_ms": turns, "say_ms": says}


def _first_media(
    caller: TwilioCaller, start: int, offset: float, after: float | None
) -> int | None:
    """The first media message from ``received[start]`` that arrived after ``after``."""
    if after is None:
        return None
    for index in range(start, len(caller.received)):
        late = caller.received_at[index] + offset > after
        if caller.received[index]["event"] == "media" and late:
            return index
    return None


async def bridged(base_url: str, reps: int) -> dict[str, list[float]]:
    """The same measures through the bridge, to the first media message Twilio would get."""
    from starlette.applications import Starlette

    from liveloop_serve import serving
    from liveloop_twilio.routes import TwilioRoutes

    said_at: list[float] = []
    app = liveloop.App()

    @app.session("bench")
    async def handler(session: liveloop.Session) -> None:
        while True:
            await session.input()
            await asyncio.sleep(1.5)
            await session.interrupt()
            said_at.append(time.monotonic())
            session.say("one moment")

    routes = TwilioRoutes(
        app, auth_token=TOKEN, session_options={"api_key": KEY, "base_url": base_url}
    )
    turns: list[float] = []
    says: list[float] = []
    speech_s = len(_tone_ulaw(SPEECH)) / 8000
    async with (
        serving(Starlette(routes=routes.routes())) as url,
        TwilioCaller(f"{url}/phone/twilio/bench", auth_token=TOKEN) as caller,
    ):
        offset = time.monotonic() - caller.now()  # the caller's clock -> monotonic
        for rep in range(reps):
            start = len(caller.received)
            await caller.speak(SPEECH, silence_ms=1200, wait=False)
            ended = time.monotonic() + speech_s
            while (first := _first_media(caller, start, offset, ended)) is None:
                await caller.wait_for("media", timeout=20)
            turns.append((caller.received_at[first] + offset - ended) * 1000)
            while len(said_at) <= rep:
                await caller.wait_for("clear", timeout=20)
            said = said_at[rep]
            while (first := _first_media(caller, start, offset, said)) is None:
                await caller.wait_for("media", timeout=20)
            says.append((caller.received_at[first] + offset - said) * 1000)
            await asyncio.sleep(1.0)
        await caller.hang_up()
    await routes.aclose()
    return {"turn_ms": turns, "say_ms": says}


APP = f"""
import liveloop

app = liveloop.App(authorize=lambda request: None)


@app.session("talker")
async def talker(session):
    while True:
        await session.say({LONG!r})
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def cost(base_url: str, calls: int, seconds: float) -> dict[str, Any]:
    """CPU of a real ``liveloop serve`` process bridging ``calls`` calls for ``seconds``."""
    import httpx

    folder = Path(tempfile.mkdtemp(prefix="bench-phone-"))
    (folder / "talker_app.py").write_text(APP)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "OPENAI_API_KEY": KEY}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import liveloop.cli; liveloop.cli.main()", "serve",
        "talker_app:app", "--port", str(port), "--base-url", base_url,
        "--max-sessions", str(calls + 5), cwd=folder, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    callers: list[TwilioCaller] = []
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        for _ in range(calls):
            caller = TwilioCaller(f"{url}/phone/twilio/talker", auth_token=TOKEN)
            await caller.ring()
            await caller.connect()
            callers.append(caller)
        await asyncio.gather(*(c.wait_played(500, timeout=30) for c in callers))
        before, started = process_cpu_seconds(proc.pid), time.monotonic()
        played = [c.played_ms for c in callers]
        await asyncio.sleep(seconds)
        after, window = process_cpu_seconds(proc.pid), time.monotonic() - started
        heard_ms = sum(c.played_ms - p for c, p in zip(callers, played, strict=True))
    finally:
        for caller in callers:
            await caller.hang_up()
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
    assert before is not None and after is not None
    cpu = after - before
    per_call_second = cpu / (calls * window)
    heard_s = heard_ms / 1000
    per_heard_second = cpu / heard_s if heard_s else None
    worst = max(per_call_second, per_heard_second or 0.0)
    return {
        "calls": calls,
        "window_s": round(window, 2),
        "server_cpu_s": round(cpu, 3),
        "cpu_per_call_second": round(per_call_second, 5),
        "cpu_per_heard_call_second": round(per_heard_second, 5) if per_heard_second else None,
        "calls_per_core": round(1 / worst, 1) if worst else None,
        "audio_heard_share": round(heard_ms / (calls * window * 1000), 3),
    }


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    reps = args.reps or (2 if args.quick else 8)
    with emulator(args.emulator_url, speed=1.0) as emu:
        doc = header("phone", args, emu)
        direct_runs = await direct(emu.base_url, reps)
        bridged_runs = await bridged(emu.base_url, reps)
        latency: dict[str, Any] = {}
        for name in ("turn_ms", "say_ms"):
            entry = {
                "direct": summary(direct_runs[name], 1),
                "bridged": summary(bridged_runs[name], 1),
            }
            for stat, key in (("median", "added_p50_ms"), ("p95", "added_p95_ms")):
                entry[key] = round(entry["bridged"][stat] - entry["direct"][stat], 1)
            latency[name] = entry
        doc["latency"] = latency
        doc["cost"] = await cost(emu.base_url, 3 if args.quick else 10, 5 if args.quick else 15)
    emit(doc)


if __name__ == "__main__":
    asyncio.run(main())
