"""Start-up: import time, the ``liveloop capabilities`` command, and connect -> ready.

- ``import``: a fresh interpreter per repetition times ``import <module>`` itself
  (``time.perf_counter`` around the import statement, interpreter start excluded);
  ``python -c pass`` is reported as the interpreter's own start for reference.
- ``cli``: wall time of ``liveloop capabilities`` (the installed console script, every
  workspace plugin installed), interpreter start included, as a user sees it.
- ``connect``: in this process against the emulator: connect -> the first
  ``session.created`` (floor, SDK) and connect -> ready to use (the session configured:
  ``session.updated`` received; liveloop's ``open_session`` returns at that point).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _clients import agents_available, make
from _common import KEY, REPO, Samples, chosen, emit, emulator, header, parser, pin_self, run

IMPORT_SNIPPET = (
    "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)
MODULES = {"floor": "websockets.asyncio.client", "liveloop": "liveloop", "sdk": "openai"}
AGENTS_MODULE = "agents.realtime"


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=REPO)
    return time.perf_counter() - start


def _pairs(command: list[str]) -> list[dict[str, Any]]:
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    return list(json.loads(out.stdout or "[]"))


def _import_time(module: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_SNIPPET.format(module=module)],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _liveloop_cli() -> list[str]:
    script = Path(sys.executable).with_name("liveloop")
    if script.exists():
        return [str(script)]
    found = shutil.which("liveloop")
    if found:
        return [found]
    return [sys.executable, "-c", "from liveloop.cli import main; main()"]


async def main() -> int:
    args = parser(__doc__ or "").parse_args()
    contenders = chosen(args)
    reps = args.reps or (2 if args.quick else 10)
    pin_self()
    skipped: dict[str, str] = {}
    if "agents" in contenders and (why := agents_available()):
        skipped["agents"] = why
        contenders.remove("agents")

    imports = Samples()
    cli = Samples()
    command = [*_liveloop_cli(), "capabilities", "--json"]
    pairs = _pairs(command)
    for _ in range(reps):
        imports.add("python -c pass", _wall([sys.executable, "-c", "pass"]) * 1000)
        for name in contenders:
            module = AGENTS_MODULE if name == "agents" else MODULES[name]
            imports.add(name, _import_time(module) * 1000)
        cli.add("liveloop capabilities", _wall(command) * 1000)

    created, ready = Samples(), Samples()
    first: dict[str, float] = {}
    with emulator(args.emulator_url, speed=1.0) as emu:
        doc: dict[str, Any] = header("startup", args, emu)
        for rep in range(reps + 1):
            for name in contenders:
                if name in ("floor", "sdk"):
                    elapsed = await _to_created(name, emu.realtime_url, emu) * 1000
                    if rep:
                        created.add(name, elapsed)
                client = make(name)
                start = time.perf_counter()
                await client.open(emu)
                elapsed = (time.perf_counter() - start) * 1000
                if rep:
                    ready.add(name, elapsed)
                else:
                    first[name] = round(elapsed, 2)
                await client.close()
    doc["results"] = {
        "import_ms": imports.summaries(2),
        "cli_ms": cli.summaries(2),
        "cli_pairs": [f"{p.get('provider')}/{p.get('transport')}" for p in pairs],
        "connect_to_session_created_ms": created.summaries(2),
        "connect_to_ready_ms": ready.summaries(2),
        "first_connect_to_ready_ms": first,
        "liveloop_import_breakdown_ms": _import_breakdown("liveloop"),
        "modules": {**MODULES, "agents": AGENTS_MODULE},
    }
    doc["skipped"] = skipped
    emit(doc)
    return 0


def _import_breakdown(module: str) -> dict[str, float]:
    """``python -X importtime``: own import time summed by top-level package, top 12
    (importtime's own bookkeeping inflates these; compare them with each other)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    totals: dict[str, float] = {}
    for line in out.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        package = parts[2].strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(parts[0]) / 1000
    top = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)[:12]
    return {name: round(ms, 1) for name, ms in top}


async def _to_created(name: str, url: str, emu: Any) -> float:
    if name == "floor":
        from websockets.asyncio.client import connect

        start = time.perf_counter()
        ws = await connect(url, additional_headers={"Authorization": f"Bearer {KEY}"})
        json.loads(await ws.recv())
        elapsed = time.perf_counter() - start
        await ws.close()
        return elapsed
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=KEY, base_url=emu.base_url, websocket_base_url=emu.ws_base_url)
    start = time.perf_counter()
    conn = await client.realtime.connect(model="gpt-realtime").enter()
    await conn.recv()
    elapsed = time.perf_counter() - start
    await conn.close()
    return elapsed


if __name__ == "__main__":
    run(main)
