"""Tone speech survives the phone line: G.711 µ-law at 8 kHz, both ways."""

from __future__ import annotations

import pytest

from liveloop import AudioFormat
from liveloop.testing import _g711
from liveloop_emulator import tones
from liveloop_twilio.audio import CALL_FORMAT, FRAME_BYTES, SILENCE, Transcoder, is_loud

TEXT = "press one for the front desk, two for rooms."


def test_tone_speech_survives_ulaw_at_8k() -> None:
    ulaw = _g711.pcm16_to_ulaw(tones.encode(TEXT, 8000))
    assert len(ulaw) == tones.duration_ms(TEXT, 8000) * 8
    assert tones.decode(_g711.ulaw_to_pcm16(ulaw), 8000) == tones.sanitize(TEXT)


@pytest.mark.parametrize("rate", [16000, 24000])
def test_transcoded_both_ways_in_20ms_chunks(rate: int) -> None:
    provider = AudioFormat(encoding="pcm16", rate=rate)
    codec = Transcoder(provider, provider)
    assert not codec.passthrough
    # Provider speech to the caller, then the caller's speech to the provider.
    pcm = tones.encode(TEXT, rate) + b"\x00\x00" * rate
    step = rate // 50 * 2
    ulaw = b"".join(codec.to_call(pcm[i : i + step]) for i in range(0, len(pcm), step))
    # The streaming resampler holds back its filter's delay (well under 100 ms).
    assert 0 <= len(pcm) // 2 * 8000 // rate - len(ulaw) <= 800
    assert tones.decode(_g711.ulaw_to_pcm16(ulaw), 8000) == tones.sanitize(TEXT)
    back = b"".join(codec.to_provider(ulaw[i : i + 160]) for i in range(0, len(ulaw), 160))
    assert tones.decode(back, rate) == tones.sanitize(TEXT)


def test_ulaw_passes_through_untouched() -> None:
    codec = Transcoder(CALL_FORMAT, CALL_FORMAT)
    frame = bytes(range(160))
    assert codec.passthrough
    assert codec.to_provider(frame) is frame
    assert codec.to_call(frame) is frame


def test_speech_frames_are_loud_and_line_silence_is_not() -> None:
    # The bridge appends frame by frame where the level changes (see bridge.py).
    speech = _g711.pcm16_to_ulaw(tones.encode(TEXT, 8000))
    frames = [speech[i : i + FRAME_BYTES] for i in range(0, len(speech), FRAME_BYTES)]
    assert sum(map(is_loud, frames)) > len(frames) * 3 // 4
    assert not is_loud(SILENCE * FRAME_BYTES)
    hiss = _g711.pcm16_to_ulaw(
        b"".join(n.to_bytes(2, "little", signed=True) for n in [40, -40] * 80)
    )
    assert not is_loud(hiss)  # -58 dBFS: a line's idle noise
