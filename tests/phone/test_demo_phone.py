"""``liveloop demo --phone twilio`` as a newcomer runs it: the installed script, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from liveloop.demo import CALLER_LINES, GREETING

LIVELOOP = Path(sys.executable).parent / "liveloop"


@pytest.mark.parametrize("path", ["twilio", "sip"])
def test_the_phone_demo_takes_the_call(path: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LIVELOOP_", "OPENAI_"))}
    result = subprocess.run(
        [str(LIVELOOP), "demo", "--phone", path, "--json"],
        capture_output=True,
        text=True,
        timeout=90,
        env=clean,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    callers = [line["text"] for line in lines if line["role"] == "caller"]
    assert callers == [line.lower() for line in CALLER_LINES]
    heard = [line["text"] for line in lines if line["role"] == "assistant"]
    assert heard == [
        GREETING.lower(),
        "booked: a table for 2 at 19:30, booking number 1.",
        "yes, we have a terrace with six tables.",
        "thank you for calling. goodbye!",
    ]
    assert [line["text"] for line in lines if line["role"] == "tool"] == [
        "book_table -> {'booking': 1, 'name': 'Ann', 'people': 2, 'time': '19:30'}"
    ]
    assert "the handler hung up" in lines[-1]["text"]
    assert lines[0]["text"].startswith(f"liveloop demo --phone {path}")


def test_the_phone_demo_refuses_live() -> None:
    result = subprocess.run(
        [str(LIVELOOP), "demo", "--phone", "twilio", "--live"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: --phone runs offline against the simulators; drop --live"
    ]
