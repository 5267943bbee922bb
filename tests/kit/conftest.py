"""Fixtures for the kit tests: child pytest runs in a pytester directory.

Child runs go through ``pytester.runpytest_subprocess``, so the child loads liveloop's
``pytest11`` entry point and the installed plugins exactly as a user's project would.
(Test modules enable pytester with ``pytest_plugins = ["pytester"]``.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

CHILD_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
timeout = 60
"""

CHILD_TIMEOUT = 200.0
"""Bound on one child pytest run, in seconds (a hang's bound: a child run takes 30-90 s on
a loaded 2-core machine)."""

RunChild = Callable[..., pytest.RunResult]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """``pytester``'s directory as a user's project: pytest-asyncio in auto mode."""
    pytester.makefile(".ini", pytest=CHILD_INI)
    return pytester


@pytest.fixture
def run_child(project: pytest.Pytester) -> RunChild:
    """Run pytest in a subprocess in the project directory (bounded)."""

    def run(*args: str) -> pytest.RunResult:
        return project.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=CHILD_TIMEOUT)

    return run
