"""Track audio is attributed to the provider's item ids by the WebRTC media channel, never
to an id the provider did not give, and by the track's RTP clock, not by when it is read."""

from __future__ import annotations

from typing import Any

from liveloop_openai_webrtc.attribution import TrackAttribution

FRAME = 960  # 20 ms on the 48 kHz RTP clock
LOUD = b"\x00\x10" * 480  # 20 ms of sound at 24 kHz
QUIET = b"\x00\x00" * 480  # 20 ms of silence


def item_added(response_id: str, item_id: str, kind: str = "message") -> dict[str, Any]:
    item = {"id": item_id, "type": kind, "role": "assistant"}
    return {"type": "response.output_item.added", "response_id": response_id, "item": item}


def playback(what: str, response_id: str) -> dict[str, Any]:
    return {"type": f"output_audio_buffer.{what}", "response_id": response_id}


def packets(track: TrackAttribution, first: int, last: int, origin: int = 0) -> None:
    """Frames ``first`` to ``last`` arrive (not yet decoded or read)."""
    for frame in range(first, last + 1):
        track.arrived((origin + frame * FRAME) % (1 << 32))


def ids(track: TrackAttribution, frames: range, pcm: bytes = LOUD) -> list[str | None]:
    """Read frames (sent at these frame numbers): the item each went to."""
    chunks = [track.attribute(pcm, frame * FRAME) for frame in frames]
    return [chunk.item_id if chunk else None for chunk in chunks]


def test_audio_waits_for_its_item_and_then_carries_the_providers_id() -> None:
    track = TrackAttribution()
    assert track.on_event(item_added("resp_1", "call_1", kind="function_call")) == []
    packets(track, 0, 2)
    track.on_event(playback("started", "resp_1"))
    assert ids(track, range(3, 5)) == [None, None]  # the spoken item is not known yet
    released = track.on_event(item_added("resp_1", "item_1"))
    assert [(c.response_id, c.item_id) for c in released] == [("resp_1", "item_1")] * 2
    assert ids(track, range(5, 6)) == ["item_1"]


def test_audio_before_any_announced_playback_is_dropped_not_invented() -> None:
    track = TrackAttribution()
    packets(track, 0, 0)
    assert ids(track, range(1)) == [None]
    assert track.dropped_chunks == 1


def test_the_next_response_takes_over_where_its_start_was_announced_on_the_track() -> None:
    track = TrackAttribution()
    track.on_event(item_added("resp_1", "item_1"))
    track.on_event(item_added("resp_2", "item_2"))
    packets(track, 0, 4)
    track.on_event(playback("started", "resp_1"))
    packets(track, 5, 20)
    track.on_event(playback("stopped", "resp_1"))
    track.on_event(playback("started", "resp_2"))  # back to back: no pause between
    packets(track, 21, 30)
    # Read late (a busy loop, the jitter buffer): the events are long past, the frames
    # still go by where they were sent.
    assert ids(track, range(5)) == [None] * 5
    assert ids(track, range(5, 21)) == ["item_1"] * 16
    assert ids(track, range(21, 31)) == ["item_2"] * 10


def test_a_stopped_response_keeps_its_last_frames_then_the_track_is_nobodys() -> None:
    track = TrackAttribution()
    track.on_event(item_added("resp_1", "item_1"))
    packets(track, 0, 0)
    track.on_event(playback("started", "resp_1"))
    packets(track, 1, 10)
    track.on_event(playback("stopped", "resp_1"))
    assert ids(track, range(1, 13)) == ["item_1"] * 12  # two more: sent after the event
    assert ids(track, range(13, 15)) == [None, None]
    assert track.dropped_chunks == 2


def test_a_pause_just_before_the_announced_start_is_the_switch() -> None:
    # The provider sent the start a frame after the new response's first audio.
    track = TrackAttribution()
    track.on_event(item_added("resp_1", "item_1"))
    track.on_event(item_added("resp_2", "item_2"))
    packets(track, 0, 0)
    track.on_event(playback("started", "resp_1"))
    packets(track, 1, 12)
    track.on_event(playback("started", "resp_2"))
    assert ids(track, range(1, 10)) == ["item_1"] * 9
    assert ids(track, range(10, 11), QUIET) == ["item_2"]
    assert ids(track, range(11, 14)) == ["item_2"] * 3


def test_a_pause_long_before_the_announced_start_is_part_of_the_reply() -> None:
    track = TrackAttribution()
    track.on_event(item_added("resp_1", "item_1"))
    track.on_event(item_added("resp_2", "item_2"))
    packets(track, 0, 0)
    track.on_event(playback("started", "resp_1"))
    packets(track, 1, 20)
    track.on_event(playback("started", "resp_2"))
    assert ids(track, range(1, 5)) + ids(track, range(5, 6), QUIET) == ["item_1"] * 5
    assert ids(track, range(6, 21)) == ["item_1"] * 15
    assert ids(track, range(21, 22)) == ["item_2"]


def test_cleared_audio_is_not_attributed_any_more() -> None:
    track = TrackAttribution()
    track.on_event(item_added("resp_1", "item_1"))
    packets(track, 0, 0)
    track.on_event(playback("started", "resp_1"))
    packets(track, 1, 10)
    track.on_event(playback("cleared", "resp_1"))
    assert ids(track, range(1, 11)) == [None] * 10


def test_the_rtp_clock_wraps() -> None:
    track = TrackAttribution()
    track.on_event(item_added("resp_1", "item_1"))
    track.on_event(item_added("resp_2", "item_2"))
    origin = (1 << 32) - 5 * FRAME  # the timestamp wraps after frame 4
    packets(track, 0, 0, origin)
    track.on_event(playback("started", "resp_1"))
    packets(track, 1, 8, origin)
    track.on_event(playback("started", "resp_2"))
    packets(track, 9, 10, origin)
    assert ids(track, range(1, 9)) == ["item_1"] * 8
    assert ids(track, range(9, 11)) == ["item_2"] * 2
