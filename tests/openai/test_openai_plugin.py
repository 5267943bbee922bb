"""The plugin: found through its entry point and through runtime registration, with the
provider spec OpenAI needs."""

from __future__ import annotations

import pytest

import liveloop
import liveloop_openai.plugin
from liveloop.connecting import resolve_config
from liveloop.plugin import PluginManager
from liveloop_openai import OpenAICodec


def test_entry_point_lists_provider_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELOOP_PLUGINS", "openai")
    manager = PluginManager()
    providers = manager.providers()
    assert list(providers) == ["openai"]
    registered = providers["openai"]
    assert registered.distribution == "liveloop-openai"
    assert registered.plugin == "openai"
    names = {info.name for info in manager.plugins() if info.error is None}
    assert "openai" in names


def test_runtime_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELOOP_PLUGINS", "")
    manager = PluginManager()
    name = manager.register(liveloop_openai.plugin)
    try:
        assert "openai" in manager.providers()
    finally:
        manager.unregister(name)
    assert "openai" not in manager.providers()


def test_provider_spec() -> None:
    specs: list[liveloop.plugin.ProviderSpec] = []
    liveloop_openai.plugin.register_providers(specs.append)
    [spec] = specs
    assert spec.name == "openai"
    assert spec.api_key_env == "OPENAI_API_KEY"
    assert spec.base_url_env == "OPENAI_BASE_URL"
    assert spec.default_base_url == "https://api.openai.com/v1"
    assert spec.max_session_seconds == 3600
    features = spec.features
    assert features.interruption == "client_truncates"
    assert features.media == "events"
    assert features.audio_formats == ("pcm16", "g711_ulaw", "g711_alaw")
    assert all(
        [
            features.audio_in,
            features.audio_out,
            features.text,
            features.server_vad,
            features.semantic_vad,
            features.tools,
            features.verbatim_say,
        ]
    )
    codec = spec.codec(liveloop.SessionConfig())
    assert isinstance(codec, OpenAICodec)
    assert isinstance(codec, liveloop.plugin.EventCodec)


def test_pair_with_the_websocket_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELOOP_PLUGINS", "openai,openai_websocket")
    manager = PluginManager()
    if not manager.transports():
        pytest.skip("the WebSocket transport plugin is not installed")
    pairs = {f"{row.provider}/{row.transport}": row for row in liveloop.capabilities(manager)}
    assert "openai/websocket" in pairs
    assert pairs["openai/websocket"].features.tools


def test_the_spec_declares_openais_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    # Core holds none of these: a session that leaves them unset gets them from the spec.
    monkeypatch.setenv("LIVELOOP_PLUGINS", "openai,openai_websocket")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    manager = PluginManager()
    config, provider, transport, _ = resolve_config(liveloop.SessionConfig(), manager)
    assert (provider.spec.name, transport.spec.transport) == ("openai", "websocket")
    assert config.pair == "openai/websocket"
    assert (config.model, config.voice) == ("gpt-realtime", "marin")
    assert config.input_audio == config.output_audio == liveloop.AudioFormat(rate=24000)
    assert config.input_transcription is not None
    assert config.input_transcription.model == "gpt-4o-mini-transcribe"
    assert config.base_url == "https://api.openai.com/v1"


def test_the_spec_names_the_packages_of_its_transports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELOOP_PLUGINS", "openai")
    manager = PluginManager()
    with pytest.raises(liveloop.UnsupportedTransport, match="install liveloop-openai-webrtc"):
        resolve_config(liveloop.SessionConfig(transport="webrtc_sideband"), manager)
