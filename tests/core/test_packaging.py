"""The core stays light: importing it pulls in no transport, media or provider code, and
``pip install .`` of the root alone gives a working ``liveloop`` with an empty matrix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import liveloop

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAVY = [
    "websockets",
    "aiortc",
    "av",
    "httpx",
    "starlette",
    "uvicorn",
    "numpy",
    "openai",
    "liveloop_openai",
    "liveloop_openai_websocket",
    "liveloop_openai_webrtc",
    "liveloop_emulator",
]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVELOOP_")}
    env.pop("PYTHONPATH", None)
    return env


def test_import_liveloop_pulls_in_nothing_heavy() -> None:
    code = (
        "import json, sys\n"
        "import liveloop, liveloop.cli, liveloop.matrix, liveloop.plugins\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert json.loads(result.stdout) == []


def test_the_workspace_installs_the_core_from_the_root() -> None:
    # The test really runs against the package under core/, not some other install.
    assert Path(liveloop.__file__).resolve().is_relative_to(REPO_ROOT / "core")


def test_pip_install_of_the_root_gives_an_empty_matrix(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv is on PATH in development and in CI"
    venv = tmp_path / "venv"
    env = _clean_env()
    env.pop("VIRTUAL_ENV", None)

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(arg) for arg in args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )

    run(uv, "venv", "--quiet", "--python", sys.executable, venv)
    run(uv, "pip", "install", "--quiet", "--python", venv / "bin" / "python", REPO_ROOT)
    script = venv / "bin" / "liveloop"

    capabilities = run(script, "capabilities", "--json")
    version = run(script, "--version")
    installed = run(
        venv / "bin" / "python",
        "-c",
        "import importlib.metadata as m, json\n"
        "print(json.dumps([d.metadata['Name'] for d in m.distributions()]))",
    )

    assert json.loads(capabilities.stdout) == []
    assert version.stdout.strip() == f"liveloop, version {liveloop.__version__}"
    names = set(json.loads(installed.stdout))
    assert "liveloop" in names
    assert not {"liveloop-openai", "liveloop-openai-websocket", "liveloop-emulator"} & names
    assert not {"websockets", "aiortc", "av", "httpx", "starlette", "uvicorn"} & names
