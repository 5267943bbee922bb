"""``liveloop demo`` and ``liveloop console`` as a newcomer runs them: the installed
``liveloop`` script in a subprocess, against the bundled emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from liveloop.demo import CALLER_LINES, GREETING

LIVELOOP = Path(sys.executable).parent / "liveloop"
BOUND = 60.0

ASSISTANT_LINES = [
    GREETING.lower(),
    "booked: a table for 2 at 19:30, booking number 1.",
    "yes, we have a terrace with six tables.",
    "thank you for calling. goodbye!",
]
TOOL_CALL = "book_table(name='Ann', people=2, time='19:30')"
TOOL_RESULT = '-> {"booking": 1, "name": "Ann", "people": 2, "time": "19:30"}'

ECHO_APP = """
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


def liveloop(
    *args: str, stdin: str | None = None, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``liveloop ARGS`` (bounded) with no LIVELOOP_* or provider settings inherited."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LIVELOOP_", "OPENAI_", "GEMINI_", "GOOGLE_"))
        and key != "PYTHONPATH"
    }
    return subprocess.run(
        [str(LIVELOOP), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=cwd,
        env={**clean, **env},
        check=False,
    )


def entries(text: str, role: str) -> list[str]:
    """The texts of one role's lines in the demo's text output (``  1.24s  caller  …``)."""
    found = []
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].endswith("s") and parts[1] == role:
            found.append(parts[2])
    return found


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_the_demo_prints_the_conversation(provider: str) -> None:
    # The same concierge through each provider's real plugins, on the emulator's front
    # end for that provider.
    result = liveloop("demo", *(["--provider", provider] if provider != "openai" else []))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"liveloop demo: {provider}/websocket against the bundled emulator" in out
    callers = entries(out, "caller")
    assert [line.removesuffix("(audio)").strip() for line in callers] == [
        line.lower() for line in CALLER_LINES
    ]
    assistant = [line.split("  (")[0] for line in entries(out, "assistant")]
    assert assistant == ASSISTANT_LINES
    assert entries(out, "tool") == [TOOL_CALL, TOOL_RESULT]
    # Each reply to a caller's turn shows its latency.
    assert sum("after the caller stopped" in line for line in entries(out, "assistant")) == 3
    assert "done: 3 caller turns, 1 tool call(s), 1 booking(s)" in out
    assert "\x1b[" not in out  # no colour codes when the output is not a terminal


def test_the_demo_as_json() -> None:
    result = liveloop("demo", "--json")
    assert result.returncode == 0, result.stderr
    lines: list[dict[str, Any]] = [json.loads(line) for line in result.stdout.splitlines()]
    roles = [line["role"] for line in lines]
    assert roles == [
        *["info", "info", "info"],  # what runs where, connecting, connected
        "assistant",
        *["caller", "tool", "tool", "assistant"],
        *["caller", "assistant"],
        *["caller", "assistant"],
        "info",
    ]
    conversation = [line for line in lines if line["role"] != "info"]
    assert all(isinstance(line["t"], float | int) for line in conversation)
    callers = [line for line in lines if line["role"] == "caller"]
    assert [line["text"] for line in callers] == [line.lower() for line in CALLER_LINES]
    assert {line["channel"] for line in callers} == {"audio"}
    assistant = [line for line in lines if line["role"] == "assistant"]
    assert [line["text"] for line in assistant] == ASSISTANT_LINES
    assert {line["heard_from"] for line in assistant} == {"audio"}
    assert all("latency_ms" in line for line in assistant[1:])
    call, output = (line for line in lines if line["role"] == "tool")
    assert call["text"] == TOOL_CALL
    assert output["text"] == TOOL_RESULT
    assert call["call_id"] == output["call_id"]
    summary = lines[-1]["summary"]
    assert summary["turns"] == len(CALLER_LINES)
    assert summary["tool_calls"] == 1
    assert summary["bookings"] == [{"booking": 1, "name": "Ann", "people": 2, "time": "19:30"}]


def test_a_failing_demo_says_why_in_one_line() -> None:
    result = liveloop("demo", "--transport", "nosuch")
    assert_one_line_error(result, "openai/nosuch", "openai/websocket")


@pytest.mark.parametrize(
    ("provider", "variable"), [("openai", "OPENAI_API_KEY"), ("gemini", "GEMINI_API_KEY")]
)
def test_the_live_demo_needs_a_key(provider: str, variable: str) -> None:
    result = liveloop("demo", "--live", "--provider", provider)
    assert_one_line_error(result, variable)


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "echoapp.py").write_text(textwrap.dedent(ECHO_APP).lstrip())
    return tmp_path


def test_the_console_answers_typed_lines(app_dir: Path) -> None:
    result = liveloop("console", "echoapp:app", stdin="hello there\n", cwd=app_dir)
    assert result.returncode == 0, result.stderr
    assert entries(result.stdout, "caller") == ["hello there  (text)"]
    assert entries(result.stdout, "assistant") == ["you said: hello there"]


def test_the_console_shows_tool_calls(app_dir: Path) -> None:
    script = app_dir / "script.json"
    rule = {"match": "weather", "tool": "lookup_weather", "arguments": {"city": "Paris"}}
    script.write_text(json.dumps([rule]))
    result = liveloop(
        "console",
        "echoapp:app",
        "--session",
        "echo",
        "--script",
        str(script),
        stdin="\nwhat is the weather in paris\n",
        cwd=app_dir,
    )
    assert result.returncode == 0, result.stderr
    assert entries(result.stdout, "caller") == ["what is the weather in paris  (text)"]
    assert entries(result.stdout, "tool") == [
        "lookup_weather(city='Paris')",
        '-> {"city": "Paris", "sky": "sunny"}',
    ]
    # The model's answer after the tool's output is shown before the console exits.
    assert len(entries(result.stdout, "assistant")) == 1


def test_the_console_refuses_what_is_not_an_app(app_dir: Path) -> None:
    result = liveloop("console", "echoapp:lookup_weather", cwd=app_dir)
    assert_one_line_error(result, "echoapp:lookup_weather", "not a liveloop.App")
    result = liveloop("console", "nosuchmodule:app", cwd=app_dir)
    assert_one_line_error(result, "nosuchmodule")
