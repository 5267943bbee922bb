"""Run every benchmark side by side and write ``bench/RESULTS.md`` with PNG charts.

``uv run python bench/run.py`` runs each benchmark script (each starts its own emulator in
its own process, pinned to the other core) with the floor, liveloop and the openai SDK,
and again in an environment with ``openai-agents`` (``uv run --with openai-agents``) for
the Agents SDK. Raw JSON goes to ``bench/results.json``; tables (medians, spreads,
ratios against the floor of the same run) to ``RESULTS.md``; charts to ``*.png``.
``--quick`` runs everything in its tiny mode (for checking the pipeline, not for numbers).
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

from _common import machine  # noqa: E402

SCRIPTS = (
    "emulator_capacity",
    "event_cost",
    "latency",
    "startup",
    "teardown",
    "concurrency",
    "webrtc_concurrency",
)
WITH_AGENTS = ("event_cost", "latency", "startup", "teardown", "concurrency")
EXTRA = {"event_cost": ["--profile"]}
AGENTS_EXTRA = {"concurrency": ["--steps", "25,50,100,150"]}


def run_script(name: str, *, quick: bool, agents: bool) -> dict[str, Any]:
    script = str(BENCH / f"{name}.py")
    args = [*EXTRA.get(name, []), *(["--quick"] if quick else [])]
    if agents:
        uv = shutil.which("uv")
        if uv is None:
            return {"benchmark": name, "skipped": "uv is not on PATH"}
        command = [uv, "run", "--quiet", "--with", "openai-agents", "python", script]
        command += [*args, "--contender", "agents"]
        if not quick:
            command += AGENTS_EXTRA.get(name, [])
    else:
        command = [sys.executable, script, *args]
    started = time.perf_counter()
    print(f"[bench] {' '.join(command[-6:])}", file=sys.stderr, flush=True)
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=1200)
    elapsed = round(time.perf_counter() - started, 1)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-5:])
        return {"benchmark": name, "failed": f"exit {out.returncode}", "stderr": tail}
    doc: dict[str, Any] = json.loads(out.stdout)
    doc["elapsed_s"] = elapsed
    return doc


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny counts (pipeline check)")
    p.add_argument("--out", type=Path, default=BENCH, help="where RESULTS.md and PNGs go")
    p.add_argument("--no-agents", action="store_true", help="skip the openai-agents runs")
    p.add_argument("--only", help="comma-separated benchmark names")
    p.add_argument(
        "--merge", action="store_true", help="keep the other runs of an existing results.json"
    )
    args = p.parse_args()
    names = args.only.split(",") if args.only else list(SCRIPTS)
    started = time.time()
    runs: dict[str, Any] = {}
    previous = args.out / "results.json"
    if args.merge and previous.exists():
        runs.update(json.loads(previous.read_text())["runs"])
    for name in names:
        runs[name] = run_script(name, quick=args.quick, agents=False)
        if name in WITH_AGENTS and not args.no_agents:
            runs[f"{name}+agents"] = run_script(name, quick=args.quick, agents=True)
    data = {
        "command": "uv run python bench/run.py" + "".join(f" {a}" for a in sys.argv[1:]),
        "machine": machine(),
        "total_s": round(time.time() - started, 1),
        "merged": bool(args.merge),
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
