"""The example third-party plugin (``examples/azure_transport``): its URL shape, the
conformance kit against it, and installing it into a fresh virtual environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import liveloop

pytest_plugins = ["pytester"]

RunChild = Callable[..., pytest.RunResult]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "azure_transport"
PAIR = "openai/azure_websocket"
INSTALL_TIMEOUT = 30.0

REGISTERING_CONFTEST = f"""
import sys

sys.path.insert(0, {str(EXAMPLE)!r})

import liveloop.plugins
from liveloop_azure_openai import plugin


def pytest_configure(config):
    name = liveloop.plugin.register(plugin)
    config.add_cleanup(lambda: liveloop.plugin.unregister(name))
"""


def test_the_url_has_the_azure_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from liveloop_azure_openai import azure_realtime_url

    assert (
        azure_realtime_url("https://res.openai.azure.com/openai/v1/", deployment="rt")
        == "wss://res.openai.azure.com/openai/realtime?api-version=2025-08-28&deployment=rt"
    )
    assert (
        azure_realtime_url("http://127.0.0.1:8000", deployment="my rt", api_version="2024-10-01")
        == "ws://127.0.0.1:8000/openai/realtime?api-version=2024-10-01&deployment=my+rt"
    )
    with pytest.raises(liveloop.ConfigError, match="base_url"):
        azure_realtime_url("ftp://res.openai.azure.com", deployment="rt")


def test_the_conformance_kit_passes_on_the_example(
    project: pytest.Pytester, run_child: RunChild
) -> None:
    project.makeconftest(REGISTERING_CONFTEST)
    result = run_child(f"--liveloop-conformance={PAIR}", "-v")
    result.assert_outcomes(passed=13, skipped=1)  # the sideband test: not a sideband pair


def _env() -> dict[str, str]:
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    return {
        key: value
        for key, value in os.environ.items()
        if key not in drop and not key.startswith("LIVELOOP_")
    }


def _install(uv: str, venv: Path, constraints: Path) -> subprocess.CompletedProcess[str]:
    packages = [ROOT, ROOT / "plugins" / "openai", ROOT / "emulator", EXAMPLE]
    command = [
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        str(venv / "bin" / "python"),
        "--constraint",
        str(constraints),
        *map(str, packages),
        "pytest",
    ]
    env = _env()
    # Offline from uv's cache when it has everything; otherwise PyPI is allowed.
    result = subprocess.run(
        [*command, "--offline"],
        capture_output=True,
        text=True,
        env=env,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=INSTALL_TIMEOUT, check=False
        )
    return result


@pytest.mark.timeout(300)  # an install, then a child pytest run
def test_installed_with_pip_it_is_listed_and_conforms(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    venv = tmp_path / "venv"
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        check=True,
        env=_env(),
        timeout=30,
    )
    # The versions this suite runs with, so the cache can serve them.
    frozen = subprocess.run(
        [uv, "pip", "freeze", "--python", sys.executable],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
        timeout=30,
    ).stdout.splitlines()
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(
        "\n".join(
            line for line in frozen if not line.startswith(("-e", "liveloop")) and " @ " not in line
        )
    )
    installed = _install(uv, venv, constraints)
    if installed.returncode != 0:
        lines = installed.stderr.strip().splitlines() or ["(no output)"]
        pytest.skip(f"cannot install the packages here: {lines[-1]}")
    bin_dir = venv / "bin"

    listed = subprocess.run(
        [str(bin_dir / "liveloop"), "capabilities", "--json"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=30,
        check=True,
    )
    rows = {f"{row['provider']}/{row['transport']}": row for row in json.loads(listed.stdout)}
    assert set(rows) == {PAIR}  # only what this environment installed
    assert rows[PAIR]["plugin"] == "liveloop-azure-openai"
    assert rows[PAIR]["features"]["tools"] is True

    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    kit = subprocess.run(
        [str(bin_dir / "pytest"), "-p", "no:cacheprovider", f"--liveloop-conformance={PAIR}"],
        capture_output=True,
        text=True,
        cwd=project,
        env=_env(),
        timeout=60,
        check=False,
    )
    assert kit.returncode == 0, kit.stdout[-3000:]
    assert "13 passed" in kit.stdout
