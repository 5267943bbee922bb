"""Sessions survive faults over openai/websocket against the emulator: cuts, an endpoint
gone for good, rollover, stalls, bad frames and close codes (``emu.faults``)."""

from __future__ import annotations

import asyncio
import time

import pytest
from reliability._support import Watch, link_down, options, until

import liveloop
import liveloop_openai_websocket.connection as ws_connection
from liveloop.config import ReconnectPolicy
from liveloop.testing import Heard, speak
from liveloop_emulator import Emulator

pytestmark = pytest.mark.timeout(60)


def history_items(emu: Emulator, index: int) -> list[tuple[str, str]]:
    """(role, text) of the conversation items a session's client created."""
    found = []
    for event in emu.sessions[index].client_events:
        if event["type"] == "conversation.item.create":
            item = event["item"]
            found.append((item["role"], item["content"][0]["text"]))
    return found


async def test_a_cut_mid_turn_reconnects_restores_context_and_the_next_turn_arrives(
    emu: Emulator,
) -> None:
    async with liveloop.connect(**options(emu)) as session:
        watch = await Watch.start(session)
        heard = Heard(session)
        await session.send_text("my name is ann")
        assert (await asyncio.wait_for(session.input(), 10)).text == "my name is ann"
        await heard.wait_for("you said: my name is ann")
        waiting = asyncio.create_task(session.input())
        speech = session.say("this is a long announcement that keeps going and going")
        await heard.wait_for_audio(3000)  # the echo line and part of the announcement
        await emu.faults.drop_all()  # cut while the announcement plays
        [reconnected] = await watch.wait_for("reconnected")
        assert reconnected.attempts == 1
        assert not waiting.done()  # a waiting input() keeps waiting across the cut
        await speak(session, "what is my name")
        turn = await asyncio.wait_for(waiting, 10)
        assert turn.text == "what is my name"
        assert turn.channel == "audio"
        assert (await speech.wait(5)).status == "interrupted"
        await watch.stop()
        heard.close()
    assert len(emu.sessions) == 2
    restored = history_items(emu, 1)
    assert ("user", "my name is ann") in restored
    assert ("assistant", "You said: my name is ann") in restored
    assert emu.sessions[1].client_events[0]["type"] == "session.update"


async def test_an_endpoint_gone_for_good_closes_within_two_seconds_of_the_last_attempt(
    emu: Emulator,
) -> None:
    async with liveloop.connect(**options(emu)) as session:
        waiting = asyncio.create_task(session.input())
        await asyncio.sleep(0.05)
        emu.faults.refuse_connections(503)
        await emu.faults.drop_all()
        with pytest.raises(liveloop.SessionClosed) as caught:
            await asyncio.wait_for(waiting, 10)
        closed_at = time.monotonic()
    policy = ReconnectPolicy()
    assert len(emu.faults.refused_at) == policy.attempts
    assert closed_at - emu.faults.refused_at[-1] < 2.0
    assert "not restored" in str(caught.value)
    assert isinstance(caught.value.cause, liveloop.ProviderError)
    assert "503" in str(caught.value.cause)
    assert session.close_reason is caught.value


async def test_rollover_before_the_session_limit_loses_no_turn() -> None:
    # The client rolls over at 2 s; the emulator's hard limit leaves the new dial room even
    # on a starved machine (a 0.5 s margin failed there).
    async with Emulator(speed=8.0, max_session_seconds=4.0) as emu:
        async with liveloop.connect(**options(emu, max_session_seconds=2.0)) as session:
            watch = await Watch.start(session)
            said = [f"turn number {n}" for n in range(8)]
            got = []
            started = time.monotonic()
            for text in said:
                await speak(session, text)
                got.append((await asyncio.wait_for(session.input(), 10)).text)
                await asyncio.sleep(0.2)
            # The turns must outlast the limit however fast the machine is.
            await asyncio.sleep(max(0.0, started + 3.0 - time.monotonic()))
            rollovers = len(watch.of("reconnected"))
            await watch.stop()
        errors = [e for s in emu.sessions for e in s.server_events if e["type"] == "error"]
    assert got == said
    assert rollovers >= 1 and len(emu.sessions) == rollovers + 1
    assert errors == []  # no session ran into the emulator's limit


async def test_close_is_bounded_on_a_stalled_server(emu: Emulator) -> None:
    session = await liveloop.open_session(**options(emu))
    emu.faults.stall(True)
    started = time.monotonic()
    await session.close()
    assert time.monotonic() - started < 1.0
    emu.faults.stall(False)


async def test_a_stall_is_detected_by_pings_and_closes_the_session_without_reconnect(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_connection, "PING_INTERVAL", 0.2)
    monkeypatch.setattr(ws_connection, "PING_TIMEOUT", 0.3)
    async with liveloop.connect(**options(emu, reconnect=None)) as session:
        waiting = asyncio.create_task(session.input())
        emu.faults.stall(True)
        started = time.monotonic()
        with pytest.raises(liveloop.SessionClosed) as caught:
            await asyncio.wait_for(waiting, 5)
        # ping interval + ping timeout + the close handshake's bound, with slack
        assert time.monotonic() - started < 2.0
    emu.faults.stall(False)
    assert isinstance(caught.value.cause, liveloop.ConnectionLost)
    assert "ping" in str(caught.value.cause)


