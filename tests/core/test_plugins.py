"""Plugin loading: misspelled hooks, broken imports, runtime registration, LIVELOOP_PLUGINS."""

from __future__ import annotations

import logging
import types
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import liveloop
from liveloop import PluginError
from liveloop.plugin import PluginManager

if TYPE_CHECKING:
    from .conftest import DistFactory, FakePluginFactory, ProviderFactory, TransportFactory

GOOD_SOURCE = """
import liveloop


class Codec:
    def __init__(self, config):
        pass

    def decode(self, message):
        return []

    def encode(self, action):
        return []


class Connector:
    async def open(self, config):
        raise liveloop.ConnectionLost("never")


@liveloop.plugin.hookimpl
def register_providers(register):
    features = liveloop.plugin.Features()
    register(liveloop.plugin.ProviderSpec(name="{name}", codec=Codec, features=features))


@liveloop.plugin.hookimpl
def register_transports(register):
    register(
        liveloop.plugin.TransportSpec(
            provider="{name}",
            transport="ws",
            connector=Connector(),
            features=liveloop.plugin.Features(),
        )
    )
"""


def _good(name: str) -> str:
    return GOOD_SOURCE.replace("{name}", name)


def _module(name: str, **hooks: Callable[..., Any]) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = f"/nonexistent/{name}.py"
    for hook_name, function in hooks.items():
        module.__dict__[hook_name] = liveloop.plugin.hookimpl(function)
    return module


def _names(manager: PluginManager) -> set[str]:
    return {info.name for info in manager.plugins() if info.error is None}


# -- bad hook implementations --------------------------------------------------------------


def test_misspelled_hook_is_an_error_naming_the_plugin(manager: PluginManager) -> None:
    def register_provider(register: Any) -> None:  # should be register_providers
        raise AssertionError("never called")

    plugin = _module("typo_plugin", register_provider=register_provider)

    with pytest.raises(PluginError) as caught:
        manager.register(plugin, "typo")

    message = str(caught.value)
    assert "'typo'" in message
    assert "register_provider" in message
    # The broken plugin was not left half-registered.
    assert "typo" not in _names(manager)
    assert manager.providers() == {}


def test_wrong_argument_name_is_an_error_naming_the_plugin(manager: PluginManager) -> None:
    def register_providers(registr: Any) -> None:  # the spec's argument is `register`
        raise AssertionError("never called")

    plugin = _module("argname_plugin", register_providers=register_providers)

    with pytest.raises(PluginError) as caught:
        manager.register(plugin, "argname")

    message = str(caught.value)
    assert "'argname'" in message
    assert "registr" in message
    assert "argname" not in _names(manager)


def test_misspelled_hook_through_the_global_register(global_manager: PluginManager) -> None:
    def register_transport(register: Any) -> None:
        raise AssertionError("never called")

    with pytest.raises(PluginError, match=r"'typo'.*register_transport"):
        liveloop.plugin.register(
            _module("typo_plugin", register_transport=register_transport), "typo"
        )
    assert "typo" not in _names(global_manager)


