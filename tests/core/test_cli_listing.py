"""``liveloop capabilities`` and ``liveloop plugins`` answer without click (the fast path
in :func:`liveloop.cli.main`) and print exactly what the click commands print."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

import liveloop.cli
from liveloop.plugin import Features, PluginManager

if TYPE_CHECKING:
    from .conftest import FakePluginFactory, ProviderFactory, TransportFactory

LISTINGS = [["capabilities"], ["capabilities", "--json"], ["plugins"], ["plugins", "--json"]]


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        liveloop.cli.main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def two_pairs(
    global_manager: PluginManager,
    fake_plugin: FakePluginFactory,
    provider_spec: ProviderFactory,
    transport_spec: TransportFactory,
) -> None:
    formats = Features(text=True, interruption="client_truncates", audio_formats=("pcm16",))
    fake_plugin("prov", providers=[provider_spec("fakeprov", formats)])
    fake_plugin(
        "trans",
        transports=[
            transport_spec("fakeprov", "one", formats),
            transport_spec("fakeprov", "two", Features()),
        ],
    )


@pytest.mark.parametrize("args", LISTINGS)
@pytest.mark.usefixtures("two_pairs")
def test_the_fast_path_prints_what_the_click_command_prints(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _main(args, capsys)
    clicked = CliRunner().invoke(liveloop.cli.cli, args)

    assert (status, err) == (0, "")
    assert clicked.exit_code == 0, clicked.output
    assert out == clicked.output
    assert ("fakeprov" if args[0] == "capabilities" else "trans") in out


@pytest.mark.usefixtures("two_pairs")
def test_capabilities_json_lists_the_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _main(["capabilities", "--json"], capsys)
    rows = json.loads(out)
    assert [(row["transport"], row["features"]["audio_formats"]) for row in rows] == [
        ("one", ["pcm16"]),
        ("two", []),
    ]


@pytest.mark.parametrize("as_json", [False, True])
def test_a_plugin_error_is_one_line(
    as_json: bool,
    global_manager: PluginManager,
    fake_plugin: FakePluginFactory,
    transport_spec: TransportFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_plugin("confused", providers=[transport_spec("fakeprov", "faketrans")])

    status, out, err = _main(["capabilities", "--json"] if as_json else ["capabilities"], capsys)

    assert (status, out) == (1, "")
    [line] = err.splitlines()
    message = json.loads(line)["error"] if as_json else line.removeprefix("error: ")
    assert "registered TransportSpec, expected ProviderSpec" in message