async def test_a_stalled_link_is_replaced_once_the_server_answers_again(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_connection, "PING_INTERVAL", 0.2)
    monkeypatch.setattr(ws_connection, "PING_TIMEOUT", 0.3)
    async with liveloop.connect(**options(emu, auto_respond=False)) as session:
        watch = await Watch.start(session)
        emu.faults.stall(True)
        await link_down(session)  # the stall was noticed
        emu.faults.stall(False)
        await watch.wait_for("reconnected")
        await session.send_text("back again")
        assert (await asyncio.wait_for(session.input(), 10)).text == "back again"
        await watch.stop()


async def test_bad_frames_unknown_and_malformed_events_do_not_break_the_session(
    emu: Emulator,
) -> None:
    async with liveloop.connect(**options(emu)) as session:
        watch = await Watch.start(session)
        faults = emu.faults
        await faults.send_event({"type": "brand.new.event", "payload": {"x": 1}})  # unknown
        await faults.send_event({"type": "x" * 1000, "blob": "y" * 2_000_000})  # unknown, huge
        await until(lambda: len(faults.injected) == 2)
        await asyncio.sleep(0.2)
        assert watch.of("error") == []  # unknown events are ignored
        await faults.send_raw("{not json")
        await faults.send_raw(b"\x00\xff\x10 binary")
        await faults.send_event(["a", "list"])
        await faults.send_event({"type": "response.output_audio.delta", "delta": 5})
        await faults.send_event({"type": "response.done", "response": "nope"})
        nested: object = {"type": "conversation.item.done"}
        for _ in range(200):
            nested = {"item": nested}
        await faults.send_event({"type": "conversation.item.done", "item": nested})
        errors = await watch.wait_for("error", count=5)  # the deep one is merely ignored
        assert {e.code for e in errors} == {"malformed_event"}
        await speak(session, "still working")
        assert (await asyncio.wait_for(session.input(), 10)).text == "still working"
        assert not session.closed
        await watch.stop()


@pytest.mark.parametrize(("code", "reason"), [(1011, "internal error"), (4000, "custom close")])
async def test_a_close_code_triggers_a_reconnect(emu: Emulator, code: int, reason: str) -> None:
    async with liveloop.connect(**options(emu, auto_respond=False)) as session:
        watch = await Watch.start(session)
        await session.send_text("before the close")
        await asyncio.wait_for(session.input(), 10)
        await emu.faults.close_sessions(code, reason)
        await watch.wait_for("reconnected")
        await session.send_text("after the close")
        assert (await asyncio.wait_for(session.input(), 10)).text == "after the close"
        await watch.stop()
    assert emu.sessions[0].close_code == code
    assert ("user", "before the close") in history_items(emu, 1)


@pytest.mark.parametrize(("code", "reason"), [(1011, "internal error"), (4000, "custom close")])
async def test_a_close_code_without_reconnect_closes_with_the_cause(
    emu: Emulator, code: int, reason: str
) -> None:
    async with liveloop.connect(**options(emu, reconnect=None)) as session:
        waiting = asyncio.create_task(session.input())
        await asyncio.sleep(0.05)
        await emu.faults.close_sessions(code, reason)
        started = time.monotonic()
        with pytest.raises(liveloop.SessionClosed) as caught:
            await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - started < 2.0
    assert isinstance(caught.value.cause, liveloop.ConnectionLost)
    assert f"code {code}: {reason}" in str(caught.value)


async def test_during_an_outage_audio_is_dropped_and_counted_and_a_queued_say_is_spoken_after(
    emu: Emulator,
) -> None:
    policy = {"attempts": 10, "within": 10.0, "initial_delay": 0.05}
    async with liveloop.connect(**options(emu, reconnect=policy, auto_respond=False)) as session:
        watch = await Watch.start(session)
        heard = Heard(session)
        emu.faults.stall(True)  # reconnects hang in the handshake until the stall ends
        await emu.faults.drop_all()
        await link_down(session)
        sent_ms, dropped = session.metrics.audio_sent_ms, session.metrics.audio_dropped_ms
        await session.send_audio(b"\x00\x00" * 24000)  # 1 s while the link is down
        speech = session.say("spoken after the outage")
        await session.send_text("typed during the outage")
        assert session.metrics.audio_dropped_ms - dropped == pytest.approx(1000)
        emu.faults.stall(False)
        await watch.wait_for("reconnected")
        done = await speech.wait(10)
        assert done.status == "done"
        assert heard.text(done.item_id or "") == "spoken after the outage"
        assert (await asyncio.wait_for(session.input(), 10)).text == "typed during the outage"
        await watch.stop()
        heard.close()
    sent = [e["type"] for e in emu.sessions[-1].client_events]
    assert "input_audio_buffer.append" not in sent  # the stale audio was not sent late
    assert session.metrics.audio_sent_ms == sent_ms
