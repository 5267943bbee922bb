"""The ``openai/webrtc_sideband`` transport's pieces."""

from __future__ import annotations

from typing import Any

import pytest

import liveloop
from liveloop.matrix import resolve
from liveloop_openai_webrtc.sideband import SidebandConnector, sideband_url


def test_sideband_pair_flags_tell_the_modes_apart() -> None:
    sideband = resolve("openai", "webrtc_sideband")[2].features
    peer = resolve("openai", "webrtc")[2].features
    assert (sideband.audio_in, sideband.audio_out, sideband.sideband) == (False, False, True)
    assert sideband.media == "direct" and peer.media == "track"
    assert sideband.tools and sideband.verbatim_say and sideband.text
    assert sideband.interruption == "server_truncates"


def test_sideband_url() -> None:
    assert sideband_url("https://api.openai.com/v1", "rtc_1") == (
        "wss://api.openai.com/v1/realtime?call_id=rtc_1"
    )
    assert sideband_url("http://127.0.0.1:8000/v1/", "rtc_2") == (
        "ws://127.0.0.1:8000/v1/realtime?call_id=rtc_2"
    )
    with pytest.raises(liveloop.ConfigError):
        sideband_url("ftp://x/v1", "rtc_1")


async def test_sideband_needs_a_call_id() -> None:
    config = liveloop.SessionConfig(
        transport="webrtc_sideband", api_key="sk-x", base_url="http://127.0.0.1:9/v1"
    )
    with pytest.raises(liveloop.ConfigError, match="call_id"):
        await SidebandConnector().open(config)


async def test_unknown_call_is_a_provider_error(make_emulator: Any) -> None:
    async with make_emulator() as emu:
        with pytest.raises(liveloop.ProviderError):
            await liveloop.open_session(
                transport="webrtc_sideband",
                call_id="rtc_nope",
                api_key="sk-x",
                base_url=emu.base_url,
                reconnect=None,
            )
