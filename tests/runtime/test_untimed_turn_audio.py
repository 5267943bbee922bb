"""turn.audio when the provider detects turns but says no speech offsets (an
``UntimedSpeech`` codec): each spoken turn gets the audio sent since the previous spoken
turn ended, up to where its speech was known to have stopped."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest

import liveloop
from liveloop._runtime import recorder as recorder_module
from liveloop._runtime.recorder import InputRecorder
from liveloop.codec import UntimedSpeech
from liveloop.events import UserSpeechStarted, UserSpeechStopped, UserTurn
from liveloop.session import Session
from liveloop.turns import SessionTurn

from .conftest import CAPABILITY, FakeConnection, PassThroughCodec

BYTES_PER_MS = 48.0  # PCM16 at 24 kHz


def ms(n: int, value: int = 1) -> bytes:
    return bytes([value, 0]) * int(n * BYTES_PER_MS / 2)


def spoken(item_id: str) -> SessionTurn:
    return SessionTurn(text=item_id, channel="audio", item_id=item_id)


def test_consecutive_turns_split_the_audio_at_their_stops() -> None:
    recorder = InputRecorder(BYTES_PER_MS, untimed=True)
    recorder.append(ms(700, 1))
    recorder.stopped("gu_1")
    recorder.append(ms(300, 2))  # sent while the reply plays, before the turn is complete
    first = recorder.complete(spoken("gu_1"), keeps_audio=True)
    recorder.append(ms(400, 3))
    recorder.stopped("gu_2")
    second = recorder.complete(spoken("gu_2"), keeps_audio=True)
    assert first.audio == ms(700, 1)
    assert (first.started_ms, first.ended_ms) == (0, 700)
    # The audio after the first turn's stop is the second turn's: nothing is shared.
    assert second.audio == ms(300, 2) + ms(400, 3)
    assert (second.started_ms, second.ended_ms) == (700, 1400)


def test_a_turn_with_no_stop_ends_where_it_completes() -> None:
    recorder = InputRecorder(BYTES_PER_MS, untimed=True)
    recorder.append(ms(500))
    turn = recorder.complete(spoken("gu_1"), keeps_audio=True)
    assert turn.audio == ms(500) and turn.ended_ms == 500


def test_speech_that_made_no_turn_belongs_to_the_next_turn() -> None:
    recorder = InputRecorder(BYTES_PER_MS, untimed=True)
    recorder.append(ms(200, 1))
    recorder.stopped("gu_1")  # a cough: nothing transcribed, no turn
    recorder.append(ms(300, 2))
    recorder.stopped("gu_2")
    turn = recorder.complete(spoken("gu_2"), keeps_audio=True)
    assert turn.audio == ms(200, 1) + ms(300, 2)
    assert recorder.stops == {}


def test_untimed_turns_keep_at_most_the_recorders_maximum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recorder_module, "_MAX_RECORDED_MS", 2000)
    monkeypatch.setattr(recorder_module, "_TRIM_BYTES", 4800)
    recorder = InputRecorder(BYTES_PER_MS, untimed=True)
    for _ in range(100):  # ten seconds with no turn
        recorder.append(ms(100))
    assert len(recorder.buf) <= 2000 * BYTES_PER_MS + 4800
    recorder.stopped("gu_1")
    turn = recorder.complete(spoken("gu_1"), keeps_audio=True)
    assert turn.audio is not None and len(turn.audio) == 2000 * BYTES_PER_MS
    assert (turn.started_ms, turn.ended_ms) == (8000, 10000)


def test_after_a_turn_the_audio_before_it_is_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(recorder_module.time, "monotonic", lambda: clock[0])
    recorder = InputRecorder(BYTES_PER_MS, untimed=True)
    for _ in range(50):  # a microphone: five seconds of audio, 100 ms every 100 ms
        recorder.append(ms(100))
        clock[0] += 0.1
    assert recorder.start == 0  # all of it may still be the first turn's
    recorder.complete(spoken("gu_1"), keeps_audio=True)
    for _ in range(30):
        recorder.append(ms(100, 2))
        clock[0] += 0.1
    # Only what the preroll and the provider's pin latency need is kept past a turn.
    assert recorder.start >= 5000 * BYTES_PER_MS - recorder_module._TRIM_BYTES


def test_a_new_connection_starts_the_next_turn_afresh() -> None:
    recorder = InputRecorder(BYTES_PER_MS, untimed=True)
    recorder.append(ms(500, 1))
    recorder.stopped("gu_1")
    recorder.new_connection()
    recorder.append(ms(300, 2))
    recorder.stopped("gu_1")  # the new connection numbers its turns afresh
    turn = recorder.complete(spoken("gu_1"), keeps_audio=True)
    assert turn.audio == ms(300, 2) and (turn.started_ms, turn.ended_ms) == (0, 300)


def test_timed_turns_ignore_the_untimed_bookkeeping() -> None:
    recorder = InputRecorder(BYTES_PER_MS)
    recorder.append(ms(500))
    recorder.stopped("item_1")
    assert recorder.stops == {}
    turn = recorder.complete(spoken("item_1"), keeps_audio=True)
    assert turn.audio is None and turn.started_ms is None


def test_typed_turns_take_no_audio() -> None:
    recorder = InputRecorder(BYTES_PER_MS, untimed=True)
    recorder.append(ms(500, 1))
    typed = recorder.complete(SessionTurn(text="hi", channel="text"), keeps_audio=True)
    recorder.stopped("gu_1")
    turn = recorder.complete(spoken("gu_1"), keeps_audio=True)
    assert typed.audio is None and turn.audio == ms(500, 1)


class UntimedCodec(PassThroughCodec):
    untimed_speech: Literal[True] = True


async def test_a_session_over_an_untimed_codec_gives_turns_their_audio() -> None:
    assert isinstance(UntimedCodec(), UntimedSpeech)
    assert not isinstance(PassThroughCodec(), UntimedSpeech)
    connection = FakeConnection()
    session = Session(
        config=liveloop.SessionConfig(provider="fake", transport="memory"),
        codec=UntimedCodec(),
        connection=connection,
        capability=CAPABILITY,
    )
    await session._start()
    try:
        for item_id, value in (("gu_1", 1), ("gu_2", 2)):
            await session.send_audio(ms(600, value))
            connection.push(UserSpeechStarted(item_id=item_id))
            connection.push(UserSpeechStopped(item_id=item_id))
            connection.push(UserTurn(turn=spoken(item_id)))
            turn = await asyncio.wait_for(session.input(), 3)
            assert turn.audio == ms(600, value)
            assert turn.audio_format == session.config.input_audio
    finally:
        await session.close()
