"""Every hookspec is typed, documented with the template, and exercised here.

``test_hook_<name>`` must exist in this module for every spec in ``liveloop.hookspecs``:
adding a hook without documenting and testing it fails the suite.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pytest
from click.testing import CliRunner

import liveloop
import liveloop.cli
from liveloop import hookspecs
from liveloop.plugin import PluginManager

if TYPE_CHECKING:
    from .conftest import FakePluginFactory, ProviderFactory, TransportFactory

SECTIONS = ("For:", "Called:", "Arguments:", "Returns:")


def _specs() -> dict[str, Callable[..., Any]]:
    # pluggy marks a spec by setting `<project>_spec` on the function.
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return {
        name: value
        for name, value in vars(hookspecs).items()
        if callable(value) and getattr(value, marker, None) is not None
    }


SPECS = _specs()


def test_the_spec_module_has_the_known_hooks() -> None:
    assert {"register_providers", "register_transports", "register_commands"} <= set(SPECS)
    # The plugin manager knows exactly these hooks.
    manager = PluginManager()
    assert {name for name in vars(manager._pm.hook) if not name.startswith("_")} == set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hookspec_is_documented_with_the_template(name: str) -> None:
    spec = SPECS[name]
    doc = inspect.getdoc(spec)
    assert doc, f"hookspec {name} has no docstring"
    lines = doc.splitlines()
    summary = lines[0]
    assert summary.strip() and not summary.startswith(SECTIONS), f"{name}: no summary line"
    assert summary.endswith("."), f"{name}: the summary line is not a sentence"

    positions = []
    for section in SECTIONS:
        found = [i for i, line in enumerate(lines) if line.startswith(section)]
        assert len(found) == 1, f"{name}: section {section!r} missing or repeated"
        positions.append(found[0])
    assert positions == sorted(positions), f"{name}: sections out of order {SECTIONS}"
    for section, start, end in zip(SECTIONS, positions, [*positions[1:], len(lines)], strict=True):
        body = " ".join(lines[start:end]).removeprefix(section).strip()
        assert body, f"{name}: section {section!r} is empty"

    arguments = "\n".join(lines[positions[2] : positions[3]])
    for parameter in inspect.signature(spec).parameters:
        assert re.search(rf"^\s+{parameter}:", arguments, re.M), (
            f"{name}: argument {parameter!r} is not described under Arguments:"
        )


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hookspec_is_typed(name: str) -> None:
    signature = inspect.signature(SPECS[name])
    assert signature.return_annotation is not inspect.Signature.empty
    for parameter in signature.parameters.values():
        assert parameter.annotation is not inspect.Parameter.empty, (
            f"{name}: argument {parameter.name!r} has no type"
        )


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hookspec_has_a_test(name: str) -> None:
    this_module = sys.modules[__name__]
    test = getattr(this_module, f"test_hook_{name}", None)
    assert callable(test), f"no test_hook_{name} in {__file__}"


def test_core_never_calls_hooks_directly() -> None:
    # Core code goes through the typed facade in liveloop.plugins, never pm.hook.<name>(...).
    core = Path(liveloop.__file__).parent
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(core.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.hook\.\w+\s*\(", line)
    ]
    assert offenders == []


# -- one test per hook ---------------------------------------------------------------------


def test_hook_register_providers(
    manager: PluginManager, fake_plugin: FakePluginFactory, provider_spec: ProviderFactory
) -> None:
    first, second = provider_spec("prov-a"), provider_spec("prov-b")
    fake_plugin(
        "providers", distribution="liveloop-providers", version="3.1", providers=[first, second]
    )

    providers = manager.providers()

    assert set(providers) == {"prov-a", "prov-b"}
    assert providers["prov-a"].spec is first
    assert providers["prov-b"].spec is second
    assert providers["prov-a"].plugin == "providers"
    assert (providers["prov-a"].distribution, providers["prov-a"].version) == (
        "liveloop-providers",
        "3.1",
    )
    codec = providers["prov-a"].spec.codec(liveloop.SessionConfig())
    assert isinstance(codec, liveloop.plugin.EventCodec)


def test_hook_register_transports(
    manager: PluginManager,
    fake_plugin: FakePluginFactory,
    provider_spec: ProviderFactory,
    transport_spec: TransportFactory,
) -> None:
    ws, rtc = transport_spec("prov", "ws"), transport_spec("prov", "rtc")
    fake_plugin(
        "transports", distribution="liveloop-transports", version="0.9", transports=[ws, rtc]
    )

    transports = manager.transports()

    assert set(transports) == {("prov", "ws"), ("prov", "rtc")}
    assert transports[("prov", "ws")].spec is ws
    assert transports[("prov", "rtc")].distribution == "liveloop-transports"
    assert isinstance(ws.connector, liveloop.plugin.Connector)
    # Transports alone are not pairs; with the provider registered they are.
    assert liveloop.capabilities(manager) == []
    fake_plugin("provider", providers=[provider_spec("prov")])
    assert [row.transport for row in liveloop.capabilities(manager)] == ["rtc", "ws"]


@click.command()
@click.option("--name", default="world")
def hello(name: str) -> None:
    """Say hello (a plugin command)."""
    click.echo(f"hello {name} from a plugin")


def test_hook_register_commands(manager: PluginManager, fake_plugin: FakePluginFactory) -> None:
    fake_plugin("commands", commands=[hello])
    group = click.Group("liveloop")

    manager.add_commands(group)

    assert "hello" in group.commands
    result = CliRunner().invoke(group, ["hello", "--name", "tester"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello tester from a plugin\n"


def test_hook_register_commands_through_main(
    global_manager: PluginManager,
    fake_plugin: FakePluginFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_plugin("commands", commands=[hello])
    try:
        with pytest.raises(SystemExit) as caught:
            liveloop.cli.main(["hello"])
        assert caught.value.code == 0
        assert capsys.readouterr().out == "hello world from a plugin\n"
    finally:
        liveloop.cli.cli.commands.pop("hello", None)


def test_hook_register_routes(manager: PluginManager) -> None:
    built: list[object] = []

    def routes(server: object) -> list[object]:
        built.append(server)
        return ["a route"]

    class RoutesPlugin:
        @liveloop.plugin.hookimpl
        def register_routes(self, register: Callable[[liveloop.plugin.RouteSpec], None]) -> None:
            register(
                liveloop.plugin.RouteSpec(name="demo-routes", routes=routes, description="demo")
            )

    class WrongPlugin:
        @liveloop.plugin.hookimpl
        def register_routes(self, register: Callable[[Any], None]) -> None:
            register("not a spec")

    assert manager.routes() == []
    manager.register(RoutesPlugin(), name="routes-plugin")
    [registered] = manager.routes()
    assert registered.plugin == "routes-plugin" and registered.spec.name == "demo-routes"
    assert not built  # routes are built by a server, not when plugins register them
    assert registered.spec.routes("server") == ["a route"] and built == ["server"]

    manager.register(WrongPlugin(), name="wrong-plugin")
    with pytest.raises(liveloop.PluginError, match=r"wrong-plugin.*expected RouteSpec"):
        manager.routes()
