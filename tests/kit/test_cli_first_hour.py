"""A newcomer's first hour with the ``liveloop`` command, through real subprocesses: every
user error is one line (JSON under ``--json``), Ctrl-C ends a run at once and cleanly, and
the slow WebRTC start says what it is doing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

LIVELOOP = Path(sys.executable).parent / "liveloop"
BOUND = 60.0
INTERRUPT_BOUND = 10.0
"""How long a run may take to end after Ctrl-C (it is the point here: ending promptly)."""

TOOL_APP = """
import liveloop

app = liveloop.App(instructions="Answer briefly.")


def lookup_weather(city: str) -> dict:
    \"\"\"Look up today's weather in a city.\"\"\"
    return {"city": city, "sky": "sunny"}


@app.session("echo", tools=[lookup_weather])
async def echo(session):
    while True:
        await session.input()
"""


def _env(**extra: str) -> dict[str, str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LIVELOOP_", "OPENAI_")) and key != "PYTHONPATH"
    }
    return {**clean, **extra}


def liveloop(
    *args: str, stdin: str = "", cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LIVELOOP), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=cwd,
        env=_env(**env),
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "never retrieved" not in result.stderr
    # Log lines (a configuration warning, say) may come first; the error is one line.
    lines = [line for line in result.stderr.strip().splitlines() if "[warning" not in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield int(listener.getsockname()[1])


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "toolapp.py").write_text(textwrap.dedent(TOOL_APP).lstrip())
    return tmp_path


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_an_impossible_port_is_one_line(port: str) -> None:
    result = liveloop("emulator", "--port", port)
    one_line_error(result, "--port", port, "0<=x<=65535", "liveloop emulator --help")
    assert result.returncode == 2


def test_a_busy_port_is_one_line_for_the_emulator(busy_port: int) -> None:
    result = liveloop("emulator", "--port", str(busy_port))
    one_line_error(result, f"cannot listen on 127.0.0.1:{busy_port}", "in use")


def test_a_busy_port_is_one_line_for_serve(busy_port: int, app_dir: Path) -> None:
    result = liveloop(
        "serve",
        "toolapp:app",
        "--insecure-dev",
        "--emulator",
        "--port",
        str(busy_port),
        cwd=app_dir,
    )
    one_line_error(result, f"cannot listen on 127.0.0.1:{busy_port}", "in use")
    assert "listening" not in result.stderr


async def test_serve_says_listening_once_it_accepts_connections(app_dir: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        str(LIVELOOP),
        *["serve", "toolapp:app", "--insecure-dev", "--emulator", "--port", "0"],
        cwd=app_dir,
        env=_env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        line = ""
        while "liveloop serve listening" not in line:  # after any configuration warnings
            line = (await asyncio.wait_for(proc.stderr.readline(), BOUND)).decode()
            assert line, "serve ended without listening"
        port = int(line.split("url=http://127.0.0.1:")[1].split()[0])
        # Said only after the bind: the port takes connections now, not eventually.
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        await writer.wait_closed()
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), INTERRUPT_BOUND)


def test_the_demo_checks_the_pair_before_starting_anything() -> None:
    result = liveloop("demo", "--transport", "nosuch")
    one_line_error(result, "openai/nosuch is not available", "openai/websocket")
    assert result.stdout == ""  # no emulator was started, nothing announced


def test_the_demo_points_a_sideband_pair_to_serve() -> None:
    result = liveloop("demo", "--transport", "webrtc_sideband")
    one_line_error(result, "openai/webrtc_sideband", "liveloop serve")
    assert result.stdout == ""


def test_the_console_names_a_missing_attribute(app_dir: Path) -> None:
    result = liveloop("console", "toolapp:missing", cwd=app_dir)
    one_line_error(result, "module 'toolapp' has no attribute 'missing'")


def test_an_unknown_plugin_in_liveloop_plugins_is_named() -> None:
    result = liveloop("demo", LIVELOOP_PLUGINS="nonexistent")
    line = one_line_error(result, "LIVELOOP_PLUGINS names 'nonexistent'", "openai_websocket")
    assert "install liveloop-openai" not in line  # not a package hint: the name is the cause
    listed = liveloop("plugins", LIVELOOP_PLUGINS="nonexistent")
    assert "nonexistent" in listed.stdout and "not installed" in listed.stdout


@pytest.mark.parametrize(
    "args",
    [("demo", "--json", "--transport", "nosuch"), ("demo", "--json", "--transport")],
    ids=["liveloop-error", "usage-error"],
)
def test_errors_under_json_are_json(args: tuple[str, ...]) -> None:
    result = liveloop(*args)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert set(json.loads(line)) == {"error"}


def test_emulator_help_looks_like_the_other_commands() -> None:
    emulator, demo = liveloop("emulator", "--help"), liveloop("demo", "--help")
    assert emulator.returncode == demo.returncode == 0
    assert emulator.stdout.startswith("Usage: liveloop emulator [OPTIONS]\n")
    assert demo.stdout.startswith("Usage: liveloop demo [OPTIONS]\n")
    for out in (emulator.stdout, demo.stdout):
        assert "\nOptions:\n" in out
        assert "--help" in out and "Show this message and exit." in out
    assert "[default: 8000; 0<=x<=65535]" in emulator.stdout


def test_the_console_hints_at_a_script_for_a_handler_with_tools(app_dir: Path) -> None:
    result = liveloop("console", "toolapp:app", stdin="hello\n", cwd=app_dir)
    assert result.returncode == 0, result.stderr
    assert "The handler has tools (lookup_weather)" in result.stdout
    assert "--script rules.json" in result.stdout
    script = app_dir / "rules.json"
    script.write_text("[]")
    quiet = liveloop("console", "toolapp:app", "--script", str(script), stdin="hi\n", cwd=app_dir)
    assert quiet.returncode == 0, quiet.stderr
    assert "The handler has tools" not in quiet.stdout


async def _demo_until(line_starts: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    """Start ``liveloop demo --transport webrtc`` and read its output up to a line starting
    with ``line_starts``."""
    proc = await asyncio.create_subprocess_exec(
        str(LIVELOOP),
        *["demo", "--transport", "webrtc"],
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    while not seen or not seen[-1].lstrip().startswith(line_starts):
        line = await asyncio.wait_for(proc.stdout.readline(), BOUND)
        assert line, f"the demo ended before {line_starts!r}: {seen}"
        seen.append(line.decode().rstrip("\n"))
    return proc, seen


async def test_the_webrtc_demo_says_what_it_does_while_it_connects() -> None:
    proc, seen = await _demo_until("connected in")
    proc.send_signal(signal.SIGINT)
    await asyncio.wait_for(proc.communicate(), INTERRUPT_BOUND)
    assert seen[0].startswith("liveloop demo: openai/webrtc against the bundled emulator")
    assert seen[1].startswith("connecting: a WebRTC call (SDP offer and answer, ICE, DTLS")


@pytest.mark.parametrize("moment", ["connecting:", "connected in"])
async def test_the_first_ctrl_c_ends_the_webrtc_demo(moment: str) -> None:
    proc, _ = await _demo_until(moment)
    proc.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(proc.communicate(), INTERRUPT_BOUND)
    assert proc.returncode == 130
    errors = stderr.decode()
    assert "Task was destroyed but it is pending" not in errors
    assert "Traceback" not in errors
