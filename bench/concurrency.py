"""Concurrency: how many sessions with audio both ways at real-time pace one core holds.

Each session sends 40 ms of (quiet) audio every 40 ms on an absolute schedule and has the
emulator speak a ~9 s reply over and over (audio deltas paced in real time, transcript
deltas alongside). Event lag is measured per event: a send tick against its schedule, an
output chunk against its response's pacing (chunk k due k x 40 ms after the first). A
step with N sessions runs in a fresh child process pinned to one core (the emulator runs
on the other); steps grow until the p95 lag exceeds 50 ms, sessions fail, or the emulator
itself runs out of CPU (then the step says so: the emulator, not the client, was the
limit). A step over the lag limit is run once more and the better attempt counts (the
machine is shared; a spike from other load is not the client's). Memory is the child's
RSS growth divided by N, idle (connected, configured, nothing flowing) and active
(after the active phase), after one warm-up session (audio both ways for half a second)
has loaded every module.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _clients import Client, LagProbe, agents_available, make
from _common import (
    chosen,
    emit,
    emulator,
    header,
    parser,
    percentile,
    pin_self,
    process_cpu_seconds,
    run,
)

LAG_LIMIT_MS = 50.0
EMULATOR_SATURATED = 0.9  # share of its core
TEXT = (
    "one moment please, i am checking the calendar for the next free table "
    "and will tell you the time that works best for your party tonight"
)
FULL_STEPS = (50, 100, 150, 200, 300)
QUICK_STEPS = (2,)


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


async def step(
    name: str,
    count: int,
    url: str,
    emulator_pid: int | None,
    duration: float,
    transport: str,
    settle: float = 1.0,
) -> dict[str, Any]:
    """One step in this (child) process: ``count`` sessions of contender ``name``."""
    from _common import Emulator

    emu = Emulator(base_url=url)
    warm = make(name, transport)
    await warm.open(emu)
    # Media both ways for a moment: what loads on the first frame (codecs, numpy) is the
    # process's, not the sessions' measured below.
    await warm.active(time.perf_counter() + 0.5, LagProbe(speed=1.0), TEXT)
    await warm.close()
    gc.collect()
    rss0 = _rss()
    clients: list[Client] = []
    failures: list[str] = []
    opened_at = time.perf_counter()

    async def open_one() -> None:
        client = make(name, transport)
        try:
            await asyncio.wait_for(client.open(emu), 30)
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            return
        clients.append(client)

    batch = 10
    for start in range(0, count, batch):
        await asyncio.gather(*(open_one() for _ in range(min(batch, count - start))))
    open_s = time.perf_counter() - opened_at
    await asyncio.sleep(settle)
    gc.collect()
    rss_idle = _rss()

    probe = LagProbe(speed=1.0)
    warmup = settle
    until = time.perf_counter() + warmup + duration
    tasks = [asyncio.create_task(c.active(until, probe, TEXT)) for c in clients]
    await asyncio.sleep(warmup)
    probe.recording = True
    cpu0, emu0, wall0 = time.process_time(), process_cpu_seconds(emulator_pid), time.perf_counter()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    emu1 = process_cpu_seconds(emulator_pid)
    probe.recording = False
    rss_active = _rss()
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    await asyncio.gather(*(asyncio.wait_for(c.close(), 5) for c in clients), return_exceptions=True)
    n = max(len(clients), 1)
    lags_ms = [lag * 1000 for lag in probe.lags]
    return {
        "sessions": count,
        "opened": len(clients),
        "open_failures": failures[:3],
        "open_failure_count": len(failures),
        "active_errors": errors[:3],
        "active_error_count": len(errors),
        "open_s": round(open_s, 2),
        "lag_ms": {
            "n": len(lags_ms),
            "p50": round(percentile(lags_ms, 50), 2),
            "p95": round(percentile(lags_ms, 95), 2),
            "p99": round(percentile(lags_ms, 99), 2),
            "max": round(max(lags_ms), 2) if lags_ms else None,
        },
        "cpu_share_of_core": round(cpu / wall, 3),
        "cpu_ms_per_session_second": round(cpu / wall / n * 1000, 3),
        "emulator_cpu_share_of_core": (
            None if emu0 is None or emu1 is None else round((emu1 - emu0) / wall, 3)
        ),
        "rss_kb_per_idle_session": round((rss_idle - rss0) / n / 1024, 1),
        "rss_kb_per_active_session": round((rss_active - rss0) / n / 1024, 1),
    }


def verdict(result: dict[str, Any]) -> str | None:
    """Why this step is past the limit (None: within it)."""
    if result.get("error"):
        return f"step failed: {result['error']}"
    if result["open_failure_count"] or result["active_error_count"]:
        return "sessions failed"
    emu_cpu = result.get("emulator_cpu_share_of_core")
    if emu_cpu is not None and emu_cpu > EMULATOR_SATURATED:
        return f"emulator saturated ({emu_cpu:.0%} of its core): the limit is the server"
    if result["lag_ms"]["p95"] > LAG_LIMIT_MS:
        return f"p95 event lag {result['lag_ms']['p95']} ms > {LAG_LIMIT_MS:g} ms"
    return None


def run_child(args: argparse.Namespace, name: str, count: int, url: str, pid: int | None) -> Any:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-step",
        str(count),
        "--contender",
        name,
        "--emulator-url",
        url,
        "--duration",
        str(args.duration),
        "--transport",
        args.transport,
        "--loop",
        args.loop,
    ]
    if args.quick:
        command.append("--quick")
    if pid is not None:
        command += ["--emulator-pid", str(pid)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        return {"sessions": count, "error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout)


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", help="comma-separated session counts")
    p.add_argument("--duration", type=float, help="measured seconds per step")
    p.add_argument(
        "--server",
        choices=("emulator", "light"),
        default="emulator",
        help="the server: the emulator, or the light reference server that replays its "
        "reply (bench/_light_server.py) so the client saturates first",
    )
    p.add_argument("--child-step", type=int, help=argparse.SUPPRESS)
    p.add_argument("--emulator-pid", type=int, help=argparse.SUPPRESS)
    p.add_argument("--transport", default="websocket", help=argparse.SUPPRESS)


async def main(
    name: str = "concurrency",
    default: tuple[str, ...] = ("floor", "liveloop"),
    transport: str = "websocket",
    full_steps: tuple[int, ...] = FULL_STEPS,
    quick_steps: tuple[int, ...] = QUICK_STEPS,
) -> int:
    p = parser(__doc__ or "")
    add_options(p)
    args = p.parse_args()
    if args.transport == "websocket":
        args.transport = transport
    args.duration = args.duration or (0.5 if args.quick else 5.0)
    if args.child_step is not None:
        pin_self()
        contender = (args.contender or ["liveloop"])[0]
        result = await step(
            contender,
            args.child_step,
            args.emulator_url,
            args.emulator_pid,
            args.duration,
            args.transport,
            settle=0.3 if args.quick else 1.0,
        )
        emit(result)
        return 0
    if transport != "websocket":
        # The WebRTC floor is a raw aiortc peer doing the same media (bench/_aiortc_peer.py).
        contenders = ["aiortc", *[c for c in args.contender or default if c != "aiortc"]]
    else:
        contenders = chosen(args, default)
    steps = (
        tuple(int(s) for s in args.steps.split(","))
        if args.steps
        else (quick_steps if args.quick else full_steps)
    )
    skipped: dict[str, str] = {}
    if "agents" in contenders and (why := agents_available()):
        skipped["agents"] = why
        contenders.remove("agents")
    light = TEXT if args.server == "light" and transport == "websocket" else None
    with emulator(args.emulator_url, speed=1.0, light=light) as emu:
        doc: dict[str, Any] = header(name, args, emu)
        doc["server"] = "light" if light else "emulator"
        doc["transport"] = args.transport
        doc["lag_limit_ms"] = LAG_LIMIT_MS
        doc["steps"] = list(steps)
        doc["duration_s"] = args.duration
        results: dict[str, Any] = {}
        for contender in contenders:
            runs = []
            best = None
            stop = None
            for count in steps:
                result = await asyncio.to_thread(
                    run_child, args, contender, count, emu.base_url, emu.pid
                )
                result["limit"] = verdict(result)
                if result["limit"] is not None and "lag" in result["limit"]:
                    # One retry: a lag spike can come from the shared machine's other load;
                    # the better of the two attempts counts, and both are kept.
                    again = await asyncio.to_thread(
                        run_child, args, contender, count, emu.base_url, emu.pid
                    )
                    again["limit"] = verdict(again)
                    again["first_attempt"] = {k: result[k] for k in ("lag_ms", "limit")}
                    if again["limit"] is None or (
                        "lag_ms" in again and again["lag_ms"]["p95"] < result["lag_ms"]["p95"]
                    ):
                        result = again
                runs.append(result)
                if result["limit"] is not None:
                    stop = result["limit"]
                    break
                best = result
            # CPU per session does not depend on lag: when no step stayed within the lag
            # limit (on a busy shared machine), the largest step that ran without errors
            # still measures it, and says so.
            measured = best or next(
                (
                    r
                    for r in reversed(runs)
                    if r.get("cpu_ms_per_session_second") and not r.get("active_error_count")
                ),
                None,
            )
            results[contender] = {
                "steps": runs,
                "cpu_from_step": None if measured is None else measured["sessions"],
                "cpu_from_step_over_lag_limit": measured is not None and measured is not best,
                "max_sessions_within_limit": None if best is None else best["sessions"],
                "stopped_because": stop or "largest step passed",
                "cpu_ms_per_session_second": None
                if measured is None
                else measured["cpu_ms_per_session_second"],
                "rss_kb_per_idle_session": None
                if measured is None
                else measured["rss_kb_per_idle_session"],
                "rss_kb_per_active_session": None
                if measured is None
                else measured["rss_kb_per_active_session"],
                "sessions_per_core_by_cpu": (
                    None
                    if measured is None or not measured["cpu_ms_per_session_second"]
                    else int(1000 / measured["cpu_ms_per_session_second"])
                ),
            }
        doc["results"] = results
        doc["skipped"] = skipped
    emit(doc)
    return 0


if __name__ == "__main__":
    run(main)
