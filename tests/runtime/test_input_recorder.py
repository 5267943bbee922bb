"""The user-audio recorder that attaches turn.audio: manual turns and reconnects."""

from __future__ import annotations

import pytest

from liveloop._runtime import recorder as recorder_module
from liveloop._runtime.recorder import InputRecorder

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
    assert len(recorder.buf) <= 2100 * BYTES_PER_MS


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
