"""What OpenTelemetry spans and metrics cost a session, side by side with telemetry off.

liveloop records spans and metrics only when ``opentelemetry`` has been imported in the
process (an application that configures the SDK has). So each arm runs in its own
subprocess, the same conversation against the same emulator:

- ``off``: nothing imports ``opentelemetry`` (checked at the end of the run);
- ``on``: a ``TracerProvider`` with a ``BatchSpanProcessor`` and a ``MeterProvider`` with a
  ``PeriodicExportingMetricReader`` (every second), both exporting to exporters that count
  and discard, so the SDK's work is measured and no exporter's I/O is.

Each run opens ``--sessions`` sessions at once against the bundled emulator (its own
process, real sockets, ``--speed`` times real time); each session has a typed turn that
calls a tool (a ``Rule``), a second typed turn, a spoken turn in tone speech
(``liveloop.testing.speak``) and a ``say()``. A warm-up session runs first and is not
counted (lazy imports and validator builds). The figure is the worker's process CPU time
(all threads, the SDK's export threads included) per session-second, from before the
sessions open until the SDK has flushed. The arms alternate (``off, on``, then ``on, off``,
…) so both see the same machine state; the report has each arm's median and the median
ratio on/off against the 1.10 target (issue 15).

    uv run python bench/telemetry.py [--trials N] [--sessions N] [--speed X] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, bytecode_state, cores, emit, header, pin_self, summary

TARGET = 1.10
KEY = "sk-bench-telemetry-0123456789"
BYTECODE_MODULES = ("liveloop", "liveloop_emulator", "opentelemetry")
SCRIPT = [{"match": "weather", "tool": "lookup_weather", "arguments": {"city": "Paris"}}]


# -- a worker: one arm, one run -------------------------------------------------------------


def lookup_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    return {"city": city, "sky": "sunny"}


def _configure_sdk() -> tuple[Any, Any, dict[str, int]]:
    """Global tracer and meter providers exporting to counting, discarding exporters."""
    from collections.abc import Sequence

    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        MetricsData,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    counts = {"spans": 0, "metric_exports": 0}

    class DiscardSpans(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            counts["spans"] += len(spans)
            return SpanExportResult.SUCCESS

    class DiscardMetrics(MetricExporter):
        def export(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
        ) -> MetricExportResult:
            counts["metric_exports"] += 1
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            pass

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DiscardSpans()))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(DiscardMetrics(), export_interval_millis=1000)
    meter_provider = MeterProvider(metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider, counts


async def _conversation(url: str, speed: float) -> float:
    """One session's conversation; its wall-clock seconds."""
    import liveloop
    from liveloop.events import ResponseDone
    from liveloop.testing import speak

    started = time.perf_counter()
    async with liveloop.connect(api_key=KEY, base_url=url, tools=[lookup_weather]) as session:
        done = 0
        changed = asyncio.Event()

        async def count_responses() -> None:
            nonlocal done
            async for event in session.events():
                if isinstance(event, ResponseDone):
                    done += 1
                    changed.set()

        async def play() -> None:
            async for _ in session.audio_out():
                pass

        async def until(responses: int) -> None:
            while done < responses:
                changed.clear()
                await asyncio.wait_for(changed.wait(), 60)

        watchers = [asyncio.create_task(count_responses()), asyncio.create_task(play())]
        try:
            await asyncio.sleep(0)  # the watchers subscribe before anything is sent
            await session.send_text("what is the weather")
            await asyncio.wait_for(session.input(), 30)
            await until(2)  # the tool call's response and its follow-up
            await session.send_text("tell me something nice")
            await asyncio.wait_for(session.input(), 30)
            await until(3)
            await speak(session, "hello there", pace=speed)
            await asyncio.wait_for(session.input(), 30)
            await until(4)
            await session.say("thank you for calling goodbye").wait(60)
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
    return time.perf_counter() - started


async def _worker(arm: str, url: str, sessions: int, speed: float) -> dict[str, Any]:
    pin_self()
    providers = _configure_sdk() if arm == "on" else None
    import liveloop

    liveloop.configure_logging("ERROR", stream=sys.stderr)
    await _conversation(url, speed)  # warm-up, not counted
    if providers is not None:
        providers[0].force_flush()
        providers[1].force_flush()
    cpu_start = time.process_time()
    durations = await asyncio.gather(*(_conversation(url, speed) for _ in range(sessions)))
    if providers is not None:
        providers[0].force_flush()
        providers[1].force_flush()
    cpu = time.process_time() - cpu_start
    result: dict[str, Any] = {
        "arm": arm,
        "sessions": sessions,
        "cpu_s": round(cpu, 4),
        "session_seconds": round(sum(durations), 3),
        "cpu_ms_per_session_second": round(cpu * 1000 / sum(durations), 4),
        "cpu_ms_per_session": round(cpu * 1000 / sessions, 3),
        "opentelemetry_imported": "opentelemetry" in sys.modules,
    }
    if providers is not None:
        # What the SDK exported over the whole worker (the warm-up session included).
        result.update(providers[2])
        providers[0].shutdown()
        providers[1].shutdown()
    return result


