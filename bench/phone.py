"""The Twilio Media Streams bridge: what it adds to a turn and to ``say()``, and what a call
costs the server.

Latency, side by side on one emulator (its own process, µ-law both ways, real-time pace),
with the same app on both paths (it answers each turn, then says a line when quiet):
- direct: a liveloop session over ``openai/websocket``; the user's 20 ms frames go into the
  session and its audio is taken when the session delivers it;
- bridged: the same app behind ``liveloop-twilio``'s routes (uvicorn in this process),
  called by the simulated Twilio caller; audio taken when its ``media`` reaches the caller.
Both clocks start at the same points: a turn at the moment the user side sent the frame
that completed the server's end-of-speech silence (the server's ``speech_stopped``
position, mapped to that side's send times), ``say()`` at the call; both end when a new
response's first audio reaches the user side.
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
import math
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
from liveloop.events import AssistantAudio, ResponseDone, UserSpeechStopped
from liveloop.testing import _g711
from liveloop.testing.phone import TwilioCaller

TOKEN = "bench-twilio-token"
ULAW = {"encoding": "g711_ulaw", "rate": 8000}
SPEECH = "what time is breakfast"
LONG = "our front desk is open day and night, and the restaurant serves dinner from six. " * 3


def _tone_ulaw(text: str) -> bytes:
    from liveloop_emulator import tones

    return _g711.pcm16_to_ulaw(tones.encode(text, 8000))


class _AppLog:
    """What the app saw, on either path (``time.monotonic()`` unless said otherwise)."""

    def __init__(self) -> None:
        self.stopped_ms: list[int] = []
        """The server's end of each user turn: its ``speech_stopped`` position on the
        input audio's timeline (ms of audio since the session started)."""
        self.stop_seen: list[float] = []  # when the session learnt each of those
        self.audio_at: list[float] = []  # when the session delivered a response's first audio
        self.said: list[float] = []  # each say() call
        self.changed = asyncio.Event()

    def note(self) -> None:
        self.changed.set()

    async def wait(self, entries: list[Any], count: int) -> None:
        while len(entries) < count:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 20)


async def _app(session: liveloop.Session, log: _AppLog) -> None:
    """The same app on both paths: after each turn's reply it says one line, when quiet."""
    done = asyncio.Event()

    async def watch() -> None:
        seen: set[str] = set()
        async for event in session.events():
            if isinstance(event, AssistantAudio) and event.response_id not in seen:
                seen.add(event.response_id)
                log.audio_at.append(time.monotonic())
            elif isinstance(event, UserSpeechStopped) and event.audio_end_ms is not None:
                log.stop_seen.append(time.monotonic())
                log.stopped_ms.append(event.audio_end_ms)
                log.note()
            elif isinstance(event, ResponseDone):
                done.set()

    watcher = asyncio.ensure_future(watch())
    try:
        while True:
            done.clear()
            await session.input()
            await done.wait()  # the reply is generated; say() then starts no queue
            await asyncio.sleep(0.5)
            done.clear()
            log.said.append(time.monotonic())
            log.note()
            session.say("one moment")
            await done.wait()
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


def _ended_at(stopped_ms: int, sent_at: list[float]) -> float:
    """When the user side sent the frame that completed the server's end-of-speech silence:
    the turn's clock starts there on both paths (the server's own end of the turn, mapped
    to the same sender clock), so neither the sender's pace nor its estimate biases it."""
    return sent_at[max(0, math.ceil(stopped_ms / 20) - 1)]


def _first_after(times: list[float], after: float) -> float:
    return next(t for t in times if t > after)


def _measures(log: _AppLog, sent_at: list[float], heard_at: list[float]) -> dict[str, list[float]]:
    """Each turn and say(), whole and in legs (ms). ``heard_at``: when audio reached the
    user side (direct: the session's delivery itself, so its ``out`` leg is 0).

    ``turn_in``: the end of speech to the session learning the server's end of turn (the
    caller's audio on its way in); ``out``: the session's first audio to the user side.
    The provider's own time to answer (the rest) is the same server on both paths but
    varies by tens of ms under load, so the bridge's share is ``turn_in + out`` compared."""
    out: dict[str, list[float]] = {k: [] for k in ("turn", "turn_in", "turn_out", "say", "say_out")}
    for ms, seen in zip(log.stopped_ms, log.stop_seen, strict=True):
        t0 = _ended_at(ms, sent_at)
        session_audio = _first_after(log.audio_at, seen)
        heard = _first_after(heard_at, session_audio - 1e-6)
        out["turn"].append((heard - t0) * 1000)
        out["turn_in"].append((seen - t0) * 1000)
        out["turn_out"].append((heard - session_audio) * 1000)
    for said in log.said:
        session_audio = _first_after(log.audio_at, said)
        heard = _first_after(heard_at, session_audio - 1e-6)
        out["say"].append((heard - said) * 1000)
        out["say_out"].append((heard - session_audio) * 1000)
    return out


