"""Run each client recipe of ``docs/emulator.md`` in its own fresh uv environment.

    uv run python examples/peers/run.py            # every recipe
    uv run python examples/peers/run.py openai_sdk # one

Each recipe gets an isolated environment with the client library and the emulator (from this
checkout), and nothing else of the workspace, the way a user of that client would have it.
Kept out of the test suite: it installs packages, and runs for a minute or two.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RECIPES: dict[str, list[str]] = {
    "openai_sdk": ["openai[realtime]>=2.8"],
    "openai_agents": ["openai-agents>=0.3"],
    "pipecat_realtime": ["pipecat-ai[openai]>=1.14,<2"],
    "livekit_realtime": ["livekit-agents>=1.8.9,<2", "livekit-plugins-openai>=1.8.9,<2"],
}
"""Recipe (a script beside this file) -> the packages its client needs."""
TIMEOUT_S = 600


def run(name: str, uv: str) -> tuple[bool, float, str]:
    command = [uv, "run", "--isolated", "--no-project", "--quiet"]
    command += ["--with-editable", str(ROOT / "emulator")]
    for package in RECIPES[name]:
        command += ["--with", package]
    command += ["python", str(HERE / f"{name}.py")]
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT")}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return False, time.monotonic() - started, f"timed out after {TIMEOUT_S} s"
    # What the recipe printed when it passed; why it failed (its traceback's last line) if not.
    output = (done.stdout if done.returncode == 0 else done.stderr or done.stdout).strip()
    return (
        done.returncode == 0,
        time.monotonic() - started,
        output.splitlines()[-1] if output else "",
    )


def main(argv: list[str]) -> int:
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        print("examples/peers/run.py needs uv: pip install uv", file=sys.stderr)
        return 2
    names = argv or list(RECIPES)
    unknown = [name for name in names if name not in RECIPES]
    if unknown:
        print(f"no recipe {unknown[0]!r} (recipes: {', '.join(RECIPES)})", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        ok, seconds, last = run(name, uv)
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name:<16} {seconds:6.1f} s  {last}", flush=True)
    print(f"{len(names) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
