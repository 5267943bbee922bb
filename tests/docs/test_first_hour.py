"""The docs a newcomer reads in the first hour say what the code does (issue 17)."""

from __future__ import annotations

import re
from pathlib import Path

from liveloop.testing import emulator as emulator_thread
from liveloop.testing import observe, plugin

ROOT = Path(__file__).resolve().parents[2]


def _row(doc: str, label: str) -> str:
    found = re.search(rf"^\| {re.escape(label)} \| ([^|]+) \|", doc, re.MULTILINE)
    assert found is not None, f"docs/testing.md has no row {label!r}"
    return found.group(1).strip()


def test_testing_md_states_the_fixture_speed_and_time_limits() -> None:
    doc = (ROOT / "docs" / "testing.md").read_text()
    assert _row(doc, "the fixture emulator's audio pacing").startswith(f"{plugin.DEFAULT_SPEED} ")
    assert _row(doc, "a `Heard` or `ToolLog` wait") == f"{observe.DEFAULT_TIMEOUT} s"
    assert _row(doc, "the fixture emulator's start") == f"{emulator_thread.START_TIMEOUT} s"
    assert _row(doc, "the fixture emulator's stop") == f"{emulator_thread.STOP_TIMEOUT} s"


def test_emulator_md_describes_the_public_fixtures_not_the_repos_own() -> None:
    section = (ROOT / "docs" / "emulator.md").read_text().split("## Testing with it", 1)[1]
    assert "liveloop_emulator" in section and "liveloop_options" in section
    assert "tests/conftest.py" not in section and "make_emulator" not in section


def test_the_readme_names_a_key_for_the_emulator_and_a_quick_subset() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "OPENAI_API_KEY=sk-anything" in readme
    quick = re.search(r"uv run pytest ((?:tests/[^\s`]+ ?)+)", readme)
    assert quick is not None, "the README gives no quick subset of the suite"
    for path in quick.group(1).split():
        assert (ROOT / path.split("::")[0]).exists(), path


def test_getting_started_covers_the_console_and_installing_from_a_clone() -> None:
    doc = (ROOT / "docs" / "getting-started.md").read_text()
    assert "liveloop console" in doc and "--script" in doc
    assert "uv add --editable" in doc


def test_handlers_md_shows_session_update() -> None:
    assert "await session.update(" in (ROOT / "docs" / "handlers.md").read_text()
