"""The Gemini plugins as liveloop finds them: entry points, the provider spec (its
defaults the one source of a session's unset fields), the hint when the transport is
missing, and how its sessions reach the bundled emulator."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

import liveloop
from liveloop.connecting import resolve_config
from liveloop.plugin import PluginManager
from liveloop.testing import emulated_provider
from liveloop.testing._kit import poll
from liveloop_gemini import setup_message
from liveloop_gemini.defaults import DEFAULTS

CORE = Path(liveloop.__file__).parent


def test_core_knows_nothing_of_gemini() -> None:
    # Names, models, codes and defaults come from the plugins' specs; core's prose may
    # mention Gemini as an example, its code may not.
    found = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prose = {
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        }
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = None if id(node) in prose else node.value
            elif isinstance(node, ast.Name | ast.Attribute | ast.alias):
                text = ast.unparse(node) if not isinstance(node, ast.alias) else node.name
            if text is not None and any(word in text.lower() for word in ("gemini", "google")):
                found.append(f"{path.relative_to(CORE)}:{getattr(node, 'lineno', '?')}")
    assert not found, f"core code naming Gemini: {found}"


def test_entry_points_list_the_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELOOP_PLUGINS", "gemini,gemini_websocket")
    manager = PluginManager()
    registered = manager.providers()["gemini"]
    assert registered.distribution == "liveloop-gemini"
    rows = {f"{row.provider}/{row.transport}": row for row in liveloop.capabilities(manager)}
    assert list(rows) == ["gemini/websocket"]
    assert rows["gemini/websocket"].features.interruption == "server_truncates"


def test_unset_fields_take_the_specs_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELOOP_PLUGINS", "gemini,gemini_websocket")
    for variable in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GEMINI_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    config, provider, transport, _ = resolve_config(
        liveloop.SessionConfig(provider="gemini"), PluginManager()
    )
    assert (provider.spec.name, transport.spec.transport) == ("gemini", "websocket")
    assert (config.model, config.voice) == (DEFAULTS["model"], DEFAULTS["voice"])
    assert config.base_url == "https://generativelanguage.googleapis.com"
    # The setup the codec sends carries the same defaults, from the same place.
    setup = setup_message(liveloop.SessionConfig(provider="gemini"))["setup"]
    assert setup["model"] == f"models/{DEFAULTS['model']}"
    voice = setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
    assert voice == {"voiceName": DEFAULTS["voice"]}


def test_a_missing_transport_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELOOP_PLUGINS", "gemini")
    with pytest.raises(liveloop.UnsupportedTransport, match="install liveloop-gemini-websocket"):
        resolve_config(liveloop.SessionConfig(provider="gemini"), PluginManager())


async def test_sessions_reach_the_emulators_gemini_front_end(
    liveloop_emulator: liveloop.testing.EmulatorThread,
) -> None:
    _, emulated = emulated_provider("gemini")
    options = emulated.options(liveloop_emulator.emulator)
    assert options["base_url"] == liveloop_emulator.emulator.gemini_base_url
    side = emulated.side(liveloop_emulator)
    assert side.session_id() is None
    async with liveloop.connect(**options) as session:
        await session.send_text("hello there")
        turn = await asyncio.wait_for(session.input(), 10)
        assert turn.text == "hello there"
        assert side.session_id() is not None and not side.closed()
    assert await poll(side.closed, 2.0)  # the emulator's thread sees the close
    assert side.responses_requested() == 1
