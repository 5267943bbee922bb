"""Shared pieces of the benchmarks: the emulator in its own process, core pinning, command
line options, statistics, machine facts and JSON output.

Every benchmark script is runnable alone (``uv run python bench/<name>.py [--quick]``) and
prints one JSON document on stdout. Without ``--emulator-url`` it starts the emulator as a
separate process (``python -m liveloop_emulator.cli --port 0``) pinned to a different core
than the measuring process, so what is measured is the client, not the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
KEY = "sk-bench"
MODEL = "gpt-realtime"
SAMPLE_RATE = 24000
CHUNK_MS = 40
CHUNK_BYTES = SAMPLE_RATE * CHUNK_MS // 1000 * 2

ALL_CONTENDERS = ("limit", "floor", "aiortc", "liveloop", "sdk", "agents")
LOCAL_CONTENDERS = ("floor", "liveloop", "sdk")
"""Contenders that run in the workspace environment; ``agents`` needs its own."""


# -- cores ----------------------------------------------------------------------------------


_STARTING_CORES = sorted(os.sched_getaffinity(0))


def cores() -> tuple[int, int | None]:
    """(core for the measured process, core for the emulator or None if there is only one),
    from the cores this process could use when it started."""
    available = _STARTING_CORES
    if len(available) < 2:
        return available[0], None
    return available[0], available[-1]


def pin_self(core: int | None = None) -> int | None:
    """Pin this process to ``core`` (default: the measuring core); the core, or None."""
    if core is None:
        core = cores()[0]
    try:
        os.sched_setaffinity(0, {core})
    except OSError:
        return None
    return core


# -- the emulator ---------------------------------------------------------------------------


@dataclass
class Emulator:
    """An emulator the benchmark talks to: started here (``process`` set) or given by URL."""

    base_url: str
    process: subprocess.Popen[str] | None = None
    core: int | None = None
    speed: float | None = None

    @property
    def ws_base_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http")

    @property
    def realtime_url(self) -> str:
        return f"{self.ws_base_url}/realtime?model={MODEL}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def describe(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "own_process": self.process is not None,
            "pinned_core": self.core,
            "speed": self.speed,
        }


@contextmanager
def emulator(
    url: str | None,
    *,
    speed: float = 1.0,
    chunk_ms: int = CHUNK_MS,
    stamped: bool = False,
    light: str | None = None,
) -> Iterator[Emulator]:
    """The emulator at ``url``, or a fresh one in its own process on its own core
    (``stamped``: with server-side timestamps, ``bench/_stamped_emulator.py``; ``light``:
    the light reference server replaying the emulator's reply of that text instead,
    ``bench/_light_server.py``)."""
    if url:
        yield Emulator(base_url=url.rstrip("/"))
        return
    options = ["--speed", repr(speed), "--chunk-ms", str(chunk_ms)]
    if light is not None:
        command = [sys.executable, str(BENCH / "_light_server.py"), light]
    elif stamped:
        command = [sys.executable, str(BENCH / "_stamped_emulator.py"), *options]
    else:
        command = [sys.executable, "-m", "liveloop_emulator.cli", "--port", "0", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("http"):
            raise RuntimeError(f"the emulator did not start (printed {line!r})")
        core = cores()[1]
        if core is not None:
            try:
                os.sched_setaffinity(process.pid, {core})
            except OSError:
                core = None
        yield Emulator(base_url=line, process=process, core=core, speed=speed)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_cpu_seconds(pid: int | None) -> float | None:
    """User+system CPU seconds of process ``pid`` (None if unknown)."""
    if pid is None:
        return None
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


# -- options and output --------------------------------------------------------------------


def parser(
    description: str, *, contenders: Sequence[str] = LOCAL_CONTENDERS
) -> argparse.ArgumentParser:
    """The options every benchmark takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny counts: a second or two")
    p.add_argument("--emulator-url", help="use this running emulator (http://host:port/v1)")
    p.add_argument(
        "--contender",
        action="append",
        choices=ALL_CONTENDERS,
        help=f"run this contender (repeatable; default: {', '.join(contenders)}); "
        "the floor always runs as the reference",
    )
    p.add_argument("--reps", type=int, help="repetitions (default depends on --quick)")
    p.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="event loop of the measuring process (default asyncio, the reference)",
    )
    return p


