"""The user-audio recorder that attaches turn.audio: manual turns and reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from liveloop._runtime import recorder as recorder_module
from liveloop._runtime.recorder import InputRecorder
from liveloop.events import ErrorEvent, UserTurn
from liveloop.turns import SessionTurn

BYTES_PER_MS = 48.0  # PCM16 at 24 kHz


def ms(n: int, value: int = 1) -> bytes:
    return bytes([value, 0]) * int(n * BYTES_PER_MS / 2)


def test_a_manual_turn_keeps_all_its_audio() -> None:
    recorder = InputRecorder(BYTES_PER_MS, manual=True)
    for _ in range(50):
        recorder.append(ms(100))  # five seconds, far past the preroll
    recorder.commit()
    recorder.append(ms(500, 2))  # the next turn has begun
    audio = recorder.take("item_1", 0, 5000)
    assert audio is not None and len(audio) == 5000 * BYTES_PER_MS


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_voice_turns_keep_only_the_preroll_until_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(recorder_module.time, "monotonic", clock)
    recorder = InputRecorder(BYTES_PER_MS)
    for _ in range(50):  # a microphone: 100 ms of audio every 100 ms
        recorder.append(ms(100))
        clock.now += 0.1
    # What the last 2 s sent plus at most one trim step (old audio is dropped in steps).
    assert len(recorder.buf) <= 2100 * BYTES_PER_MS + recorder_module._TRIM_BYTES
    assert recorder.start > 0


def test_a_fast_sender_keeps_what_the_provider_may_still_pin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(recorder_module.time, "monotonic", clock)
    recorder = InputRecorder(BYTES_PER_MS)
    for _ in range(30):  # three seconds of audio sent in 30 ms
        recorder.append(ms(100))
        clock.now += 0.001
    recorder.pin("item_1", 0)  # speech_started arrives late, pointing at the start
    audio = recorder.take("item_1", 0, 3000)
    assert audio is not None and len(audio) == 3000 * BYTES_PER_MS


def test_provider_times_restart_with_each_connection() -> None:
    recorder = InputRecorder(BYTES_PER_MS)
    recorder.append(ms(500, 1))
    recorder.new_connection()
    recorder.pin("item_2", 0)
    recorder.append(ms(300, 2))
    audio = recorder.take("item_2", 0, 300)
    assert audio == ms(300, 2)  # not the first connection's audio


async def test_manual_turns_are_timed_by_the_session_from_its_commits(
    make_runtime: Callable[..., Any],
) -> None:
    session, links = await make_runtime(turn_detection=None, auto_respond=False)
    conn = links.opened[0]
    await session.send_audio(ms(1000, 1))
    await session.commit_audio()
    await session.send_audio(ms(500, 2))  # thrown away
    await session.clear_audio()
    await session.send_audio(ms(1500, 3))
    await session.commit_audio()
    for item_id in ("item_1", "item_2"):
        conn.push(UserTurn(turn=SessionTurn(text=item_id, channel="audio", item_id=item_id)))
    first, second = await session.input(), await session.input()
    assert (first.started_ms, first.ended_ms) == (0, 1000)
    assert (second.started_ms, second.ended_ms) == (1500, 3000)
    assert first.audio == ms(1000, 1) and second.audio == ms(1500, 3)


async def test_a_refused_manual_commit_does_not_shift_later_timings(
    make_runtime: Callable[..., Any],
) -> None:
    session, links = await make_runtime(turn_detection=None, auto_respond=False)
    conn = links.opened[0]
    await session.send_audio(ms(20))
    await session.commit_audio()
    await until(lambda: bool(conn.sent_kinds("commit_audio")))
    [refused] = conn.sent_kinds("commit_audio")
    conn.push(
        ErrorEvent(message="buffer too small", code="too_small", event_id=refused["event_id"])
    )
    await session.send_audio(ms(1000, 2))
    await session.commit_audio()
    conn.push(UserTurn(turn=SessionTurn(text="one", channel="audio", item_id="item_1")))
    turn = await session.input()
    assert (turn.started_ms, turn.ended_ms) == (20, 1020)
    assert turn.audio == ms(1000, 2)


async def until(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + 3
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_audio_on_a_media_track_is_counted_not_kept() -> None:
    recorder = InputRecorder(BYTES_PER_MS, manual=True)
    recorder.append(ms(100))
    for _ in range(20):
        recorder.append(ms(100), keep=False)
    assert recorder.buf == bytearray() and recorder.total == 2100 * BYTES_PER_MS
    recorder.commit()  # a manual turn is still timed on the provider's clock
    turn = SessionTurn(text="hi", channel="audio", item_id="item_1")
    done = recorder.complete(turn, keeps_audio=False)
    assert (done.started_ms, done.ended_ms, done.audio) == (0, 2100, None)
