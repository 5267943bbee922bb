"""WebRTC peer sessions: where the CPU goes per session-second.

Each contender (the raw aiortc peer, ``bench/_aiortc_peer.py``, and liveloop over
``openai/webrtc``) runs ``--sessions`` sessions of the concurrency benchmark's traffic
(40 ms of audio in every 40 ms, say() after say() out, real-time pace) in a child process
pinned to one core, the emulator on the other. Over the measured window:

- CPU per thread, exact, from ``/proc``: the event loop's thread, aiortc's encoder
  threads (it encodes Opus in asyncio's default executor) and its decoder threads (one
  per receiver);
- the event loop thread's CPU split by component, from py-spy samples taken while that
  thread holds the GIL (``py-spy`` on PATH, or through ``uvx``; without either the split
  is skipped): aiortc's RTP/RTCP, DTLS/SRTP, ICE/UDP and SCTP code, its hand-off of every
  frame to its encoder and decoder threads, resampling with PyAV, liveloop's WebRTC media
  path, liveloop's session (events, codec, runtime), the benchmark's own client code, and
  the event loop itself.

Run: ``uv run python bench/webrtc_profile.py [--sessions 5] [--duration 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _clients import LagProbe, make
from _common import Emulator, emit, emulator, header, parser, pin_self, run

CONTENDERS = ("aiortc", "liveloop")
TEXT = (
    "one moment please, i am checking the calendar for the next free table "
    "and will tell you the time that works best for your party tonight"
)
SAMPLE_HZ = 100
THREADS = {
    "MainThread": "event loop thread",
    "asyncio": "aiortc Opus encoder threads (default executor)",
    "audio-decoder": "aiortc Opus decoder threads",
}
HAND_OFF = (
    "concurrent/futures",
    "threading.py",
    "queue.py",
    "run_in_executor",
    "_chain_future",
    "_copy_future_state",
    "call_soon_threadsafe",
    "_read_from_self",
    "_process_self_data",
)
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("aiortc: hand-off to its encoder/decoder threads", HAND_OFF),
    ("aiortc: Opus calls", ("aiortc/codecs",)),
    ("aiortc: DTLS/SRTP", ("pylibsrtp", "OpenSSL", "cryptography", "rtcdtlstransport.py")),
    ("aiortc: SCTP data channel", ("rtcsctptransport.py", "rtcdatachannel.py")),
    ("aiortc: ICE/UDP", ("aioice", "_SelectorDatagramTransport")),
    ("aiortc: RTP/RTCP", ("aiortc/",)),
    ("resampling (PyAV)", ("PcmResampler", "_resample")),
    ("liveloop: WebRTC media path", ("liveloop_openai_webrtc",)),
    ("liveloop: session, events, codec", ("liveloop",)),
    ("benchmark client (app side)", ("_clients.py", "_aiortc_peer.py")),
)
LOOP = "event loop (asyncio)"


def classify(frames: list[str]) -> str:
    """The component a sample belongs to: the innermost frame some rule claims (frames
    of asyncio itself, the standard library and this script are passed through)."""
    for frame in reversed(frames):
        if "webrtc_profile.py" in frame:
            continue
        for name, keys in RULES:
            if any(key in frame for key in keys):
                return name
    return LOOP


def split(raw: str, thread: str = "MainThread") -> tuple[int, dict[str, float]]:
    """Samples of ``thread`` in py-spy's raw output, and their shares by component (%)."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if not n.isdigit() or thread not in frames[0]:
            continue
        counts[classify(frames[1:])] += int(n)
    total = sum(counts.values())
    return total, {k: round(100 * v / total, 1) for k, v in counts.most_common()} if total else {}


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds of each live thread of this process: native id -> (kind, seconds)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for t in threading.enumerate():
        try:
            with open(f"/proc/self/task/{t.native_id}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            continue
        kind = re.sub(r"[-_ ]?\d+$", "", t.name.split(" ")[0])
        found[t.native_id] = (kind, (int(fields[11]) + int(fields[12])) / tick)
    return found


async def child(name: str, sessions: int, url: str, duration: float) -> None:
    pin_self()
    emu = Emulator(base_url=url)
    clients = []
    for _ in range(sessions):
        client = make(name, "webrtc")
        await client.open(emu)
        clients.append(client)
    warmup = 1.0
    until = time.perf_counter() + warmup + duration
    probe = LagProbe(speed=1.0)
    tasks = [asyncio.create_task(c.active(until, probe, TEXT)) for c in clients]
    await asyncio.sleep(warmup)
    print("ACTIVE", os.getpid(), flush=True)
    before = thread_cpu()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*tasks)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    by_kind: collections.Counter[str] = collections.Counter()
    for tid, (kind, seconds) in thread_cpu().items():
        by_kind[kind] += seconds - before.get(tid, (kind, 0.0))[1]
    for c in clients:
        await c.close()
    per = 1000 / wall / sessions
    print(
        json.dumps(
            {
                "cpu_ms_per_session_second": round(cpu * per, 2),
                "threads_ms_per_session_second": {
                    THREADS.get(k, k): round(v * per, 2) for k, v in by_kind.most_common()
                },
            }
        ),
        flush=True,
    )


