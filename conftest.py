"""``uv run pytest`` on a fresh clone gets everything the tests need.

``uv run`` installs only the default ``quickstart`` group (so ``uv run liveloop demo`` stays
small). When the test tools are missing and pytest runs under ``uv run``, this installs every
workspace package and dependency group once (``uv sync --inexact``: nothing is removed) and
restarts pytest with the same arguments, so the new packages (and their pytest plugins) load.
It runs on import: pytest imports this conftest before those of ``tests/``, which need them.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from _pytest.capture import CaptureManager

ROOT = Path(__file__).resolve().parent
_MARKERS = ("pytest_asyncio", "pytest_timeout", "openai", "hypothesis", "liveloop_openai_webrtc")
_RESTARTED = "LIVELOOP_TEST_TOOLS_INSTALLED"


def _release_captured_streams() -> None:
    # pytest captures fds 1 and 2 while it imports conftests, and no API reaches its capture
    # manager from here; without this the restarted pytest would write into its temp files.
    for candidate in gc.get_objects():
        if isinstance(candidate, CaptureManager):
            candidate.stop_global_capturing()


def _install_test_tools() -> None:
    missing = [name for name in _MARKERS if importlib.util.find_spec(name) is None]
    uv = os.environ.get("UV")  # set by `uv run`
    if not missing or not uv or os.environ.get(_RESTARTED):
        return
    _release_captured_streams()
    print(
        "liveloop: first test run, installing the test tools (uv sync --all-groups) ...",
        file=sys.stderr,
        flush=True,
    )
    command = [uv, "sync", "--inexact", "--all-packages", "--all-groups", "--quiet"]
    if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:
        sys.exit(f"liveloop: `{' '.join(command[1:])}` failed; run it yourself to see why")
    os.environ[_RESTARTED] = "1"
    script = Path(sys.argv[0])
    if script.name == "pytest" and os.access(script, os.X_OK):
        os.execv(script, sys.argv)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[1:]])


_install_test_tools()
