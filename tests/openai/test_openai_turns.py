"""User turns: complete when transcribed, released in commit order, typed text included,
restored history never echoed back as a turn."""

from __future__ import annotations

from collections.abc import Callable

from liveloop.actions import AddHistory, AppendAudio, CommitAudio, SendText
from liveloop.events import Event, UserTurn
from liveloop.turns import SessionTurn

from .conftest import Wire, transcription_usage, user_audio_item, user_text_item

COMPLETED = "conversation.item.input_audio_transcription.completed"


def turns(events: list[Event]) -> list[SessionTurn]:
    return [event.turn for event in events if isinstance(event, UserTurn)]


def commit(wire: Wire, item_id: str, previous: str | None = None) -> list[Event]:
    """What the server sends when a user's audio is committed (VAD or manual)."""
    events = wire.recv("input_audio_buffer.committed", item_id=item_id, previous_item_id=previous)
    events += wire.recv("conversation.item.added", item=user_audio_item(item_id))
    events += wire.recv("conversation.item.done", item=user_audio_item(item_id))
    return events


def transcribed(wire: Wire, item_id: str, text: str) -> list[Event]:
    return wire.recv(
        COMPLETED,
        item_id=item_id,
        content_index=0,
        transcript=text,
        usage=transcription_usage(),
    )


def test_a_spoken_turn_is_released_when_its_transcript_completes(wire: Wire) -> None:
    wire.recv("input_audio_buffer.speech_started", audio_start_ms=1000, item_id="item_1")
    wire.recv("input_audio_buffer.speech_stopped", audio_end_ms=2500, item_id="item_1")
    assert turns(commit(wire, "item_1")) == []
    events = transcribed(wire, "item_1", "Book a table for two")
    [turn] = turns(events)
    assert turn.text == "Book a table for two"
    assert turn.channel == "audio"
    assert turn.item_id == "item_1"
    assert (turn.started_ms, turn.ended_ms) == (1000, 2500)
    assert turn.interrupted is False
    [event] = events
    assert event.raw is not None and event.raw["type"] == COMPLETED


def test_a_later_transcript_waits_for_the_earlier_turn(wire: Wire) -> None:
    commit(wire, "item_1")
    commit(wire, "item_2", previous="item_1")
    assert turns(transcribed(wire, "item_2", "second")) == []
    released = turns(transcribed(wire, "item_1", "first"))
    assert [turn.text for turn in released] == ["first", "second"]


def test_three_turns_out_of_order(wire: Wire) -> None:
    for item_id in ("a", "b", "c"):
        commit(wire, item_id)
    assert turns(transcribed(wire, "c", "3")) == []
    assert [t.text for t in turns(transcribed(wire, "a", "1"))] == ["1"]
    assert [t.text for t in turns(transcribed(wire, "b", "2"))] == ["2", "3"]


def test_a_failed_transcription_releases_an_empty_turn_with_the_error(wire: Wire) -> None:
    commit(wire, "item_1")
    commit(wire, "item_2")
    transcribed(wire, "item_2", "after")
    error = {"type": "transcription_error", "code": "audio_unintelligible", "message": "?"}
    events = wire.recv(
        "conversation.item.input_audio_transcription.failed",
        item_id="item_1",
        content_index=0,
        error=error,
    )
    first, second = turns(events)
    assert first.text == "" and first.metadata == {"transcription_error": error}
    assert second.text == "after"


def test_without_transcription_turns_are_released_at_commit(
    make_wire: Callable[..., Wire],
) -> None:
    wire = make_wire(input_transcription=None)
    [turn] = turns(commit(wire, "item_1"))
    assert (turn.text, turn.channel, turn.item_id) == ("", "audio", "item_1")
    assert turns(transcribed(wire, "item_1", "late")) == []  # never a second turn


def test_the_providers_session_says_whether_it_transcribes(wire: Wire) -> None:
    session = {"type": "realtime", "audio": {"input": {"transcription": None}}}
    wire.recv("session.updated", session=session)
    assert len(turns(commit(wire, "item_1"))) == 1


def test_typed_text_is_a_turn_once(wire: Wire) -> None:
    wire.send(SendText(text="hello there"))
    [turn] = turns(
        wire.recv("conversation.item.added", item=user_text_item("item_t", "hello there"))
    )
    assert (turn.text, turn.channel, turn.item_id) == ("hello there", "text", "item_t")
    assert (turn.started_ms, turn.ended_ms) == (None, None)
    assert (
        turns(wire.recv("conversation.item.done", item=user_text_item("item_t", "hello there")))
        == []
    )


def test_typed_text_waits_behind_an_untranscribed_spoken_turn(wire: Wire) -> None:
    commit(wire, "item_1")
    wire.send(SendText(text="typed"))
    assert turns(wire.recv("conversation.item.added", item=user_text_item("item_2", "typed"))) == []
    released = turns(transcribed(wire, "item_1", "spoken"))
    assert [(t.text, t.channel) for t in released] == [("spoken", "audio"), ("typed", "text")]


def test_a_text_item_from_elsewhere_is_still_a_turn(wire: Wire) -> None:
    # e.g. created by a browser on a WebRTC call this session's sideband watches
    [turn] = turns(wire.recv("conversation.item.added", item=user_text_item("item_x", "hi")))
    assert turn.text == "hi"


def test_restored_history_is_not_a_new_turn(wire: Wire) -> None:
    wire.send(AddHistory(role="user", text="I'd like pasta"))
    wire.send(AddHistory(role="assistant", text="Pasta it is"))
    wire.send(SendText(text="I'd like pasta"))  # the user says it again, for real
    first = wire.recv("conversation.item.added", item=user_text_item("item_h", "I'd like pasta"))
    again = wire.recv("conversation.item.added", item=user_text_item("item_n", "I'd like pasta"))
    assert turns(first) == []
    [turn] = turns(again)
    assert turn.item_id == "item_n"


def test_a_deleted_item_does_not_block_later_turns(wire: Wire) -> None:
    commit(wire, "item_1")
    commit(wire, "item_2")
    transcribed(wire, "item_2", "kept")
    [turn] = turns(wire.recv("conversation.item.deleted", item_id="item_1"))
    assert turn.text == "kept"


def test_transcript_for_an_item_never_committed_is_a_turn(wire: Wire) -> None:
    [turn] = turns(transcribed(wire, "item_9", "surprise"))
    assert (turn.text, turn.item_id) == ("surprise", "item_9")


def test_manual_turns_are_left_for_the_session_to_time(make_wire: Callable[..., Wire]) -> None:
    # The provider does not time manual commits; the session's recorder does (once).
    wire = make_wire(turn_detection=None)
    wire.send(AppendAudio(audio=b"\x00\x00" * 24_000))
    wire.send(CommitAudio())
    commit(wire, "item_1")
    [turn] = turns(transcribed(wire, "item_1", "one"))
    assert (turn.started_ms, turn.ended_ms) == (None, None)