def py_spy() -> list[str] | None:
    if path := shutil.which("py-spy"):
        return [path]
    if path := shutil.which("uvx"):
        return [path, "py-spy"]
    return None


def measure(name: str, args: Any, url: str) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--url", url]
    command += ["--sessions", str(args.sessions), "--duration", str(args.duration)]
    spy = None if args.quick else py_spy()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "samples.txt"
        errors = (Path(tmp) / "stderr.txt").open("w+")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert proc.stdout is not None
        sampler = None
        result: dict[str, Any] = {}
        for line in proc.stdout:
            if line.startswith("ACTIVE") and spy is not None:
                record = [*spy, "record", "--pid", line.split()[1], "--rate", str(SAMPLE_HZ)]
                record += ["--duration", str(max(1, int(args.duration) - 1)), "--gil"]
                record += ["--threads", "--nonblocking", "--format", "raw", "-o", str(out)]
                sampler = subprocess.Popen(
                    record, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            elif line.startswith("{"):
                result = json.loads(line)
        proc.wait()
        if sampler is not None:
            sampler.wait(60)
        if proc.returncode != 0 or not result:
            errors.seek(0)
            last = (errors.read().strip().splitlines() or ["?"])[-1]
            return {"error": f"the child exited with {proc.returncode}: {last}"}
        if spy is None:
            why = "--quick" if args.quick else "py-spy is not available"
            result["event_loop_split"] = f"skipped: {why}"
        elif not out.exists():
            result["event_loop_split"] = "skipped: py-spy recorded nothing"
        else:
            samples, shares = split(out.read_text())
            loop_ms = result["threads_ms_per_session_second"].get(THREADS["MainThread"], 0.0)
            result["event_loop_samples"] = samples
            result["event_loop_split_percent"] = shares
            result["event_loop_split_ms_per_session_second"] = {
                k: round(loop_ms * v / 100, 2) for k, v in shares.items()
            }
    return result


async def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--sessions", type=int, default=5)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        await child(args.child, args.sessions, args.url, args.duration)
        return 0
    if args.quick:
        args.sessions, args.duration = 1, 2.0
    with emulator(args.emulator_url, speed=1.0) as emu:
        doc: dict[str, Any] = header("webrtc_profile", args, emu)
        doc["sessions"] = args.sessions
        doc["duration_s"] = args.duration
        results = {}
        for name in CONTENDERS:
            results[name] = await asyncio.to_thread(measure, name, args, emu.base_url)
        doc["results"] = results
        floor = results["aiortc"].get("cpu_ms_per_session_second")
        ours = results["liveloop"].get("cpu_ms_per_session_second")
        if floor and ours:
            doc["liveloop_over_floor"] = round(ours / floor, 2)
    emit(doc)
    return 0


if __name__ == "__main__":
    run(main)
