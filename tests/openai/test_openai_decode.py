"""decode(): realistic GA server events become the right liveloop events."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable

import pytest

from liveloop.events import (
    AssistantAudio,
    AssistantTextDelta,
    AssistantTextDone,
    AssistantTranscriptDelta,
    AssistantTranscriptDone,
    ErrorEvent,
    Event,
    PlaybackStarted,
    PlaybackStopped,
    ResponseDone,
    ResponseStarted,
    SessionStarted,
    SessionUpdated,
    ToolCall,
    Usage,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscriptDelta,
)

from .conftest import (
    USAGE,
    Wire,
    function_call_item,
    response_object,
    session_object,
)

IDS = {"response_id": "resp_001", "item_id": "item_002", "output_index": 0, "content_index": 0}


def test_session_created_is_session_started(wire: Wire) -> None:
    [event] = wire.recv("session.created", session=session_object())
    assert isinstance(event, SessionStarted)
    assert event.session_id == "sess_001"
    assert event.raw is not None and event.raw["type"] == "session.created"


def test_session_updated(wire: Wire) -> None:
    [event] = wire.recv("session.updated", session=session_object())
    assert isinstance(event, SessionUpdated)
    assert event.raw is not None


def test_speech_started_and_stopped(wire: Wire) -> None:
    [started] = wire.recv(
        "input_audio_buffer.speech_started", audio_start_ms=1200, item_id="item_003"
    )
    [stopped] = wire.recv(
        "input_audio_buffer.speech_stopped", audio_end_ms=2900, item_id="item_003"
    )
    assert started == UserSpeechStarted(item_id="item_003", audio_start_ms=1200, raw=started.raw)
    assert stopped == UserSpeechStopped(item_id="item_003", audio_end_ms=2900, raw=stopped.raw)


def test_user_transcript_delta(wire: Wire) -> None:
    [event] = wire.recv(
        "conversation.item.input_audio_transcription.delta",
        item_id="item_003",
        content_index=0,
        delta="Hel",
    )
    assert isinstance(event, UserTranscriptDelta)
    assert (event.item_id, event.delta) == ("item_003", "Hel")
    assert wire.recv("conversation.item.input_audio_transcription.delta", item_id="item_003") == []


def test_response_created_carries_the_clients_metadata(wire: Wire) -> None:
    [event] = wire.recv(
        "response.created", response=response_object(metadata={"liveloop_request": "r4"})
    )
    assert isinstance(event, ResponseStarted)
    assert event.response_id == "resp_001"
    assert event.metadata == {"liveloop_request": "r4"}


def test_response_created_without_metadata(wire: Wire) -> None:
    [event] = wire.recv("response.created", response=response_object())
    assert isinstance(event, ResponseStarted)
    assert event.metadata == {}


def test_text_deltas_and_done(wire: Wire) -> None:
    [delta] = wire.recv("response.output_text.delta", **IDS, delta="Bon")
    [done] = wire.recv("response.output_text.done", **IDS, text="Bonjour")
    assert isinstance(delta, AssistantTextDelta) and delta.delta == "Bon"
    assert isinstance(done, AssistantTextDone) and done.text == "Bonjour"
    assert (done.response_id, done.item_id) == ("resp_001", "item_002")


def test_audio_transcript_deltas_and_done(wire: Wire) -> None:
    [delta] = wire.recv("response.output_audio_transcript.delta", **IDS, delta="Hi")
    [done] = wire.recv("response.output_audio_transcript.done", **IDS, transcript="Hi there")
    assert isinstance(delta, AssistantTranscriptDelta) and delta.delta == "Hi"
    assert isinstance(done, AssistantTranscriptDone) and done.transcript == "Hi there"


def test_audio_delta_is_decoded_bytes_without_raw(wire: Wire) -> None:
    pcm = b"\x00\x01" * 480
    [event] = wire.recv("response.output_audio.delta", **IDS, delta=base64.b64encode(pcm).decode())
    assert isinstance(event, AssistantAudio)
    assert event.audio == pcm
    assert event.raw is None
    assert (event.response_id, event.item_id) == ("resp_001", "item_002")


def test_audio_delta_that_is_not_base64_is_malformed(wire: Wire) -> None:
    [event] = wire.recv("response.output_audio.delta", **IDS, delta="!!not base64!!")
    assert isinstance(event, ErrorEvent) and event.code == "malformed_event"


def test_response_done_maps_status_usage_metadata_and_calls(wire: Wire) -> None:
    wire.recv(
        "response.output_item.done",
        response_id="resp_001",
        output_index=1,
        item=function_call_item(),
    )
    message = {
        "id": "item_002",
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_audio", "transcript": "Let me check"}],
    }
    [event] = wire.recv(
        "response.done",
        response=response_object(
            status="completed",
            output=[message, function_call_item()],
            metadata={"liveloop_request": "r1"},
            usage=USAGE,
        ),
    )
    assert isinstance(event, ResponseDone)
    assert event.response_id == "resp_001"
    assert event.status == "completed"
    assert event.reason is None
    assert event.usage == Usage(input_tokens=100, output_tokens=20, total_tokens=120)
    assert event.metadata == {"liveloop_request": "r1"}
    assert event.tool_call_ids == ("call_001",)


def test_response_done_cancelled_by_turn_detection(wire: Wire) -> None:
    [event] = wire.recv(
        "response.done",
        response=response_object(
            status="cancelled",
            status_details={"type": "cancelled", "reason": "turn_detected"},
            usage=USAGE,
        ),
    )
    assert isinstance(event, ResponseDone)
    assert (event.status, event.reason) == ("cancelled", "turn_detected")


def test_response_done_failed_reports_the_error(wire: Wire) -> None:
    details = {
        "type": "failed",
        "error": {"type": "server_error", "code": "rate_limited", "message": "slow down"},
    }
    [event] = wire.recv(
        "response.done", response=response_object(status="failed", status_details=details)
    )
    assert isinstance(event, ResponseDone)
    assert (event.status, event.reason, event.usage) == ("failed", "rate_limited", None)


def test_function_call_is_reported_once_across_every_event_that_describes_it(wire: Wire) -> None:
    item = function_call_item()
    events = []
    events += wire.recv(
        "response.output_item.added",
        response_id="resp_001",
        output_index=0,
        item={**item, "arguments": "", "status": "in_progress"},
    )
    events += wire.recv("conversation.item.added", item={**item, "status": "in_progress"})
    events += wire.recv(
        "response.function_call_arguments.delta",
        response_id="resp_001",
        item_id="item_fc1",
        output_index=0,
        call_id="call_001",
        delta='{"ci',
    )
    events += wire.recv(
        "response.function_call_arguments.done",
        response_id="resp_001",
        item_id="item_fc1",
        output_index=0,
        call_id="call_001",
        name="get_weather",
        arguments='{"city":"Paris"}',
    )
    events += wire.recv(
        "response.output_item.done", response_id="resp_001", output_index=0, item=item
    )
    events += wire.recv(
        "response.output_item.done", response_id="resp_001", output_index=0, item=item
    )  # a repeat
    events += wire.recv("conversation.item.done", item=item)
    events += wire.recv(
        "response.done",
        response=response_object(status="completed", output=[item], usage=USAGE),
    )
    calls = [event for event in events if isinstance(event, ToolCall)]
    assert calls == [
        ToolCall(
            call_id="call_001",
            name="get_weather",
            arguments='{"city":"Paris"}',
            item_id="item_fc1",
            response_id="resp_001",
            raw=calls[0].raw,
        )
    ]
    assert isinstance(events[-1], ResponseDone)
    assert events[-1].tool_call_ids == ("call_001",)


def test_beta_arguments_done_without_name_waits_for_the_item(wire: Wire) -> None:
    assert (
        wire.recv(
            "response.function_call_arguments.done",
            response_id="resp_001",
            item_id="item_fc1",
            output_index=0,
            call_id="call_001",
            arguments="{}",
        )
        == []
    )
    [call] = wire.recv(
        "response.output_item.done",
        response_id="resp_001",
        output_index=0,
        item=function_call_item(arguments="{}"),
    )
    assert isinstance(call, ToolCall) and call.name == "get_weather"


def test_a_call_only_seen_in_response_done_is_reported_before_it(wire: Wire) -> None:
    events = wire.recv(
        "response.done",
        response=response_object(status="completed", output=[function_call_item()], usage=USAGE),
    )
    assert [type(event) for event in events] == [ToolCall, ResponseDone]
    assert isinstance(events[0], ToolCall) and events[0].response_id == "resp_001"


def test_an_incomplete_call_is_not_run(wire: Wire) -> None:
    item = function_call_item(arguments='{"ci', status="incomplete")
    assert (
        wire.recv("response.output_item.done", response_id="resp_001", output_index=0, item=item)
        == []
    )
    [done] = wire.recv(
        "response.done",
        response=response_object(
            status="cancelled",
            status_details={"type": "cancelled", "reason": "turn_detected"},
            output=[item],
        ),
    )
    assert isinstance(done, ResponseDone) and done.tool_call_ids == ()


def test_two_calls_in_one_response(wire: Wire) -> None:
    first = function_call_item(item_id="item_a", call_id="call_a")
    second = function_call_item(item_id="item_b", call_id="call_b", name="get_time")
    events = []
    for index, item in enumerate([first, second]):
        events += wire.recv(
            "response.output_item.done", response_id="resp_001", output_index=index, item=item
        )
    events += wire.recv(
        "response.done",
        response=response_object(status="completed", output=[first, second], usage=USAGE),
    )
    assert [e.call_id for e in events if isinstance(e, ToolCall)] == ["call_a", "call_b"]
    assert isinstance(events[-1], ResponseDone)
    assert events[-1].tool_call_ids == ("call_a", "call_b")


def test_error_carries_the_client_event_id(wire: Wire) -> None:
    [event] = wire.recv(
        "error",
        error={
            "type": "invalid_request_error",
            "code": "conversation_already_has_active_response",
            "message": "Conversation already has an active response in progress: resp_001.",
            "param": None,
            "event_id": "ll_abc_12",
        },
    )
    assert isinstance(event, ErrorEvent)
    assert event.code == "conversation_already_has_active_response"
    assert event.event_id == "ll_abc_12"
    assert event.message.startswith("Conversation already has")
    assert event.raw is not None and event.raw["error"]["param"] is None


def test_error_without_correlation(wire: Wire) -> None:
    [event] = wire.recv(
        "error",
        error={"type": "server_error", "code": None, "message": "boom", "event_id": None},
    )
    assert isinstance(event, ErrorEvent)
    assert (event.code, event.event_id, event.message) == (None, None, "boom")


@pytest.mark.parametrize(
    "kind",
    [
        "conversation.created",
        "rate_limits.updated",
        "response.output_item.added",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_audio.done",
        "response.function_call_arguments.delta",
        "input_audio_buffer.cleared",
        "conversation.item.truncated",
    ],
)
def test_events_without_meaning_for_a_session_are_ignored(wire: Wire, kind: str) -> None:
    assert wire.recv(kind, response_id="resp_001", item_id="item_002") == []


def test_media_playback_events_say_which_response_plays(wire: Wire) -> None:
    [started] = wire.recv("output_audio_buffer.started", response_id="resp_001")
    assert isinstance(started, PlaybackStarted) and started.response_id == "resp_001"
    [stopped] = wire.recv("output_audio_buffer.stopped", response_id="resp_001")
    assert isinstance(stopped, PlaybackStopped) and not stopped.cleared
    [cleared] = wire.recv("output_audio_buffer.cleared", response_id="resp_001")
    assert isinstance(cleared, PlaybackStopped) and cleared.cleared


def test_assistant_items_make_no_turns(wire: Wire) -> None:
    item = {
        "id": "item_002",
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "hi"}],
    }
    assert wire.recv("conversation.item.added", item=item) == []
    assert wire.recv("conversation.item.done", item=item) == []


def test_unknown_event_types_are_ignored_and_logged_at_debug(
    wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="liveloop.openai"):
        assert wire.recv("response.brand_new_thing", foo=1) == []
    assert any("response.brand_new_thing" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        b"\xff\xfe\x00garbage",
        "[1, 2, 3]",
        '"a string"',
        "null",
        "{}",
        '{"type": 5}',
        "[" * 100_000,
    ],
)
def test_non_events_are_malformed_errors(wire: Wire, message: str | bytes) -> None:
    [event] = wire.codec.decode(message)
    assert isinstance(event, ErrorEvent)
    assert event.code == "malformed_event"


def test_utf8_bytes_are_decoded(wire: Wire) -> None:
    [event] = wire.codec.decode(b'{"type":"session.updated","event_id":"e","session":{}}')
    assert isinstance(event, SessionUpdated)


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("session.created", {}),
        ("session.created", {"session": "sess_1"}),
        ("input_audio_buffer.speech_started", {"audio_start_ms": 10}),
        ("input_audio_buffer.speech_started", {"item_id": "i", "audio_start_ms": "10"}),
        ("input_audio_buffer.speech_stopped", {"item_id": "i", "audio_end_ms": True}),
        ("input_audio_buffer.committed", {"item_id": None}),
        ("conversation.item.added", {"item": []}),
        ("conversation.item.added", {"item": {"type": "message", "role": "user"}}),
        ("conversation.item.input_audio_transcription.completed", {"item_id": "i"}),
        ("conversation.item.input_audio_transcription.delta", {"item_id": 3, "delta": "x"}),
        ("response.created", {"response": {"status": "in_progress"}}),
        ("response.output_text.delta", {"response_id": "r", "item_id": "i"}),
        ("response.output_audio_transcript.done", {"response_id": "r", "transcript": "x"}),
        ("response.output_audio.delta", {"response_id": "r", "item_id": "i", "delta": 12}),
        ("response.output_item.done", {"item": {"type": "function_call", "call_id": "c"}}),
        ("response.function_call_arguments.done", {"call_id": "c", "arguments": 1}),
        ("response.done", {"response": {"id": "r"}}),
        ("response.done", {"response": {"id": "r", "status": "completed", "usage": 5}}),
        ("response.done", {"response": {"id": "r", "status": "completed", "output": {}}}),
        ("error", {}),
        ("error", {"error": {"message": "x", "event_id": 7}}),
    ],
)
def test_known_events_with_bad_fields_are_malformed_errors(
    wire: Wire, kind: str, fields: dict[str, object]
) -> None:
    [event] = wire.recv(kind, **fields)
    assert isinstance(event, ErrorEvent)
    assert event.code == "malformed_event"
    assert kind in event.message
    assert event.raw is not None and event.raw["type"] == kind


def test_decode_keeps_working_after_a_malformed_event(make_wire: Callable[..., Wire]) -> None:
    wire = make_wire()
    wire.codec.decode("{oops")
    [event] = wire.recv("response.output_text.delta", **IDS, delta="ok")
    assert isinstance(event, AssistantTextDelta)


def test_a_bug_in_a_decoder_is_reported_not_raised(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liveloop_openai import _decode

    def broken(state: object, data: object) -> list[Event]:
        raise KeyError("oops")

    monkeypatch.setitem(_decode.DECODERS, "response.created", broken)
    [event] = wire.recv("response.created", response=response_object())
    assert isinstance(event, ErrorEvent) and event.code == "codec_error"