def chosen(args: argparse.Namespace, default: Sequence[str] = LOCAL_CONTENDERS) -> list[str]:
    """The contenders to run, the floor first."""
    picked = list(args.contender or default)
    return ["floor", *[c for c in picked if c != "floor"]]


def emit(doc: dict[str, Any]) -> None:
    """Print the benchmark's JSON document (with the load average at its end)."""
    doc["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    json.dump(doc, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def header(name: str, args: argparse.Namespace, emu: Emulator | None) -> dict[str, Any]:
    return {
        "benchmark": name,
        "quick": bool(args.quick),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "emulator": None if emu is None else emu.describe(),
        "measured_core": sorted(os.sched_getaffinity(0)),
        "loop": loop_name(),
        "environment": environment(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


BENCH_PACKAGES = (
    "liveloop",
    "liveloop-openai",
    "liveloop-openai-websocket",
    "liveloop-openai-webrtc",
    "liveloop-emulator",
    "websockets",
    "pydantic",
    "pydantic-core",
    "openai",
    "openai-agents",
    "uvloop",
    "orjson",
    "msgspec",
    "aiortc",
    "av",
    "uvicorn",
    "starlette",
)


def environment() -> dict[str, Any]:
    """What the figures depend on besides the machine: package versions, the interpreter,
    and whether imports read compiled bytecode (without ``.pyc`` files start-up is slower)."""
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for name in BENCH_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "packages": versions,
        "bytecode": bytecode_state(),
    }


def bytecode_state(
    modules: Sequence[str] = ("liveloop", "websockets", "pydantic"),
) -> dict[str, Any]:
    """Whether bytecode is written and present: ``PYTHONDONTWRITEBYTECODE``, and for a few
    packages the share of their ``.py`` files with an up-to-date ``.pyc``."""
    import importlib.util

    compiled: dict[str, float | None] = {}
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            compiled[name] = None
            continue
        total = fresh = 0
        for root in spec.submodule_search_locations:
            for source in Path(root).rglob("*.py"):
                total += 1
                cached = Path(importlib.util.cache_from_source(str(source)))
                try:
                    if cached.stat().st_mtime >= source.stat().st_mtime:
                        fresh += 1
                except OSError:
                    pass
        compiled[name] = round(fresh / total, 3) if total else None
    return {
        "dont_write_bytecode": sys.dont_write_bytecode,
        "compiled_share": compiled,
    }


def machine() -> dict[str, Any]:
    import psutil

    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# -- statistics -----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` (0..100) percentile, linear between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def summary(values: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """n, median, p5/p95, min/max and the relative spread ((p95-p5)/median) of ``values``."""
    if not values:
        return {"n": 0}
    median = statistics.median(values)
    p5, p95 = percentile(values, 5), percentile(values, 95)
    return {
        "n": len(values),
        "median": round(median, digits),
        "p5": round(p5, digits),
        "p95": round(p95, digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "spread": round((p95 - p5) / median, 3) if median else None,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return round(a / b, 3)


def paired(differences: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """The median of per-trial differences (a contender minus the floor in the same trial)
    with its 95% bootstrap interval. Load that slows both sides of a trial cancels out;
    an interval that holds 0 means the difference is not resolved at this load."""
    if not differences:
        return {"n": 0}
    rng = random.Random(0)
    n = len(differences)
    medians = sorted(statistics.median(rng.choices(differences, k=n)) for _ in range(2000))
    return {
        "n": n,
        "median": round(statistics.median(differences), digits),
        "ci95": [round(medians[50], digits), round(medians[1949], digits)],
    }


@dataclass
class Samples:
    """Per-contender samples collected over repetitions."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, contender: str, value: float) -> None:
        self.values.setdefault(contender, []).append(value)

    def summaries(self, digits: int = 4) -> dict[str, dict[str, Any]]:
        return {name: summary(v, digits) for name, v in self.values.items()}


def run(main: Any) -> None:
    """Run an async main on the loop ``--loop`` names (asyncio unless ``uvloop``) and exit
    with its status."""
    factory = None
    if "--loop" in sys.argv[:-1] and sys.argv[sys.argv.index("--loop") + 1] == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        sys.exit(runner.run(main()) or 0)


def loop_name() -> str:
    """``uvloop`` or ``asyncio``: the running loop's implementation."""
    loop = asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
