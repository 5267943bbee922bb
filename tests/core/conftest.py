"""Fixtures for the core tests: isolated plugin managers, fake plugins, throwaway dists.

Every fake plugin is registered inside a fixture and unregistered in ``finally``; the
process-wide plugin manager is only ever swapped for a fresh one (``global_manager``),
so no test leaks plugins into another.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import click
import pytest
import structlog

import liveloop
import liveloop.plugins
from liveloop.actions import Action
from liveloop.events import Event
from liveloop.plugin import PluginManager

LIVELOOP_SCRIPT = Path(sys.executable).parent / "liveloop"

FULL_FEATURES = liveloop.plugin.Features(
    audio_in=True,
    audio_out=True,
    text=True,
    server_vad=True,
    semantic_vad=True,
    interruption="client_truncates",
    tools=True,
    verbatim_say=True,
    media="events",
    audio_formats=("pcm16",),
)


class NullCodec:
    """A codec that understands nothing: enough to register a provider."""

    def __init__(self, config: liveloop.SessionConfig) -> None:
        self.config = config

    def decode(self, message: str | bytes) -> list[Event]:
        return []

    def encode(self, action: Action) -> list[str]:
        return []


class NullConnector:
    """A connector that never connects: enough to register a transport."""

    async def open(self, config: liveloop.SessionConfig) -> liveloop.plugin.Connection:
        raise liveloop.ConnectionLost("the null connector never connects")


# -- spec builders -----------------------------------------------------------------------


class ProviderFactory(Protocol):
    def __call__(
        self, name: str = ..., features: liveloop.plugin.Features = ...
    ) -> liveloop.plugin.ProviderSpec: ...


class TransportFactory(Protocol):
    def __call__(
        self, provider: str = ..., transport: str = ..., features: liveloop.plugin.Features = ...
    ) -> liveloop.plugin.TransportSpec: ...


@pytest.fixture
def provider_spec() -> ProviderFactory:
    """Build a ProviderSpec with a null codec."""

    def build(
        name: str = "fakeprov", features: liveloop.plugin.Features = FULL_FEATURES
    ) -> liveloop.plugin.ProviderSpec:
        return liveloop.plugin.ProviderSpec(name=name, codec=NullCodec, features=features)

    return build


@pytest.fixture
def transport_spec() -> TransportFactory:
    """Build a TransportSpec with a null connector."""

    def build(
        provider: str = "fakeprov",
        transport: str = "faketrans",
        features: liveloop.plugin.Features = FULL_FEATURES,
    ) -> liveloop.plugin.TransportSpec:
        return liveloop.plugin.TransportSpec(
            provider=provider, transport=transport, connector=NullConnector(), features=features
        )

    return build


# -- plugin managers ---------------------------------------------------------------------


@pytest.fixture
def manager(monkeypatch: pytest.MonkeyPatch) -> PluginManager:
    """A fresh plugin manager that loads no entry points (``LIVELOOP_PLUGINS=""``)."""
    monkeypatch.setenv("LIVELOOP_PLUGINS", "")
    fresh = PluginManager()
    fresh.load_entry_points()
    return fresh


@pytest.fixture
def global_manager(manager: PluginManager, monkeypatch: pytest.MonkeyPatch) -> PluginManager:
    """Make ``manager`` the process-wide one (``liveloop.plugin.register``, the CLI) for a test."""
    monkeypatch.setattr(liveloop.plugins, "_manager", manager)
    return manager


# -- fake plugins ------------------------------------------------------------------------


class FakePluginFactory(Protocol):
    def __call__(
        self,
        name: str,
        *,
        distribution: str | None = None,
        version: str = "0.1.0",
        providers: Sequence[object] = (),
        transports: Sequence[object] = (),
        commands: Sequence[click.Command] = (),
        into: PluginManager | None = None,
    ) -> types.ModuleType: ...


def build_plugin_module(
    distribution: str,
    version: str,
    providers: Sequence[object] = (),
    transports: Sequence[object] = (),
    commands: Sequence[click.Command] = (),
) -> types.ModuleType:
    """A module object implementing the hooks for the given specs and commands.

    It looks like an imported module (``__file__``), so its distribution is taken from
    its ``__name__`` and its version from ``__version__``.
    """
    module = types.ModuleType(distribution)
    module.__file__ = f"/nonexistent/{distribution}.py"
    module.__dict__["__version__"] = version
    if providers:

        @liveloop.plugin.hookimpl
        def register_providers(register: Callable[[Any], None]) -> None:
            for spec in providers:
                register(spec)

        module.__dict__["register_providers"] = register_providers
    if transports:

        @liveloop.plugin.hookimpl
        def register_transports(register: Callable[[Any], None]) -> None:
            for spec in transports:
                register(spec)

        module.__dict__["register_transports"] = register_transports
    if commands:

        @liveloop.plugin.hookimpl
        def register_commands(cli: click.Group) -> None:
            for command in commands:
                cli.add_command(command)

        module.__dict__["register_commands"] = register_commands
    return module


@pytest.fixture
def fake_plugin(manager: PluginManager) -> Iterator[FakePluginFactory]:
    """Register fake plugins (into ``manager`` unless told otherwise); unregister after."""
    registered: list[tuple[PluginManager, str]] = []

    def make(
        name: str,
        *,
        distribution: str | None = None,
        version: str = "0.1.0",
        providers: Sequence[object] = (),
        transports: Sequence[object] = (),
        commands: Sequence[click.Command] = (),
        into: PluginManager | None = None,
    ) -> types.ModuleType:
        target = into if into is not None else manager
        module = build_plugin_module(distribution or name, version, providers, transports, commands)
        registered.append((target, target.register(module, name)))
        return module

    try:
        yield make
    finally:
        for target, name in reversed(registered):
            target.unregister(name)


# -- throwaway distributions -------------------------------------------------------------


class DistFactory(Protocol):
    site: Path

    def __call__(
        self, name: str, version: str, module: str, source: str, entry_name: str | None = None
    ) -> Path: ...


class _Dists:
    def __init__(self, site: Path) -> None:
        self.site = site
        self.modules: list[str] = []

    def __call__(
        self, name: str, version: str, module: str, source: str, entry_name: str | None = None
    ) -> Path:
        """Write ``module``.py and a ``name-version.dist-info`` whose ``liveloop`` entry
        point (``entry_name``, default ``name``) is that module; return the site dir."""
        (self.site / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[liveloop]\n{entry_name or name} = {module}\n")
        self.modules.append(module)
        importlib.invalidate_caches()
        return self.site


@pytest.fixture
def make_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DistFactory]:
    """Build throwaway distributions in a temporary dir that is on ``sys.path``."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    dists = _Dists(site)
    try:
        yield dists
    finally:
        for module in dists.modules:
            sys.modules.pop(module, None)
        importlib.invalidate_caches()


class RunLiveloop(Protocol):
    def __call__(
        self, *args: str, pythonpath: Path | None = None, plugins: str | None = None
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def run_liveloop() -> RunLiveloop:
    """Run the installed ``liveloop`` console script in a subprocess.

    ``pythonpath`` becomes ``PYTHONPATH``; ``plugins`` (when not ``None``) becomes
    ``LIVELOOP_PLUGINS``. No other LIVELOOP_* setting is inherited.
    """

    def run(
        *args: str, pythonpath: Path | None = None, plugins: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVELOOP_")}
        env.pop("PYTHONPATH", None)
        if pythonpath is not None:
            env["PYTHONPATH"] = str(pythonpath)
        if plugins is not None:
            env["LIVELOOP_PLUGINS"] = plugins
        return subprocess.run(
            [str(LIVELOOP_SCRIPT), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


# -- logging -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Put the root logger back as it was (configure_logging and the CLI change it)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.contextvars.clear_contextvars()
