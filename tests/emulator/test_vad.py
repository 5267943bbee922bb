"""Energy VAD: turn boundaries on tone speech, chunking independence, threshold, reset."""

from __future__ import annotations

import numpy as np
import pytest

from liveloop_emulator.tones import duration_ms, encode
from liveloop_emulator.vad import FRAME_MS, EnergyVAD, SpeechStarted, SpeechStopped, threshold_dbfs

RATE = 24000
Event = SpeechStarted | SpeechStopped


def silence(ms: int) -> bytes:
    return bytes(2 * RATE * ms // 1000)


def scaled(pcm: bytes, db: float) -> bytes:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64) * 10 ** (db / 20)
    return np.round(x).astype("<i2").tobytes()


def noise(ms: int, dbfs: float, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 32768 * 10 ** (dbfs / 20), RATE * ms // 1000)
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


def run(vad: EnergyVAD, pcm: bytes, chunk: int | None = None) -> list[Event]:
    if chunk is None:
        return vad.feed(pcm)
    events: list[Event] = []
    for i in range(0, len(pcm), chunk):
        events.extend(vad.feed(pcm[i : i + chunk]))
    return events


def assert_close(actual: int, expected: int, tolerance: int = FRAME_MS) -> None:
    assert abs(actual - expected) <= tolerance, (actual, expected)


TEXT = "tone speech, with spaces and punctuation: does it hold? yes!"


def test_one_utterance_gives_one_turn() -> None:
    speech_ms = duration_ms(TEXT)
    vad = EnergyVAD(prefix_padding_ms=300, silence_duration_ms=500)
    events = run(vad, silence(1000) + encode(TEXT) + silence(1000))
    assert len(events) == 2
    start, stop = events
    assert isinstance(start, SpeechStarted)
    assert isinstance(stop, SpeechStopped)
    assert_close(start.audio_start_ms, 1000 - 300)
    assert_close(stop.audio_end_ms, 1000 + speech_ms + 500)
    assert not vad.in_speech
    assert vad.position_ms == 2000 + speech_ms


def test_prefix_padding_floors_at_zero() -> None:
    events = EnergyVAD(prefix_padding_ms=300).feed(silence(100) + encode("hi") + silence(800))
    assert isinstance(events[0], SpeechStarted)
    assert events[0].audio_start_ms == 0


def test_in_speech_while_talking() -> None:
    vad = EnergyVAD()
    assert vad.feed(silence(200) + encode("hello")) == [SpeechStarted(0)]
    assert vad.in_speech
    events = vad.feed(silence(600))
    assert len(events) == 1
    assert isinstance(events[0], SpeechStopped)
    assert not vad.in_speech


@pytest.mark.parametrize(("pause_ms", "turns"), [(800, 2), (300, 1), (490, 1)])
def test_pause_length_decides_turns(pause_ms: int, turns: int) -> None:
    vad = EnergyVAD(silence_duration_ms=500)
    pcm = silence(500) + encode("first") + silence(pause_ms) + encode("second") + silence(700)
    events = vad.feed(pcm)
    assert len(events) == 2 * turns
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped] * turns
    if turns == 2:
        second_start = 500 + duration_ms("first") + pause_ms
        assert isinstance(events[2], SpeechStarted)
        assert_close(events[2].audio_start_ms, second_start - 300)


def test_long_speech_never_stops_midway() -> None:
    text = ("a long reply, full of spaces... and punctuation; " * 5)[: 10 * 1000 // 60]
    vad = EnergyVAD(silence_duration_ms=300, prefix_padding_ms=0)
    speech = encode(text)
    assert len(speech) / 2 / RATE >= 9.9
    events = run(vad, silence(400) + speech + silence(400), chunk=480)
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]
    assert_close(events[0].audio_start_ms, 400)
    assert isinstance(events[1], SpeechStopped)
    assert_close(events[1].audio_end_ms, 400 + duration_ms(text) + 300)


def test_chunking_does_not_change_events() -> None:
    pcm = (
        silence(333)
        + encode("one")
        + silence(900)
        + encode("two, three")
        + silence(200)
        + encode("four")
        + silence(750)
        + b"\x01"
    )
    whole = run(EnergyVAD(), pcm)
    assert len(whole) == 4
    assert run(EnergyVAD(), pcm, chunk=7) == whole
    assert run(EnergyVAD(), pcm, chunk=1) == whole
    rng = np.random.default_rng(9)
    vad = EnergyVAD()
    events: list[Event] = []
    i = 0
    while i < len(pcm):
        step = int(rng.integers(1, 3001))
        events.extend(vad.feed(pcm[i : i + step]))
        i += step
    assert events == whole
    assert vad.position_ms == len(pcm) // 2 * 1000 // RATE


def test_position_counts_odd_bytes_once_complete() -> None:
    vad = EnergyVAD()
    vad.feed(b"\x00" * 47)  # 23 samples + 1 byte
    assert vad.position_ms == 0
    vad.feed(b"\x00" * 48001)  # 48048 bytes in all -> 24024 samples
    assert vad.position_ms == 1001


def test_threshold_mapping() -> None:
    assert threshold_dbfs(0.0) == -80
    assert threshold_dbfs(0.5) == -40
    assert threshold_dbfs(1.0) == 0
    with pytest.raises(ValueError):
        EnergyVAD(threshold=1.5)


@pytest.mark.parametrize("gain_db", [0.0, -20.0])
def test_default_threshold_hears_tone_speech(gain_db: float) -> None:
    events = EnergyVAD().feed(silence(500) + scaled(encode(TEXT), gain_db) + silence(600))
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]


@pytest.mark.parametrize("dbfs", [-50.0, -60.0])
def test_default_threshold_ignores_low_noise(dbfs: float) -> None:
    vad = EnergyVAD()
    assert vad.feed(noise(3000, dbfs)) == []
    assert vad.feed(silence(1000)) == []
    assert not vad.in_speech


def test_higher_threshold_needs_louder_audio() -> None:
    quiet = silence(500) + scaled(encode(TEXT), -40.0) + silence(600)  # about -49 dBFS
    assert EnergyVAD(threshold=0.5).feed(quiet) == []
    assert len(EnergyVAD(threshold=0.3).feed(quiet)) == 2
    loud = silence(500) + encode(TEXT) + silence(600)  # about -9 dBFS
    assert EnergyVAD(threshold=0.95).feed(loud) == []


def test_clicks_are_ignored() -> None:
    click = np.zeros(RATE * FRAME_MS // 1000, dtype="<i2")
    click[::7] = 20000
    pcm = silence(500) + click.tobytes() + silence(500)
    assert EnergyVAD().feed(pcm) == []


def test_reset_forgets_everything() -> None:
    vad = EnergyVAD()
    vad.feed(silence(300) + encode("hello") + b"\x01")
    assert vad.in_speech
    vad.reset()
    assert not vad.in_speech
    assert vad.position_ms == 0
    events = vad.feed(silence(1000) + encode("again") + silence(600))
    assert isinstance(events[0], SpeechStarted)
    assert_close(events[0].audio_start_ms, 700)
