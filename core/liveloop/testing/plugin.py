"""liveloop's pytest plugin (entry point ``pytest11``): offline fixtures for handler tests
and the ``--liveloop-conformance`` option that runs the transport conformance kit.

Fixtures:

- ``liveloop_emulator``: the bundled emulator, running for this test on a background
  thread (:class:`~liveloop.testing.EmulatorThread`). Options come from the
  ``liveloop_emulator_options`` fixture (override it) and the
  ``@pytest.mark.liveloop_emulator(**options)`` marker, e.g. ``script=[Rule(...)]``.
- ``liveloop_options``: keyword arguments that point ``liveloop.connect``,
  ``App.start`` or ``App.run`` at that emulator (``provider``, ``api_key``,
  ``base_url``), as the provider plugin declares them (its spec's ``emulator``).
- ``liveloop_provider``: the provider ``liveloop_options`` is for; ``None`` (the
  default) is the provider a session naming none gets. Override it to test another.

The conformance kit's target comes from the ``pytest_liveloop_conformance_target`` hook
(:mod:`liveloop.testing.hooks`) when a project implements it, else from the provider
plugin's spec (:func:`conformance_target`).

Nothing here imports the emulator until a fixture is used, so the plugin costs nothing
in projects that never use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from ._emulator import emulator_module
from .emulator import EmulatorThread

if TYPE_CHECKING:
    from ..matrix import Capability
    from .target import ConformanceTarget

DEFAULT_SPEED = 4.0
"""Emulator audio pacing for tests: four times real time."""

_CONFORMANCE_SUITE = Path(__file__).with_name("conformance.py")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("liveloop")
    group.addoption(
        "--liveloop-conformance",
        action="store",
        metavar="PROVIDER/TRANSPORT",
        default=None,
        help="run liveloop's transport conformance kit against this installed pair "
        "(instead of the collected tests)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "liveloop_emulator(**options): options for this test's liveloop_emulator fixture",
    )
    if config.getoption("liveloop_conformance"):
        # The kit replaces the test selection: one command proves a transport.
        config.args[:] = [str(_CONFORMANCE_SUITE)]


def pytest_sessionstart(session: pytest.Session) -> None:
    # After every pytest_configure (a conftest may register the plugin under test there),
    # before collection: an unknown pair is one usage error, not an error per test.
    pair = session.config.getoption("liveloop_conformance")
    if pair:
        check_conformance_pair(str(pair))


def check_conformance_pair(pair: str) -> None:
    """Raise :class:`pytest.UsageError` unless ``pair`` is an installed PROVIDER/TRANSPORT."""
    from ..errors import LiveloopError
    from ..matrix import resolve

    provider, _, transport = pair.partition("/")
    if not provider or not transport:
        raise pytest.UsageError(f"--liveloop-conformance takes PROVIDER/TRANSPORT, not {pair!r}")
    try:
        resolve(provider, transport)
    except LiveloopError as exc:
        raise pytest.UsageError(f"--liveloop-conformance={pair}: {exc}") from None


def kit_script() -> list[Any]:
    """The emulator's script for the conformance kit: the model calls ``lookup_weather``
    with ``{"city": "Paris"}`` when the user mentions the weather."""
    rule = emulator_module().Rule
    return [rule(match="weather", tool="lookup_weather", arguments={"city": "Paris"})]


def conformance_target(config: pytest.Config, capability: Capability) -> ConformanceTarget:
    """The conformance kit's target for ``capability``'s pair: what a
    ``pytest_liveloop_conformance_target`` implementation returns, else the bundled
    emulator reached the way the pair's provider plugin declares."""
    chosen = config.hook.pytest_liveloop_conformance_target(config=config, capability=capability)
    if chosen is not None:
        return cast("ConformanceTarget", chosen)
    from ..errors import LiveloopError
    from .target import EmulatorTarget, emulated_provider

    try:
        _, emulated = emulated_provider(capability.provider)
    except LiveloopError as exc:
        raise pytest.UsageError(
            f"--liveloop-conformance: {exc}; implement pytest_liveloop_conformance_target "
            "in your conftest.py to give the kit a target"
        ) from None
    return EmulatorTarget(emulated, speed=DEFAULT_SPEED, script=kit_script())


@pytest.fixture
def liveloop_emulator_options() -> dict[str, Any]:
    """Options for ``liveloop_emulator`` (override this fixture to change them)."""
    return {"speed": DEFAULT_SPEED}


@pytest.fixture
def liveloop_emulator(
    request: pytest.FixtureRequest, liveloop_emulator_options: dict[str, Any]
) -> Iterator[EmulatorThread]:
    """A running emulator for this test; stopped (with its sessions) afterwards."""
    options = dict(liveloop_emulator_options)
    marker = request.node.get_closest_marker("liveloop_emulator")
    if marker is not None:
        options.update(marker.kwargs)
    with EmulatorThread(**options) as emulator:
        yield emulator


@pytest.fixture
def liveloop_provider() -> str | None:
    """The provider of ``liveloop_options`` (``None``: the default provider)."""
    return None


@pytest.fixture
def liveloop_options(
    liveloop_emulator: EmulatorThread, liveloop_provider: str | None
) -> dict[str, Any]:
    """``provider``, ``api_key`` and ``base_url`` for the test's emulator:
    ``connect(**liveloop_options)``.

    The key is the provider plugin's test key, or the first of the emulator's
    ``api_keys`` option when that restricts the keys it accepts.
    """
    from .target import emulated_provider

    _, emulated = emulated_provider(liveloop_provider)
    options = emulated.options(liveloop_emulator.emulator)
    keys = list(liveloop_emulator.options.get("api_keys") or ())
    if keys:
        options["api_key"] = keys[0]
    return options
