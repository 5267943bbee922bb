"""Start-up: import time, the ``liveloop capabilities`` command, and connect -> ready.

- ``import``: a fresh interpreter per repetition times ``import <module>`` itself
  (``time.perf_counter`` around the import statement, interpreter start excluded);
  ``python -c pass`` is reported as the interpreter's own start for reference.
- ``cli``: wall time of ``liveloop capabilities`` (the installed console script, every
  workspace plugin installed), interpreter start included, as a user sees it.
- ``connect``: in this process against the emulator: connect -> the first
  ``session.created`` (floor, SDK) and connect -> ready to use (the session configured:
  ``session.updated`` received; liveloop's ``open_session`` returns at that point).
- ``cold``: a fresh process to a ready session (``bench/_cold.py``): interpreter start,
  imports, plugin loading, connect, configure; the bench's own helper modules are timed in
  the child and taken out (asyncio, json and base64 among them, which every contender needs
  anyway, so this is strict to the contenders). ``floor+pydantic`` is a reference beside
  them: the floor's client after importing pydantic and validating one small model, the
  least that any client whose configuration is pydantic models pays.

Before anything is timed, the packages every contender imports are compiled
(``compileall``; with ``PYTHONDONTWRITEBYTECODE=1`` and no ``.pyc`` files an import compiles
from source every time), and the state is recorded in ``bytecode``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _clients import agents_available, make
from _cold import PYDANTIC_FLOOR
from _common import (
    KEY,
    REPO,
    Samples,
    bytecode_state,
    chosen,
    emit,
    emulator,
    header,
    parser,
    pin_self,
    ratio,
    run,
)

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


def compile_bytecode() -> dict[str, Any]:
    """Compile every package directory on ``sys.path`` (up-to-date ``.pyc`` files are left
    alone, so this is quick after the first run); the bytecode state afterwards."""
    import compileall
    import site

    started = time.perf_counter()
    roots = {Path(p) for p in [*site.getsitepackages(), *sys.path] if "site-packages" in p}
    roots |= {REPO / "core", *(REPO / "plugins").glob("*"), REPO / "emulator"}
    ok = all(
        compileall.compile_dir(str(root), quiet=2, workers=0)
        for root in sorted(roots)
        if root.is_dir()
    )
    modules = ["liveloop", "liveloop_openai", "websockets", "pydantic", "openai", "click"]
    if not agents_available():
        modules.append("agents")
    return {
        "compiled_ok": ok,
        "compile_s": round(time.perf_counter() - started, 1),
        **bytecode_state(modules),
    }


def _cold(name: str, url: str) -> tuple[float, float]:
    """(ms from starting a fresh process to its ready session, ms of bench helpers in it)."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "_cold.py"), name, url],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    line = json.loads(out.stdout.strip().splitlines()[-1])
    return (line["ready_at"] - start) * 1000, line["helpers_s"] * 1000


async def main() -> int:
    args = parser(__doc__ or "").parse_args()
    contenders = chosen(args)
    reps = args.reps or (2 if args.quick else 10)
    pin_self()
    bytecode = compile_bytecode()
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
    cold_ms, cold_helpers = Samples(), Samples()
    first: dict[str, float] = {}
    with emulator(args.emulator_url, speed=1.0) as emu:
        doc: dict[str, Any] = header("startup", args, emu)
        cold = [str(REPO / "bench" / "_cold.py"), "liveloop", emu.base_url]
        cold_breakdown = await asyncio.to_thread(
            _by_package, [sys.executable, "-X", "importtime", *cold]
        )
        for _ in range(reps):
            for name in [*contenders, PYDANTIC_FLOOR]:
                total, helpers = await asyncio.to_thread(_cold, name, emu.base_url)
                cold_ms.add(name, total - helpers)
                cold_helpers.add(name, helpers)
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
        "cold_to_ready_ms": cold_ms.summaries(2),
        "cold_helpers_ms": cold_helpers.summaries(2),
        "cold_ratio_vs_floor": {
            name: ratio(s["median"], cold_ms.summaries()["floor"]["median"])
            for name, s in cold_ms.summaries().items()
        },
        "liveloop_import_breakdown_ms": _import_breakdown("liveloop"),
        "cold_breakdown_ms": cold_breakdown,
        "modules": {**MODULES, "agents": AGENTS_MODULE},
    }
    doc["bytecode"] = bytecode
    doc["skipped"] = skipped
    emit(doc)
    return 0


def _import_breakdown(module: str) -> dict[str, float]:
    """``python -X importtime``: own import time summed by top-level package, top 12
    (importtime's own bookkeeping inflates these; compare them with each other)."""
    return _by_package([sys.executable, "-X", "importtime", "-c", f"import {module}"])


def _by_package(command: list[str]) -> dict[str, float]:
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
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
