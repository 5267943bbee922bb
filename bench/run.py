"""Run every benchmark side by side and write ``bench/RESULTS.md`` with PNG charts.

``uv run python bench/run.py`` runs each benchmark script (each starts its own emulator in
its own process, pinned to the other core) with the limit, the floor, liveloop and the
openai SDK on asyncio; the per-event and concurrency benchmarks again on uvloop (the floor,
liveloop, and for per-event the limit); and the scripts again in an environment with the
pinned ``openai-agents`` (``uv run --with-requirements bench/agents-requirements.txt``). Raw
JSON goes to ``bench/results.json`` (with package versions, the interpreter, the loop, the
bytecode state and the load average around each section); tables to ``RESULTS.md``; charts
to ``*.png``. ``--quick`` runs everything in its tiny mode (for checking the pipeline, not
for numbers). ``--check`` refuses to report on a busy machine: it stops, writing nothing,
when the one-minute load average per core is above ``--max-load`` before a section.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from _common import environment, machine  # noqa: E402

SCRIPTS = (
    "emulator_capacity",
    "event_cost",
    "json_decode",
    "latency",
    "startup",
    "teardown",
    "concurrency",
    "webrtc_concurrency",
    "gemini",
    "phone",
    "store",
    "telemetry",
)
WITH_AGENTS = ("event_cost", "latency", "startup", "teardown", "concurrency")
WITH_UVLOOP = {
    "event_cost": ["--contender", "limit", "--contender", "liveloop"],
    "concurrency": ["--contender", "liveloop"],
}
"""Scripts run a second time on uvloop, with these contenders (the floor always runs)."""
EXTRA = {"event_cost": ["--profile"], "concurrency": ["--server", "light"]}
AGENTS_EXTRA = {"concurrency": ["--steps", "25,50,100,150"]}
AGENTS_REQUIREMENTS = BENCH / "agents-requirements.txt"
MAX_LOAD = 0.35
"""``--check``'s default: the one-minute load average per core above which it refuses."""


def load_per_core() -> float:
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def run_script(name: str, *, quick: bool, variant: str = "") -> dict[str, Any]:
    """Run ``bench/<name>.py``: ``variant`` is "" (workspace, asyncio), "uvloop" or
    "agents" (the pinned openai-agents environment)."""
    script = str(BENCH / f"{name}.py")
    args = [*EXTRA.get(name, []), *(["--quick"] if quick else [])]
    if variant == "agents":
        uv = shutil.which("uv")
        if uv is None:
            return {"benchmark": name, "skipped": "uv is not on PATH"}
        command = [uv, "run", "--quiet", "--with-requirements", str(AGENTS_REQUIREMENTS)]
        command += ["python", script, *args, "--contender", "agents"]
        if not quick:
            command += AGENTS_EXTRA.get(name, [])
    elif variant == "uvloop":
        command = [sys.executable, script, *args, "--loop", "uvloop", *WITH_UVLOOP[name]]
    else:
        command = [sys.executable, script, *args]
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(f"[bench] {' '.join(command[-6:])}", file=sys.stderr, flush=True)
    try:
        out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)
    except subprocess.TimeoutExpired:
        return {"benchmark": name, "failed": "timed out after 900 s", "stderr": ""}
    elapsed = round(time.perf_counter() - started, 1)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-5:])
        return {"benchmark": name, "failed": f"exit {out.returncode}", "stderr": tail}
    doc: dict[str, Any] = json.loads(out.stdout)
    doc["elapsed_s"] = elapsed
    doc["load_avg_section"] = {
        "before": load_before,
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    return doc


class Busy(Exception):
    """The machine is too busy to report (``--check``)."""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny counts (pipeline check)")
    p.add_argument("--out", type=Path, default=BENCH, help="where RESULTS.md and PNGs go")
    p.add_argument("--no-agents", action="store_true", help="skip the openai-agents runs")
    p.add_argument("--no-uvloop", action="store_true", help="skip the uvloop runs")
    p.add_argument("--only", help="comma-separated benchmark names")
    p.add_argument(
        "--check",
        action="store_true",
        help="refuse to report (exit 3, nothing written) when the machine is busy",
    )
    p.add_argument(
        "--max-load",
        type=float,
        default=MAX_LOAD,
        help=f"--check's limit: one-minute load average per core (default {MAX_LOAD})",
    )
    args = p.parse_args()
    names = args.only.split(",") if args.only else list(SCRIPTS)
    started = time.time()
    start_machine = machine()
    runs: dict[str, Any] = {}
    plan: list[tuple[str, str]] = []
    for name in names:
        plan.append((name, ""))
        if name in WITH_UVLOOP and not args.no_uvloop:
            plan.append((name, "uvloop"))
        if name in WITH_AGENTS and not args.no_agents:
            plan.append((name, "agents"))
    try:
        for name, variant in plan:
            if args.check and (load := load_per_core()) > args.max_load:
                raise Busy(
                    f"load average {load:.2f} per core is above {args.max_load} before "
                    f"{name}{'+' + variant if variant else ''}: not reporting"
                )
            key = f"{name}+{variant}" if variant else name
            runs[key] = run_script(name, quick=args.quick, variant=variant)
    except Busy as exc:
        print(f"[bench] {exc}", file=sys.stderr)
        return 3
    data = {
        "command": "uv run python bench/run.py" + "".join(f" {a}" for a in sys.argv[1:]),
        "machine": start_machine,
        "machine_end": machine(),
        "environment": environment(),
        "total_s": round(time.time() - started, 1),
        "checked": {"max_load_per_core": args.max_load} if args.check else None,
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    import report

    report.write(data, args.out)
    print(f"[bench] wrote {args.out / 'RESULTS.md'} in {data['total_s']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
