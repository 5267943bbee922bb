"""The README's quick start stays quick: ``uv run liveloop demo`` on a fresh clone installs
what the demo needs (the default dependency group), not the development toolchain; and
liveloop installs from a clone into a project of one's own as getting-started says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MOST_PACKAGES = 29
"""A fresh clone's `uv run liveloop demo` installs fewer than 30 packages (issue 17)."""


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed")
    return found


def _packages(*options: str) -> set[str]:
    """Distribution names that ``uv run`` would install on this platform (from uv.lock)."""
    exported = subprocess.run(
        [_uv(), "export", "--frozen", "--no-hashes", "--no-header", "--no-annotate", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    names = set()
    for line in exported.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "sys_platform == 'win32'" in line:
            continue
        if line.startswith("-e "):
            names.add(Path(line.removeprefix("-e ")).name)
            continue
        names.add(re.split(r"[=<>;\[ ]", line, maxsplit=1)[0].lower())
    return names


def test_the_demo_installs_fewer_than_thirty_packages() -> None:
    demo = _packages()
    assert len(demo) <= MOST_PACKAGES, sorted(demo)
    # ...and what it installs is enough for the demo and for pytest to start.
    assert {"emulator", "openai", "openai_websocket", "pytest"} <= demo
    assert not demo & {"mypy", "ruff", "playwright", "matplotlib", "aiortc", "av"}


def test_the_test_tools_are_one_group_away() -> None:
    everything = _packages("--all-groups", "--all-packages")
    assert {"pytest-asyncio", "pytest-timeout", "openai", "aiortc", "mypy", "ruff"} <= everything


def test_liveloop_installs_from_a_clone_into_a_project(tmp_path: Path) -> None:
    uv = _uv()
    project = tmp_path / "myproject"
    project.mkdir()
    run = {"cwd": project, "capture_output": True, "text": True, "timeout": 240}
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT")}
    init = [uv, "init", "--bare", "--name", "myproject", "--python", sys.executable]
    subprocess.run(init, env=env, check=True, **run)  # type: ignore[call-overload]
    # The command of docs/getting-started.md, with the clone's real path.
    folders = ["", "plugins/openai", "plugins/openai_websocket", "emulator"]
    added = subprocess.run(  # type: ignore[call-overload]
        [uv, "add", "--editable", *(str(ROOT / folder) for folder in folders)], env=env, **run
    )
    assert added.returncode == 0, added.stderr
    listed = subprocess.run(  # type: ignore[call-overload]
        [uv, "run", "--no-sync", "liveloop", "capabilities"], env=env, **run
    )
    assert listed.returncode == 0, listed.stderr
    assert "openai/websocket" in listed.stdout
    doc = (ROOT / "docs" / "getting-started.md").read_text()
    assert "uv add --editable ../liveloop ../liveloop/plugins/openai " in doc