# -- the driver -----------------------------------------------------------------------------


def _compile(quick: bool) -> dict[str, Any]:
    """Compile the workspace packages and site-packages (up-to-date ``.pyc`` are skipped;
    ``quick`` only records the state: the first compile of a fresh environment is long)."""
    import compileall
    import site

    if quick:
        return {"compiled_ok": None, **bytecode_state(BYTECODE_MODULES)}

    roots = {Path(p) for p in site.getsitepackages() if Path(p).is_dir()}
    roots |= {REPO / "core", REPO / "emulator", *(REPO / "plugins").glob("*")}
    ok = all(compileall.compile_dir(str(r), quiet=2, workers=0) for r in sorted(roots))
    return {"compiled_ok": ok, **bytecode_state(BYTECODE_MODULES)}


def _start_emulator(speed: float, folder: str) -> tuple[subprocess.Popen[str], str, int | None]:
    script = Path(folder) / "script.json"
    script.write_text(json.dumps(SCRIPT))
    command = [sys.executable, "-m", "liveloop_emulator.cli", "--port", "0"]
    command += ["--speed", repr(speed), "--script", str(script)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("http"):
        process.kill()
        raise SystemExit(f"the emulator did not start (printed {line!r})")
    core = cores()[1]
    if core is not None:
        try:
            os.sched_setaffinity(process.pid, {core})
        except OSError:
            core = None
    return process, line, core


def _run_arm(arm: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", arm, "--url", url]
    command += ["--sessions", str(args.sessions), "--speed", repr(args.speed)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"the {arm!r} worker failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    if result["opentelemetry_imported"] != (arm == "on"):
        raise SystemExit(f"the {arm!r} worker's opentelemetry import state is wrong: {result}")
    if arm == "on" and not result["spans"]:
        raise SystemExit("the 'on' worker exported no spans: telemetry was not recording")
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    bytecode = _compile(args.quick)
    doc = header("telemetry", args, None)
    doc["bytecode"] = bytecode
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as folder:
        emulator, url, core = _start_emulator(args.speed, folder)
        try:
            doc["emulator"] = {"base_url": url, "own_process": True, "pinned_core": core}
            doc["emulator"]["speed"] = args.speed
            for trial in range(args.trials):
                for arm in ("off", "on") if trial % 2 == 0 else ("on", "off"):
                    runs.append({"trial": trial, **_run_arm(arm, url, args)})
        finally:
            emulator.terminate()
            emulator.wait(10)
    per_arm = {
        arm: [r["cpu_ms_per_session_second"] for r in runs if r["arm"] == arm]
        for arm in ("off", "on")
    }
    per_session = {
        arm: [r["cpu_ms_per_session"] for r in runs if r["arm"] == arm] for arm in ("off", "on")
    }
    ratios = [on / off for off, on in zip(per_arm["off"], per_arm["on"], strict=True)]
    ratio = statistics.median(ratios)
    doc.update(
        {
            "what": "process CPU per session-second, OpenTelemetry SDK configured vs not",
            "sessions_per_run": args.sessions,
            "trials": args.trials,
            "results": {
                "cpu_ms_per_session_second": {a: summary(v) for a, v in per_arm.items()},
                "ratio_on_off": {
                    "median": round(ratio, 3),
                    "per_trial": [round(r, 3) for r in ratios],
                    "of_medians": round(
                        statistics.median(per_arm["on"]) / statistics.median(per_arm["off"]), 3
                    ),
                },
                "cpu_ms_per_session": {a: summary(v) for a, v in per_session.items()},
                "target": TARGET,
                "verdict": "pass" if ratio <= TARGET else "fail",
            },
            "runs": runs,
        }
    )
    return doc


def _arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one trial of one session, fast audio")
    p.add_argument("--trials", type=int, help="off/on pairs (default 5, quick 1)")
    p.add_argument("--sessions", type=int, help="sessions at once per run (default 4, quick 1)")
    p.add_argument("--speed", type=float, help="emulator audio pace (default 1.0, quick 8.0)")
    p.add_argument("--worker", choices=("off", "on"), help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    quick = args.quick
    args.trials = args.trials or (1 if quick else 5)
    args.sessions = args.sessions or (1 if quick else 4)
    args.speed = args.speed or (8.0 if quick else 1.0)
    return args


if __name__ == "__main__":
    arguments = _arguments()
    if arguments.worker:
        report = asyncio.run(
            _worker(arguments.worker, arguments.url, arguments.sessions, arguments.speed)
        )
        print(json.dumps(report))
    else:
        emit(asyncio.run(main(arguments)))