async def direct(base_url: str, reps: int) -> dict[str, list[float]]:
    """The app on a direct WebSocket session (µ-law both ways): the user's frames go into
    the session, its audio is taken when the session delivers it."""
    speech = _tone_ulaw(SPEECH) + b"\xff" * 8 * 1200
    sent_at: list[float] = []
    log = _AppLog()
    options = {"input_audio": ULAW, "output_audio": ULAW}
    async with liveloop.connect(api_key=KEY, base_url=base_url, **options) as session:
        app = asyncio.ensure_future(_app(session, log))
        try:
            for rep in range(reps):
                next_at = time.monotonic()
                for offset in range(0, len(speech), 160):
                    await session.send_audio(speech[offset : offset + 160])
                    sent_at.append(time.monotonic())
                    next_at += 0.02
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                await log.wait(log.said, rep + 1)
                await asyncio.sleep(1.0)  # the line is said
        finally:
            app.cancel()
            await asyncio.gather(app, return_exceptions=True)
    return _measures(log, sent_at, log.audio_at)


async def bridged(base_url: str, reps: int) -> dict[str, list[float]]:
    """The same app and measures behind the bridge: the caller's frames are sent by the
    simulated Twilio caller, the audio taken when its ``media`` message reaches it."""
    from starlette.applications import Starlette

    from liveloop_serve import serving
    from liveloop_twilio.routes import TwilioRoutes

    log = _AppLog()
    app = liveloop.App()

    @app.session("bench")
    async def handler(session: liveloop.Session) -> None:
        await _app(session, log)

    routes = TwilioRoutes(
        app, auth_token=TOKEN, session_options={"api_key": KEY, "base_url": base_url}
    )
    async with (
        serving(Starlette(routes=routes.routes())) as url,
        TwilioCaller(f"{url}/phone/twilio/bench", auth_token=TOKEN) as caller,
    ):
        offset = time.monotonic() - caller.now()  # the caller's clock -> monotonic
        for rep in range(reps):
            await caller.speak(SPEECH, silence_ms=1200)
            await log.wait(log.said, rep + 1)
            await asyncio.sleep(1.0)
        await caller.hang_up()
    await routes.aclose()
    sent_at = [t + offset for t in caller.sent_at]
    heard_at = [
        t + offset
        for t, message in zip(caller.received_at, caller.received, strict=True)
        if message["event"] == "media"
    ]
    return _measures(log, sent_at, heard_at)


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


def _compared(
    direct_runs: dict[str, list[float]], bridged_runs: dict[str, list[float]]
) -> list[tuple[str, list[float], list[float]]]:
    """What is compared: the whole turn and say(), and the legs the bridge sits on (the
    caller's audio in, the assistant's out; the provider's answer between them left out)."""

    def legs(runs: dict[str, list[float]], *names: str) -> list[float]:
        return [sum(values) for values in zip(*(runs[n] for n in names), strict=True)]

    return [
        ("turn_ms", direct_runs["turn"], bridged_runs["turn"]),
        ("say_ms", direct_runs["say"], bridged_runs["say"]),
        (
            "turn_legs_ms",
            legs(direct_runs, "turn_in", "turn_out"),
            legs(bridged_runs, "turn_in", "turn_out"),
        ),
        ("say_legs_ms", direct_runs["say_out"], bridged_runs["say_out"]),
    ]


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    reps = args.reps or (2 if args.quick else 8)
    with emulator(args.emulator_url, speed=1.0) as emu:
        doc = header("phone", args, emu)
        direct_runs = await direct(emu.base_url, reps)
        bridged_runs = await bridged(emu.base_url, reps)
        latency: dict[str, Any] = {}
        for name, direct_ms, bridged_ms in _compared(direct_runs, bridged_runs):
            entry = {"direct": summary(direct_ms, 1), "bridged": summary(bridged_ms, 1)}
            for stat, key in (("median", "added_p50_ms"), ("p95", "added_p95_ms")):
                entry[key] = round(entry["bridged"][stat] - entry["direct"][stat], 1)
            latency[name] = entry
        doc["latency"] = latency
        doc["cost"] = await cost(emu.base_url, 3 if args.quick else 10, 5 if args.quick else 15)
    emit(doc)


if __name__ == "__main__":
    asyncio.run(main())
