"""Headless calls: a WebRTC call without a peer, for testing sideband clients.

``Emulator.open_headless_call`` opens a call whose output plays out of a server-side playout
buffer into the void (in real time); ``speak_into_call`` is the caller's microphone. A sideband
WebSocket attaches as to a real call. Every server event is validated with the schema oracle
by the ``make_emulator`` fixture; events received over the sideband are validated too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from _realtime_oracle import validate_server_event
from conftest import MakeEmulator
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from liveloop_emulator import SAY_INSTRUCTIONS, Emulator, ProtocolError, tones

KEY = "sk-test-headless"
TRANSCRIBE = {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}
WAIT = 10.0


def said(text: str) -> dict[str, Any]:
    return {
        "type": "response.create",
        "response": {"instructions": SAY_INSTRUCTIONS.format(text=text)},
    }


def utterance(text: str) -> bytes:
    return tones.encode(text, 24000) + bytes(24000 * 2)  # 1 s of silence ends the turn


@dataclass
class Sideband:
    ws: ClientConnection
    events: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self.ws:
                event = json.loads(message)
                validate_server_event(event)
                self.events.append(event)
                self.arrived.set()

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event))

    async def next(self, kind: str, *, after: int = 0, timeout: float = WAIT) -> dict[str, Any]:
        """The first event of ``kind`` at index >= ``after`` (waits for it, bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[after:]:
                if event["type"] == kind:
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [e["type"] for e in self.events[after:]]
                raise AssertionError(f"no {kind!r} within {timeout}s; got {seen}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), left)


@contextlib.asynccontextmanager
async def sideband(emu: Emulator, call_id: str) -> AsyncIterator[Sideband]:
    url = f"{emu.ws_base_url}/realtime?call_id={call_id}"
    async with ws_connect(url, additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
        side = Sideband(ws)
        side.reader = asyncio.create_task(side.read())
        try:
            yield side
        finally:
            side.reader.cancel()


async def test_a_headless_call_is_a_call(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        call_id = await emu.open_headless_call({"instructions": "be brief"})
        assert call_id.startswith("rtc_")
        live = emu.calls[call_id]
        assert live.pc is None
        assert emu.sessions[-1] is live.session
        assert live.session.call_id == call_id
        assert not live.session.closed
        async with sideband(emu, call_id) as side:
            created = await side.next("session.created")
            assert created["session"]["id"] == live.session.id
            assert created["session"]["instructions"] == "be brief"


async def test_a_response_plays_out_in_real_time(make_emulator: MakeEmulator) -> None:
    text = "played into the void"
    async with make_emulator(api_keys=[KEY]) as emu:
        call_id = await emu.open_headless_call()
        live = emu.calls[call_id]
        async with sideband(emu, call_id) as side:
            await side.send(said(text))
            started = await side.next("output_audio_buffer.started")
            done = await side.next("response.done")
            assert done["response"]["id"] == started["response_id"]
            # No audio deltas: the audio goes to the call's media, not to the sideband.
            assert not [e for e in side.events if e["type"] == "response.output_audio.delta"]
            stopped = await side.next("output_audio_buffer.stopped")
            assert stopped["response_id"] == started["response_id"]
        # Played in real time (the speed factor paces generation only).
        assert live.headless is not None
        assert live.headless.speech_ms >= tones.duration_ms(text) - 100
        assert [e["type"] for e in live.session.client_events] == ["response.create"]
        assert live.session.events_of("output_audio_buffer.stopped")


async def test_speech_into_the_call_is_a_user_turn(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        call_id = await emu.open_headless_call(TRANSCRIBE)
        async with sideband(emu, call_id) as side:
            await side.next("session.created")
            await emu.speak_into_call(call_id, utterance("hello there"))
            await side.next("input_audio_buffer.speech_started")
            await side.next("input_audio_buffer.speech_stopped")
            done = await side.next("conversation.item.input_audio_transcription.completed")
            assert done["transcript"] == "hello there"
            # server VAD answers the turn
            await side.next("response.done")


async def test_speech_can_be_paced_like_a_microphone(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        call_id = await emu.open_headless_call(TRANSCRIBE)
        pcm = bytes(24000 * 2 // 5)  # 200 ms
        began = time.monotonic()
        await emu.speak_into_call(call_id, pcm, pace=2.0)
        assert 0.08 <= time.monotonic() - began < 1.0


async def test_barge_in_clears_the_playout_and_truncates(make_emulator: MakeEmulator) -> None:
    # (Long: on a busy machine the barge-in may take seconds to come through.)
    text = (
        "this reply is long enough to be interrupted well before its end, even on a machine "
        "so busy that the interruption takes seconds to arrive"
    )
    async with make_emulator(api_keys=[KEY]) as emu:
        call_id = await emu.open_headless_call(TRANSCRIBE)
        playout = emu.calls[call_id].headless
        assert playout is not None
        async with sideband(emu, call_id) as side:
            await side.send(said(text))
            started = await side.next("output_audio_buffer.started")
            deadline = time.monotonic() + WAIT
            while playout.speech_ms < 1000:  # a second of the reply has been played
                assert time.monotonic() < deadline, f"played {playout.speech_ms} ms"
                await asyncio.sleep(0.02)
            at = len(side.events)
            await emu.speak_into_call(call_id, utterance("stop"))
            await side.next("input_audio_buffer.speech_started", after=at)
            cleared = await side.next("output_audio_buffer.cleared", after=at)
            assert cleared["response_id"] == started["response_id"]
            truncated = await side.next("conversation.item.truncated", after=at)
            assert 800 <= truncated["audio_end_ms"] < tones.duration_ms(text)
            done = await side.next("conversation.item.input_audio_transcription.completed")
            assert done["transcript"] == "stop"


async def test_hangup_ends_a_headless_call(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        call_id = await emu.open_headless_call()
        live = emu.calls[call_id]
        async with sideband(emu, call_id) as side:
            await side.next("session.created")
            await emu.hangup(call_id)
            assert live.session.closed
            assert side.reader is not None
            await asyncio.wait_for(side.reader, 5)
        await asyncio.wait_for(live.closed.wait(), 5)
        # nothing more happens on an ended call
        await emu.speak_into_call(call_id, utterance("anyone"))
        assert not live.session.events_of("input_audio_buffer.speech_started")
        with pytest.raises(KeyError):
            await emu.speak_into_call("rtc_unknown", b"\x00\x00")


async def test_stopping_the_emulator_ends_headless_calls(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        call_id = await emu.open_headless_call()
    assert emu.calls[call_id].session.closed
    assert emu.calls[call_id].closed.is_set()


async def test_an_invalid_session_is_refused(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        with pytest.raises(ProtocolError):
            await emu.open_headless_call({"voice": 42})
        assert not emu.calls
