"""openai/webrtc peer mode: real WebRTC on 127.0.0.1 against the bundled emulator, plus
the pieces (ICE address choice, the scoped aioice override, resampling, pacing)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aioice.ice
import numpy as np
import pytest

import liveloop
from liveloop.events import ResponseDone
from liveloop.testing import Heard, ToolLog, speak
from liveloop_emulator import Emulator, Rule, tones
from liveloop_openai_webrtc import (
    HOST_ADDRESSES_ENV,
    ICE_SERVERS_ENV,
    OutgoingAudioTrack,
    PcmResampler,
    WebRTCMedia,
    calls_url,
    choose_host_addresses,
    choose_ice_servers,
    host_addresses,
)

KEY = "sk-test"


# -- pieces ------------------------------------------------------------------------------------


def test_loopback_providers_get_loopback_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOST_ADDRESSES_ENV, raising=False)
    assert choose_host_addresses("http://127.0.0.1:8000/v1") == ["127.0.0.1"]
    assert choose_host_addresses("http://localhost:8000/v1") == ["127.0.0.1", "::1"]
    assert choose_host_addresses("http://[::1]:8000/v1") == ["::1"]
    assert choose_host_addresses("https://api.openai.com/v1") is None  # aioice's choice


def test_host_addresses_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOST_ADDRESSES_ENV, "192.0.2.10, 2001:db8::1")
    assert choose_host_addresses("https://api.openai.com/v1") == ["192.0.2.10", "2001:db8::1"]
    assert choose_host_addresses("https://x", ["198.51.100.1"]) == ["198.51.100.1"]
    monkeypatch.setenv(HOST_ADDRESSES_ENV, "not-an-ip")
    with pytest.raises(liveloop.ConfigError, match=HOST_ADDRESSES_ENV):
        choose_host_addresses("https://api.openai.com/v1")


def test_no_stun_server_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ICE_SERVERS_ENV, raising=False)
    assert choose_ice_servers() == []
    servers = [{"urls": "turn:turn.example:3478", "username": "u", "credential": "p"}]
    monkeypatch.setenv(ICE_SERVERS_ENV, json.dumps(servers))
    [server] = choose_ice_servers()
    assert server.urls == ["turn:turn.example:3478"] and server.username == "u"
    for bad in ("[{", '[{"urls": "http://x"}]', '{"urls": "stun:x"}', '[{"urls": []}]'):
        monkeypatch.setenv(ICE_SERVERS_ENV, bad)
        with pytest.raises(liveloop.ConfigError, match=ICE_SERVERS_ENV):
            choose_ice_servers()


def test_host_address_override_is_scoped_and_nestable() -> None:
    original = aioice.ice.get_host_addresses
    with host_addresses(["127.0.0.1"]):
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(False, True) == []
        with host_addresses(["::1", "127.0.0.1"]):
            assert aioice.ice.get_host_addresses(True, True) == ["::1", "127.0.0.1"]
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses is original


def test_host_address_override_outside_any_context() -> None:
    import contextvars

    with host_addresses(["127.0.0.1"]):
        fresh = contextvars.Context()
        assert "127.0.0.1" not in fresh.run(aioice.ice.get_host_addresses, True, False)


def test_calls_url() -> None:
    assert calls_url("http://h:1/v1/", model="gpt-realtime") == (
        "http://h:1/v1/realtime/calls?model=gpt-realtime"
    )
    with pytest.raises(liveloop.ConfigError):
        calls_url("ftp://h/v1")


def test_resampler_keeps_words_across_rates() -> None:
    pcm = tones.encode("ready", 24000)
    up, down = PcmResampler(48000), PcmResampler(24000)
    out48 = b"".join(up.pcm(pcm[i : i + 999 * 2], 24000) for i in range(0, len(pcm), 999 * 2))
    assert abs(len(out48) - 2 * len(pcm)) < 4000
    back = down.pcm(out48, 48000)
    assert tones.decode(back, 24000) == "ready"


async def test_outgoing_track_paces_20ms_frames_and_fills_silence() -> None:
    track = OutgoingAudioTrack()
    track.write(b"\x01\x00" * 480)  # 10 ms
    started = time.perf_counter()
    frames = [await track.recv() for _ in range(6)]
    elapsed = time.perf_counter() - started
    assert 0.08 < elapsed < 0.2  # five 20 ms waits after the first frame
    assert all(f.samples == 960 and f.sample_rate == 48000 for f in frames)
    first = frames[0].to_ndarray().ravel()
    assert np.count_nonzero(first[:480]) == 480 and not np.any(first[480:])
    assert [f.pts for f in frames] == [i * 960 for i in range(6)]
    track.stop()


async def test_send_audio_applies_backpressure_and_drops_after_loss() -> None:
    media = WebRTCMedia(input_rate=24000, output_rate=24000)
    pump = asyncio.create_task(_drain(media.track))
    started = time.perf_counter()
    await media.send_audio(b"\x00\x00" * 24000 * 2)  # 2 s of audio, 1 s may wait
    assert time.perf_counter() - started > 0.8
    media.lose(liveloop.ConnectionLost("gone"))
    started = time.perf_counter()
    await media.send_audio(b"\x00\x00" * 24000)
    assert time.perf_counter() - started < 0.1 and media.dropped_ms == 1000
    with pytest.raises(liveloop.ConnectionLost):
        await media.receive_audio()
    pump.cancel()


async def _drain(track: OutgoingAudioTrack) -> None:
    while True:
        await track.recv()


# -- end to end against the emulator -----------------------------------------------------------


def _options(emu: Emulator, **extra: Any) -> dict[str, Any]:
    return {
        "provider": "openai",
        "transport": "webrtc",
        "api_key": KEY,
        "base_url": emu.base_url,
        **extra,
    }


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    script = [
        Rule(
            match="weather",
            tool="lookup_weather",
            arguments={"city": "Paris"},
            reply="it is {output[sky]}",
        )
    ]
    async with Emulator(speed=4.0, script=script) as running:
        yield running


async def test_spoken_turn_arrives_with_the_exact_words(emu: Emulator) -> None:
    async with liveloop.connect(**_options(emu, auto_respond=False)) as session:
        await speak(session, "book a table for two")
        turn = await asyncio.wait_for(session.input(), 10)
    assert turn.text == "book a table for two"
    assert turn.channel == "audio"


async def test_say_is_heard_exactly(emu: Emulator) -> None:
    async with liveloop.connect(**_options(emu, auto_respond=False)) as session:
        heard = Heard(session)
        speech = await session.say("welcome to the front desk").wait(10)
        assert await heard.wait_for_lines(1) == ["welcome to the front desk"]
        assert speech.transcript.lower() == "welcome to the front desk"
    assert not speech.interrupted


def speech_item(emu: Emulator) -> str:
    """The id of the one assistant message item the emulator's session produced."""
    [item] = [
        e["item"]["id"]
        for e in emu.sessions[0].server_events
        if e["type"] == "response.output_item.added" and e["item"]["type"] == "message"
    ]
    return str(item)


