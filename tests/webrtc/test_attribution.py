"""Track audio is attributed to the provider's item ids by the WebRTC media channel, never
to an id the provider did not give."""

from __future__ import annotations

from typing import Any

from liveloop_openai_webrtc.attribution import TrackAttribution

BYTES_PER_MS = 48.0
LOUD = b"\x00\x10" * 480  # 20 ms of sound
QUIET = b"\x00\x00" * 480  # 20 ms of silence


def item_added(response_id: str, item_id: str, kind: str = "message") -> dict[str, Any]:
    item = {"id": item_id, "type": kind, "role": "assistant"}
    return {"type": "response.output_item.added", "response_id": response_id, "item": item}


def started(response_id: str) -> dict[str, Any]:
    return {"type": "output_audio_buffer.started", "response_id": response_id}


def test_audio_waits_for_its_item_and_then_carries_the_providers_id() -> None:
    track = TrackAttribution(BYTES_PER_MS)
    assert track.on_event(item_added("resp_1", "call_1", kind="function_call")) == []
    track.on_event(started("resp_1"))
    assert track.attribute(LOUD) is None  # the response's spoken item is not known yet
    assert track.attribute(LOUD) is None
    released = track.on_event(item_added("resp_1", "item_1"))
    assert [(c.response_id, c.item_id) for c in released] == [("resp_1", "item_1")] * 2
    chunk = track.attribute(LOUD)
    assert chunk is not None and (chunk.response_id, chunk.item_id) == ("resp_1", "item_1")


def test_audio_before_any_announced_playback_is_dropped_not_invented() -> None:
    track = TrackAttribution(BYTES_PER_MS)
    assert track.attribute(LOUD) is None
    assert track.dropped_chunks == 1


def test_the_next_response_takes_over_after_the_measured_lag_or_a_pause() -> None:
    track = TrackAttribution(BYTES_PER_MS)
    track.on_event(item_added("resp_1", "item_1"))
    track.on_event(item_added("resp_2", "item_2"))
    track.on_event(started("resp_1"))
    for _ in range(3):  # the track lags its events by 60 ms of silence
        track.attribute(QUIET)
    assert track.attribute(LOUD) is not None  # first sound: the lag is measured
    track.on_event(started("resp_2"))
    tail = [track.attribute(LOUD) for _ in range(3)]  # resp_1's last audio still arrives
    assert [c.item_id for c in tail if c] == ["item_1"] * 3
    after = track.attribute(LOUD)
    assert after is not None and after.item_id == "item_2"
