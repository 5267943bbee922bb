"""The examples/ handlers run as their docstrings say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIVELOOP = Path(sys.executable).parent / "liveloop"


def test_the_concierge_example_books_a_table_on_the_emulator() -> None:
    result = subprocess.run(
        [
            str(LIVELOOP),
            "console",
            "examples.concierge:app",
            "--script",
            "examples/concierge_script.json",
        ],
        input="hello there\ncan I book a table for two\ngoodbye\n",
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "hi, this is the front desk. how can i help?" in out
    assert "book_table(name='Ann', people=2, time='19:30')" in out
    assert "booked: a table for 2 at 19:30, booking number 1." in out
    assert "thank you for calling. goodbye!" in out


def test_the_concierge_example_against_openai_needs_a_key() -> None:
    env = {key: value for key, value in os.environ.items() if key != "OPENAI_API_KEY"}
    result = subprocess.run(
        [sys.executable, "examples/concierge.py"],
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1
    assert "OPENAI_API_KEY" in result.stderr and "Traceback" not in result.stderr
