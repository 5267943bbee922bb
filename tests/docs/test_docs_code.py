"""Every code block in the README and docs/ runs, so the docs cannot rot.

- ``python`` blocks of one file run in order in one namespace, with ``OPENAI_API_KEY`` and
  ``OPENAI_BASE_URL`` pointing at a running emulator; a block that defines pytest tests
  (``def test_``) is run by pytest instead, in a subprocess.
- ``toml`` and ``json`` blocks must parse.
- ``bash`` blocks: each ``liveloop``/``uv run liveloop`` command runs and must exit 0,
  except those that serve or wait for a user (``serve``, ``console``, ``emulator``,
  ``--live``); installs, ``git``, ``cd`` and ``pytest`` itself are not run here (the
  suite is the pytest run, and installs are covered by the packaging tests).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liveloop.testing import EmulatorThread

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
BIN = Path(sys.executable).parent
NOT_RUN = (
    "pip ",
    "uv pip",
    "uv sync",
    "uv lock",
    "uv add",
    "git ",
    "cd ",
    "bash ",
    "export ",
    "curl ",
)
LONG_RUNNING = (" serve", " console", " talk", " emulator", "--live", "liveloop-emulator")


def blocks(path: Path) -> list[tuple[str, str, int]]:
    text = path.read_text()
    return [
        (match.group(1), match.group(2), text.count("\n", 0, match.start()) + 1)
        for match in BLOCK.finditer(text)
    ]


@pytest.fixture(scope="module")
def docs_emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread(speed=8.0) as emulator:
        yield emulator


@pytest.fixture
def docs_env(docs_emulator: EmulatorThread, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"OPENAI_API_KEY": "sk-docs-test", "OPENAI_BASE_URL": docs_emulator.base_url}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return {**os.environ, **env, "LIVELOOP_LOG_LEVEL": "WARNING"}


def test_the_readme_shows_the_matrix_as_liveloop_capabilities_prints_it() -> None:
    shown = re.search(r"```text\n(pair .*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert shown is not None, "the README's capability matrix block is missing"
    printed = subprocess.run(
        [str(BIN / "liveloop"), "capabilities"], capture_output=True, text=True, timeout=60
    )
    assert printed.returncode == 0
    assert shown.group(1) == printed.stdout


def test_the_docs_have_code() -> None:
    assert len(DOCS) >= 8
    assert sum(len(blocks(path)) for path in DOCS) >= 20


@pytest.mark.timeout(300)  # a doc with several test blocks runs several child pytests
@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(path: Path, docs_env: dict[str, str], tmp_path: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    pytest_config: str | None = None  # the doc's own pytest configuration, once shown
    for language, code, line in blocks(path):
        where = f"{path.relative_to(ROOT)}:{line}"
        if language == "python" and re.search(r"^\s*(async )?def test_", code, re.MULTILINE):
            _run_as_pytest(code, where, tmp_path, docs_env, pytest_config)
        elif language == "python":
            try:
                exec(compile(code, where, "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"the code block at {where} failed: {exc!r}") from exc
        elif language == "toml":
            tomllib.loads(code)
            if "[tool.pytest.ini_options]" in code:
                pytest_config = code
        elif language == "json":
            json.loads(code)
        elif language in ("bash", "sh", "console"):
            _run_commands(code, where, docs_env)


def _run_as_pytest(
    code: str, where: str, tmp_path: Path, env: dict[str, str], config: str | None
) -> None:
    """Run a block of tests with the doc's pytest configuration (as a reader copies it), or
    with pytest-asyncio in auto mode when the doc shows none; either way without warnings."""
    test_file = tmp_path / f"test_docs_block_{abs(hash(where))}.py"
    test_file.write_text(textwrap.dedent(code))
    options = ["-o", "asyncio_mode=auto"]
    if config is not None:
        (tmp_path / "pyproject.toml").write_text(config)
        options = []
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *options,
            str(test_file),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"the tests at {where} failed:\n{result.stdout}{result.stderr}"
    if config is not None:
        assert "Warning" not in result.stdout, f"the tests at {where} warn:\n{result.stdout}"


def _run_commands(code: str, where: str, env: dict[str, str]) -> None:
    for raw in code.splitlines():
        command = raw.split("  #")[0].split(" # ")[0].strip()
        if not command or command.startswith("#"):
            continue
        if command.startswith("uv run "):
            command = command.removeprefix("uv run ")
        if command.startswith(NOT_RUN) or "pytest" in command:
            continue
        if any(marker in f" {command}" for marker in LONG_RUNNING):
            continue
        argv = shlex.split(command)
        if not (BIN / argv[0]).exists():
            raise AssertionError(f"{where}: {argv[0]!r} is not a command this project installs")
        result = subprocess.run(
            [str(BIN / argv[0]), *argv[1:]], env=env, capture_output=True, text=True, timeout=150
        )
        assert result.returncode == 0, f"{where}: `{command}` failed:\n{result.stderr}"