def lookup_weather(city: str) -> dict[str, str]:
    """Look up today's weather in a city."""
    return {"city": city, "sky": "sunny"}


async def test_tool_call_is_answered_once_and_spoken_about(emu: Emulator) -> None:
    async with liveloop.connect(**_options(emu), tools=[lookup_weather]) as session:
        log = ToolLog(session)
        heard = Heard(session)
        done = 0

        async def two_responses() -> None:
            nonlocal done
            async for event in session.events():
                done += isinstance(event, ResponseDone)
                if done == 2:
                    return

        responses = asyncio.create_task(two_responses())
        await speak(session, "what is the weather")
        await log.wait_for_results(1)
        log.assert_called("lookup_weather", city="Paris")
        await asyncio.wait_for(responses, 10)
        # One item, under the provider's item id, with the words of the result. (Over a
        # media track a late packet is a longer pause: word spacing is not the point.)
        lines = await heard.wait_for_lines(1)
        assert [" ".join(line.split()) for line in lines] == ["it is sunny"]
        assert heard.order == [speech_item(emu)]
    outputs = [
        e
        for e in emu.sessions[0].client_events
        if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
    ]
    assert len(outputs) == 1


async def test_hangup_ends_input_within_two_seconds(emu: Emulator) -> None:
    session = await liveloop.open_session(**_options(emu, reconnect=None))
    waiting = asyncio.create_task(session.input())
    await asyncio.sleep(0.1)
    started = time.perf_counter()
    await emu.sessions[0].close()
    with pytest.raises(liveloop.SessionClosed):
        await asyncio.wait_for(waiting, 3)
    assert time.perf_counter() - started < 2
    started = time.perf_counter()
    await session.close()
    assert time.perf_counter() - started < 1


async def test_stopped_emulator_ends_input_and_close_is_quick() -> None:
    emu = Emulator(speed=4.0)
    await emu.start()
    session = await liveloop.open_session(**_options(emu, reconnect=None))
    waiting = asyncio.create_task(session.input())
    await asyncio.sleep(0.1)
    started = time.perf_counter()
    await emu.stop()
    with pytest.raises(liveloop.SessionClosed):
        await asyncio.wait_for(waiting, 3)
    assert time.perf_counter() - started < 2
    started = time.perf_counter()
    await session.close()
    assert time.perf_counter() - started < 1


async def test_refused_key_is_a_provider_error() -> None:
    async with Emulator(api_keys=[KEY]) as emu:
        options = _options(emu, api_key="sk-wrong", reconnect=None)
        with pytest.raises(liveloop.ProviderError) as caught:
            async with liveloop.connect(**options):
                pass
        assert emu.sessions == []
    assert caught.value.code in {"invalid_api_key", "http_401"}


async def test_unreachable_provider_fails_within_the_connect_timeout() -> None:
    started = time.perf_counter()
    with pytest.raises((liveloop.ConnectionLost, liveloop.SessionClosed)) as caught:
        async with liveloop.connect(
            provider="openai",
            transport="webrtc",
            api_key=KEY,
            base_url="http://127.0.0.1:9/v1",
            connect_timeout=2.0,
            reconnect=None,
        ):
            pass
    assert time.perf_counter() - started < 2.5
    assert "127.0.0.1:9" in str(caught.value)


def test_capabilities_list_the_peer_transport() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import liveloop.cli; liveloop.cli.main()",
            "capabilities",
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    [entry] = [
        c for c in json.loads(out) if (c["provider"], c["transport"]) == ("openai", "webrtc")
    ]
    assert entry["features"]["media"] == "track"
    assert entry["features"]["interruption"] == "server_truncates"
    assert entry["features"]["audio_formats"] == ["pcm16"]


async def test_outgoing_track_plays_the_sessions_own_rate() -> None:
    # aiortc's encoder resamples to 48 kHz itself: 24 kHz audio goes out as it is.
    track = OutgoingAudioTrack(24000)
    track.write(b"\x01\x00" * 600)  # 25 ms
    frames = [await track.recv() for _ in range(3)]
    assert all(f.samples == 480 and f.sample_rate == 24000 for f in frames)
    assert [f.pts for f in frames] == [0, 480, 960]
    assert np.count_nonzero(frames[1].to_ndarray().ravel()) == 120
    assert track.buffered_ms == 0
    track.stop()
