"""The event loop liveloop's entry points pick: uvloop where installed, switchable off."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import liveloop
from liveloop import loops


def test_auto_picks_uvloop_when_installed() -> None:
    pytest.importorskip("uvloop")
    assert loops.choice("auto") == "uvloop"


def test_asyncio_setting_turns_uvloop_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(loops.LOOP_ENV, "asyncio")
    assert loops.choice() == "asyncio"
    assert loops.loop_factory() is None

    async def which() -> str:
        return loops.running_loop_name()

    assert liveloop.run(which()) == "asyncio"


def test_run_uses_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    monkeypatch.delenv(loops.LOOP_ENV, raising=False)

    async def which() -> str:
        return loops.running_loop_name()

    assert liveloop.run(which()) == "uvloop"


def test_unknown_setting_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(loops.LOOP_ENV, "trio")

    async def never() -> None:  # pragma: no cover - must not run
        raise AssertionError("ran on an unknown loop")

    with pytest.raises(liveloop.ConfigError, match="LIVELOOP_LOOP='trio' is not a loop"):
        liveloop.run(never())


async def test_this_test_runs_on_the_selected_loop() -> None:
    assert loops.running_loop_name() == os.environ[loops.LOOP_ENV]


def test_cli_names_a_bad_loop_setting_in_one_line() -> None:
    env = {**os.environ, loops.LOOP_ENV: "trio"}
    out = subprocess.run(
        [sys.executable, "-c", "from liveloop.cli import main; main()", "demo", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode != 0
    assert "LIVELOOP_LOOP='trio' is not a loop" in out.stderr
    assert "Traceback" not in out.stderr
