"""Entry-point discovery for real: a throwaway distribution on ``sys.path`` (and on
``PYTHONPATH`` of a ``liveloop`` subprocess) shows up in the capability matrix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import liveloop
from liveloop.plugin import PluginManager

if TYPE_CHECKING:
    from .conftest import DistFactory, RunLiveloop

FAKEPLUG = """
import liveloop


class Codec:
    def __init__(self, config):
        self.config = config

    def decode(self, message):
        return []

    def encode(self, action):
        return []


class Connector:
    async def open(self, config):
        raise liveloop.ConnectionLost("fake")


@liveloop.plugin.hookimpl
def register_providers(register):
    register(
        liveloop.plugin.ProviderSpec(
            name="fakeprov",
            codec=Codec,
            features=liveloop.plugin.Features(
                audio_in=True,
                audio_out=True,
                text=True,
                server_vad=True,
                semantic_vad=True,
                interruption="client_truncates",
                tools=True,
                verbatim_say=True,
                media="events",
                audio_formats=("pcm16", "g711_ulaw", "g711_alaw"),
            ),
        )
    )


@liveloop.plugin.hookimpl
def register_transports(register):
    register(
        liveloop.plugin.TransportSpec(
            provider="fakeprov",
            transport="faketrans",
            connector=Connector(),
            features=liveloop.plugin.Features(
                audio_in=True,
                audio_out=False,
                text=True,
                server_vad=True,
                semantic_vad=False,
                interruption="server_truncates",
                tools=True,
                verbatim_say=False,
                sideband=True,
                media="direct",
                audio_formats=("g711_ulaw", "pcm16"),
            ),
            description="a fake transport",
        )
    )
"""

# What the pair can do: booleans ANDed, media and truncation from the transport,
# formats both sides speak in the transport's order.
EXPECTED_FEATURES: dict[str, Any] = {
    "audio_in": True,
    "audio_out": False,
    "text": True,
    "server_vad": True,
    "semantic_vad": False,
    "interruption": "server_truncates",
    "tools": True,
    "verbatim_say": False,
    "sideband": False,
    "media": "direct",
    "audio_formats": ["g711_ulaw", "pcm16"],
}


@pytest.fixture
def fakeplug(make_dist: DistFactory) -> Path:
    """The ``fakeplug`` 1.2.3 distribution, entry point ``fake = fakeplug_mod``."""
    return make_dist("fakeplug", "1.2.3", "fakeplug_mod", FAKEPLUG, entry_name="fake")


def _fake_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["plugin"] == "fakeplug"]


def test_discovered_in_process(fakeplug: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Unrestricted loading: the fake dist is found beside whatever else is installed.
    monkeypatch.delenv("LIVELOOP_PLUGINS", raising=False)
    manager = PluginManager()

    rows = [row for row in liveloop.capabilities(manager) if row.plugin == "fakeplug"]

    assert len(rows) == 1
    row = rows[0]
    assert (row.provider, row.transport) == ("fakeprov", "faketrans")
    assert row.version == "1.2.3"
    assert (row.provider_plugin, row.provider_version) == ("fakeplug", "1.2.3")
    assert row.description == "a fake transport"
    assert row.features.as_dict() == EXPECTED_FEATURES
    info = {p.name: p for p in manager.plugins()}["fake"]
    assert (info.distribution, info.version, info.error) == ("fakeplug", "1.2.3", None)
    assert info.hooks == ("register_providers", "register_transports")


def test_resolve_uses_discovered_pair(fakeplug: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELOOP_PLUGINS", "fake")
    manager = PluginManager()

    provider, transport, capability = liveloop.plugin.resolve("fakeprov", "faketrans", manager)

    assert provider.spec.name == "fakeprov"
    assert provider.spec.codec.__module__ == "fakeplug_mod"
    assert transport.spec.pair == "fakeprov/faketrans"
    assert type(transport.spec.connector).__module__ == "fakeplug_mod"
    assert capability.plugin == "fakeplug"


def test_capabilities_json_subprocess(fakeplug: Path, run_liveloop: RunLiveloop) -> None:
    result = run_liveloop("capabilities", "--json", pythonpath=fakeplug)

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    for row in rows:
        assert {"provider", "transport", "plugin", "version", "features"} <= row.keys()
    [row] = _fake_rows(rows)
    assert (row["provider"], row["transport"]) == ("fakeprov", "faketrans")
    assert row["version"] == "1.2.3"
    assert row["features"] == EXPECTED_FEATURES


def test_plugins_json_subprocess(fakeplug: Path, run_liveloop: RunLiveloop) -> None:
    result = run_liveloop("plugins", "--json", pythonpath=fakeplug)

    assert result.returncode == 0, result.stderr
    infos = {info["name"]: info for info in json.loads(result.stdout)}
    assert infos["fake"] == {
        "name": "fake",
        "distribution": "fakeplug",
        "version": "1.2.3",
        "hooks": ["register_providers", "register_transports"],
        "error": None,
    }


@pytest.mark.parametrize(
    ("plugins", "listed"),
    [("", False), ("fakeplug", True), ("fake", True), ("other", False), ("other, fake", True)],
)
def test_liveloop_plugins_env_subprocess(
    fakeplug: Path, run_liveloop: RunLiveloop, plugins: str, listed: bool
) -> None:
    result = run_liveloop("capabilities", "--json", pythonpath=fakeplug, plugins=plugins)

    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    if plugins == "":
        # Set but empty: no external plugins at all, so nothing is installed.
        assert rows == []
    assert bool(_fake_rows(rows)) is listed