def test_misspelled_hook_in_an_entry_point_is_reported_at_load(
    make_dist: DistFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dist(
        "typo-dist",
        "0.3",
        "typo_dist_mod",
        """
        import liveloop

        @liveloop.plugin.hookimpl
        def register_provider(register):
            pass
        """,
        entry_name="typo",
    )
    make_dist("good-dist", "1.0", "good_dist_mod", _good("goodprov"), entry_name="good")
    monkeypatch.setenv("LIVELOOP_PLUGINS", "typo,good")
    manager = PluginManager()

    infos = {info.name: info for info in manager.plugins()}

    assert infos["typo"].distribution == "typo-dist"
    assert infos["typo"].error is not None
    assert "register_provider" in infos["typo"].error
    assert infos["good"].error is None
    assert [row.provider for row in liveloop.capabilities(manager)] == ["goodprov"]


def test_registering_the_same_plugin_twice_is_an_error(
    manager: PluginManager, fake_plugin: FakePluginFactory, provider_spec: ProviderFactory
) -> None:
    plugin = fake_plugin("once", providers=[provider_spec()])

    with pytest.raises(PluginError, match="already registered"):
        manager.register(plugin, "again")


# -- broken imports ------------------------------------------------------------------------


def test_plugin_that_raises_on_import_is_reported_and_others_load(
    make_dist: DistFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    make_dist("alpha-dist", "1.0", "alpha_mod", _good("alphaprov"), entry_name="alpha")
    make_dist(
        "broken-dist",
        "6.6.6",
        "broken_mod",
        'raise RuntimeError("boom: broken on purpose")\n',
        entry_name="broken",
    )
    make_dist("omega-dist", "1.0", "omega_mod", _good("omegaprov"), entry_name="omega")
    monkeypatch.setenv("LIVELOOP_PLUGINS", "alpha,broken,omega")
    manager = PluginManager()

    with caplog.at_level(logging.WARNING, logger="liveloop.plugins"):
        infos = manager.plugins()

    broken = [info for info in infos if info.error is not None]
    assert len(broken) == 1
    assert (broken[0].name, broken[0].distribution, broken[0].version) == (
        "broken",
        "broken-dist",
        "6.6.6",
    )
    assert broken[0].error == "RuntimeError: boom: broken on purpose"
    assert broken[0].as_dict()["error"] == "RuntimeError: boom: broken on purpose"
    assert {info.name for info in infos if info.error is None} == {"alpha", "omega"}
    assert [f"{row.provider}/{row.transport}" for row in liveloop.capabilities(manager)] == [
        "alphaprov/ws",
        "omegaprov/ws",
    ]
    warnings = [r for r in caplog.records if r.name == "liveloop.plugins"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    logged = str(warnings[0].msg)
    assert "broken-dist" in logged
    assert "boom: broken on purpose" in logged


def test_missing_module_is_reported(
    make_dist: DistFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_dist("ghost-dist", "0.1", "ghost_mod", "", entry_name="ghost")
    (site / "ghost_mod.py").unlink()
    monkeypatch.setenv("LIVELOOP_PLUGINS", "ghost")
    manager = PluginManager()

    [info] = manager.plugins()

    assert info.distribution == "ghost-dist"
    assert info.error == "ModuleNotFoundError: No module named 'ghost_mod'"


# -- runtime registration ------------------------------------------------------------------


def test_register_and_unregister_at_runtime(
    global_manager: PluginManager,
    provider_spec: ProviderFactory,
    transport_spec: TransportFactory,
) -> None:
    def register_providers(register: Any) -> None:
        register(provider_spec("rtprov"))

    def register_transports(register: Any) -> None:
        register(transport_spec("rtprov", "rttrans"))

    plugin = _module(
        "runtime_plugin",
        register_providers=register_providers,
        register_transports=register_transports,
    )
    name = liveloop.plugin.register(plugin)
    try:
        assert name == "runtime_plugin"
        assert liveloop.plugin.get_plugin_manager() is global_manager
        [row] = liveloop.capabilities()
        assert (row.provider, row.transport, row.plugin) == ("rtprov", "rttrans", "runtime_plugin")
        info = {i.name: i for i in global_manager.plugins()}["runtime_plugin"]
        assert info.hooks == ("register_providers", "register_transports")
    finally:
        liveloop.plugin.unregister(plugin)
    assert liveloop.capabilities() == []
    assert "runtime_plugin" not in _names(global_manager)


def test_unregister_by_name_and_unknown_plugins(
    global_manager: PluginManager, provider_spec: ProviderFactory
) -> None:
    def register_providers(register: Any) -> None:
        register(provider_spec("named"))

    name = liveloop.plugin.register(_module("x", register_providers=register_providers), "my-name")
    try:
        assert name == "my-name"
        assert "named" in global_manager.providers()
    finally:
        liveloop.plugin.unregister("my-name")
    assert global_manager.providers() == {}
    liveloop.plugin.unregister("never-registered")  # no error
    liveloop.plugin.unregister(object())  # no error


def test_plugin_object_with_methods(manager: PluginManager, provider_spec: ProviderFactory) -> None:
    class ObjectPlugin:
        @liveloop.plugin.hookimpl
        def register_providers(self, register: Any) -> None:
            register(provider_spec("objprov"))

    plugin = ObjectPlugin()
    name = manager.register(plugin)
    try:
        assert name == "ObjectPlugin"
        assert list(manager.providers()) == ["objprov"]
    finally:
        manager.unregister(plugin)
    assert manager.providers() == {}


# -- LIVELOOP_PLUGINS ----------------------------------------------------------------------


@pytest.fixture
def two_dists(make_dist: DistFactory) -> Path:
    make_dist("alpha-dist", "1.0", "alpha_env_mod", _good("alphaprov"), entry_name="alpha")
    return make_dist("beta-dist", "2.0", "beta_env_mod", _good("betaprov"), entry_name="beta")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("alpha", {"alpha"}),  # by entry-point name
        ("beta-dist", {"beta"}),  # by distribution name
        (" alpha , beta-dist ", {"alpha", "beta"}),
        ("", set()),  # set but empty: no external plugins
        ("nothing-like-it", set()),
    ],
)
def test_liveloop_plugins_restricts_loading(
    two_dists: Path, monkeypatch: pytest.MonkeyPatch, setting: str, expected: set[str]
) -> None:
    monkeypatch.setenv("LIVELOOP_PLUGINS", setting)
    manager = PluginManager()

    assert _names(manager) & {"alpha", "beta"} == expected
    assert _names(manager) == expected  # nothing else was loaded either
    providers = {f"{name}prov" for name in expected}
    assert set(manager.providers()) == providers


def test_unset_liveloop_plugins_loads_everything(
    two_dists: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIVELOOP_PLUGINS", raising=False)
    manager = PluginManager()

    assert {"alpha", "beta"} <= _names(manager)


def test_runtime_registration_is_not_restricted(
    manager: PluginManager, fake_plugin: FakePluginFactory, provider_spec: ProviderFactory
) -> None:
    # LIVELOOP_PLUGINS="" (the `manager` fixture) only blocks entry points.
    fake_plugin("explicit", providers=[provider_spec("explicitprov")])

    assert list(manager.providers()) == ["explicitprov"]


def test_entry_points_load_once(two_dists: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELOOP_PLUGINS", "alpha")
    manager = PluginManager()
    assert _names(manager) == {"alpha"}

    monkeypatch.setenv("LIVELOOP_PLUGINS", "alpha,beta")
    manager.load_entry_points()

    assert _names(manager) == {"alpha"}
