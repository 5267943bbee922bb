"""Gemini Live server messages -> liveloop events: turns, responses, barge-in, tools,
resumption, and bad input that never raises."""

from __future__ import annotations

import base64
import json
from typing import Any

from _gemini_helpers import ready_codec

from liveloop.events import (
    AssistantAudio,
    AssistantTextDelta,
    AssistantTextDone,
    AssistantTranscriptDelta,
    AssistantTranscriptDone,
    ErrorEvent,
    GoingAway,
    ResponseDone,
    ResponseStarted,
    ResumptionHandle,
    SessionStarted,
    SessionUpdated,
    ToolCall,
    ToolCallCancelled,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscriptDelta,
    UserTurn,
)
from liveloop_gemini import GeminiCodec


def content(**fields: Any) -> str:
    return json.dumps({"serverContent": fields})


def audio_part(pcm: bytes, *, urlsafe: bool = False) -> dict[str, Any]:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    data = encode(pcm).decode().rstrip("=" if urlsafe else "")
    return {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data}}


def kinds(events: list[Any]) -> list[str]:
    return [type(event).__name__ for event in events]


def test_setup_complete_starts_and_confirms_the_session() -> None:
    codec = ready_codec()
    events = codec.decode('{"setupComplete": {"sessionId": "s1"}}')
    assert isinstance(events[0], SessionStarted) and events[0].session_id == "s1"
    assert isinstance(events[1], SessionUpdated)


def test_a_spoken_turn_and_its_answer(codec: GeminiCodec) -> None:
    events = codec.decode(content(inputTranscription={"text": " what's the"}))
    events += codec.decode(content(input_transcription={"text": " time", "finished": True}))
    assert kinds(events) == [
        "UserSpeechStarted",
        "UserTranscriptDelta",
        "UserTranscriptDelta",
        "UserSpeechStopped",
        "UserTurn",
    ]
    turn = events[-1]
    assert isinstance(turn, UserTurn)
    assert turn.turn.text == "what's the time" and turn.turn.channel == "audio"
    item = turn.turn.item_id
    assert isinstance(events[0], UserSpeechStarted) and events[0].item_id == item

    answer = codec.decode(content(modelTurn={"parts": [audio_part(b"\x01\x02" * 8)]}))
    answer += codec.decode(content(outputTranscription={"text": "It is "}))
    answer += codec.decode(content(output_transcription={"text": "noon."}))
    answer += codec.decode(content(generationComplete=True))
    answer += codec.decode(
        json.dumps(
            {
                "serverContent": {"turnComplete": True},
                "usageMetadata": {
                    "promptTokenCount": 7,
                    "responseTokenCount": 3,
                    "totalTokenCount": 10,
                },
            }
        )
    )
    assert kinds(answer) == [
        "ResponseStarted",
        "AssistantAudio",
        "AssistantTranscriptDelta",
        "AssistantTranscriptDelta",
        "AssistantTranscriptDone",
        "ResponseDone",
    ]
    started, audio, *_, said, done = answer
    assert isinstance(started, ResponseStarted) and isinstance(audio, AssistantAudio)
    assert audio.audio == b"\x01\x02" * 8 and audio.response_id == started.response_id
    assert isinstance(said, AssistantTranscriptDone) and said.transcript == "It is noon."
    assert isinstance(done, ResponseDone) and done.status == "completed"
    assert done.usage is not None and (done.usage.input_tokens, done.usage.total_tokens) == (7, 10)


def test_url_safe_unpadded_base64_audio_decodes(codec: GeminiCodec) -> None:
    pcm = bytes(range(256)) * 3 + b"\xff\xd8"
    events = codec.decode(content(model_turn={"parts": [audio_part(pcm, urlsafe=True)]}))
    audio = [e for e in events if isinstance(e, AssistantAudio)]
    assert audio[0].audio == pcm


def test_text_parts_and_thoughts(codec: GeminiCodec) -> None:
    parts = [{"text": "thinking", "thought": True}, {"text": "Hello"}]
    events = codec.decode(content(modelTurn={"parts": parts}))
    events += codec.decode(content(turnComplete=True))
    deltas = [e for e in events if isinstance(e, AssistantTextDelta)]
    assert [d.delta for d in deltas] == ["Hello"]
    assert [e.text for e in events if isinstance(e, AssistantTextDone)] == ["Hello"]


def test_transcript_arriving_late_still_finishes_the_turn_first(codec: GeminiCodec) -> None:
    events = codec.decode(content(modelTurn={"parts": [audio_part(b"\0\0")]}))
    events += codec.decode(content(inputTranscription={"text": "hi"}))
    events += codec.decode(content(turnComplete=True))
    names = kinds(events)
    assert names.index("UserTurn") < names.index("ResponseDone")


def test_barge_in_ends_the_response_cancelled_and_starts_user_speech(codec: GeminiCodec) -> None:
    codec.decode(content(modelTurn={"parts": [audio_part(b"\0\0" * 10)]}))
    events = codec.decode(content(interrupted=True))
    assert kinds(events) == ["UserSpeechStarted", "ResponseDone"]
    done = events[-1]
    assert isinstance(done, ResponseDone) and done.status == "cancelled"
    assert done.reason == "turn_detected"
    # The turnComplete that follows an interruption ends nothing more.
    assert not [e for e in codec.decode(content(turnComplete=True)) if isinstance(e, ResponseDone)]


def test_interrupted_with_no_response_is_harmless(codec: GeminiCodec) -> None:
    assert codec.decode(content(interrupted=True)) == []


def test_tool_calls_end_their_response_with_the_ids(codec: GeminiCodec) -> None:
    calls = [
        {"id": "fc1", "name": "lookup", "args": {"city": "Paris"}},
        {"id": "fc2", "name": "time", "args": {}},
    ]
    events = codec.decode(json.dumps({"toolCall": {"functionCalls": calls}}))
    assert kinds(events) == ["ResponseStarted", "ToolCall", "ToolCall", "ResponseDone"]
    first = events[1]
    assert isinstance(first, ToolCall)
    assert (first.call_id, first.name, json.loads(first.arguments)) == (
        "fc1",
        "lookup",
        {"city": "Paris"},
    )
    done = events[-1]
    assert isinstance(done, ResponseDone) and done.tool_call_ids == ("fc1", "fc2")


def test_tool_call_cancellation(codec: GeminiCodec) -> None:
    events = codec.decode('{"toolCallCancellation": {"ids": ["fc1"]}}')
    assert isinstance(events[0], ToolCallCancelled) and events[0].call_ids == ("fc1",)


def test_go_away_and_resumption_handles(codec: GeminiCodec) -> None:
    (away,) = codec.decode('{"goAway": {"timeLeft": "1.5s"}}')
    assert isinstance(away, GoingAway) and away.time_left_ms == 1500
    (handle,) = codec.decode('{"sessionResumptionUpdate": {"newHandle": "h1", "resumable": true}}')
    assert isinstance(handle, ResumptionHandle) and handle.handle == "h1"
    # Mid-generation updates are not resumable: nothing to keep.
    assert codec.decode('{"sessionResumptionUpdate": {"resumable": false}}') == []
    assert (
        codec.decode('{"session_resumption_update": {"new_handle": "", "resumable": true}}') == []
    )


def test_voice_activity_gives_speech_events(codec: GeminiCodec) -> None:
    start = codec.decode('{"voiceActivity": {"voiceActivityType": "ACTIVITY_START"}}')
    stop = codec.decode('{"voiceActivity": {"voice_activity_type": "ACTIVITY_END"}}')
    assert isinstance(start[0], UserSpeechStarted) and isinstance(stop[0], UserSpeechStopped)


def test_binary_frames_decode(codec: GeminiCodec) -> None:
    events = codec.decode(content(inputTranscription={"text": "x"}).encode())
    assert any(isinstance(e, UserTranscriptDelta) for e in events)


def test_malformed_known_messages_become_errors(codec: GeminiCodec) -> None:
    for frame in [
        '{"serverContent": {"modelTurn": 5}}',
        '{"serverContent": 3}',
        '{"toolCall": {"functionCalls": [{"args": {}}]}}',
        '{"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "%%%"}}]}}}',
    ]:
        events = codec.decode(frame)
        errors = [e for e in events if isinstance(e, ErrorEvent)]
        assert errors and errors[0].code == "malformed_event", frame


def test_garbage_and_unknown_messages(codec: GeminiCodec) -> None:
    for frame in ["not json", "[1, 2]", b"\xff\xfe", "7"]:
        (event,) = codec.decode(frame)
        assert isinstance(event, ErrorEvent) and event.code == "malformed_event"
    assert codec.decode('{"somethingNew": {"x": 1}}') == []
    assert codec.decode("{}") == []


def test_output_transcript_of_a_cancelled_response_is_dropped(codec: GeminiCodec) -> None:
    from liveloop.actions import CancelResponse

    codec.decode(content(modelTurn={"parts": [audio_part(b"\0\0")]}))
    assert codec.encode(CancelResponse()) == []
    local = codec.take_local_events()
    assert isinstance(local[-1], ResponseDone) and local[-1].status == "cancelled"
    late = codec.decode(content(outputTranscription={"text": "more"}))
    late += codec.decode(content(modelTurn={"parts": [audio_part(b"\0\0")]}))
    assert not [e for e in late if isinstance(e, AssistantTranscriptDelta | AssistantAudio)]
    codec.decode(content(turnComplete=True))
    fresh = codec.decode(content(modelTurn={"parts": [audio_part(b"\0\0")]}))
    assert isinstance(fresh[0], ResponseStarted)


def test_with_auto_respond_off_only_requested_answers_are_heard() -> None:
    # Gemini answers each turn its activity detection ends, asked or not: with
    # auto_respond off the session hears the turn, not that answer, until it asks.
    from liveloop.actions import CreateResponse, SendToolOutput

    codec = ready_codec(auto_respond=False)
    heard = codec.decode(content(inputTranscription={"text": "book a table", "finished": True}))
    assert [e.turn.text for e in heard if isinstance(e, UserTurn)] == ["book a table"]
    unasked = codec.decode(content(modelTurn={"parts": [audio_part(b"\1\0")]}))
    unasked += codec.decode(content(outputTranscription={"text": "booked"}))
    unasked += codec.decode(content(turnComplete=True))
    assert not [e for e in unasked if isinstance(e, ResponseStarted | AssistantAudio)]
    # An unasked answer that calls a tool ends with the call: nothing runs for it.
    call = {"functionCalls": [{"id": "c1", "name": "book_table", "args": {}}]}
    assert codec.decode(json.dumps({"toolCall": call})) == []
    [asked] = codec.encode(CreateResponse())
    assert json.loads(asked) == {"clientContent": {"turnComplete": True}}
    answer = codec.decode(json.dumps({"toolCall": call}))
    assert kinds(answer) == ["ResponseStarted", "ToolCall", "ResponseDone"]
    # The answer to the call's result is the one the request asked for: heard.
    codec.encode(SendToolOutput(call_id="c1", output='{"booking": 1}'))
    after = codec.decode(content(modelTurn={"parts": [audio_part(b"\1\0")]}))
    assert kinds(after) == ["ResponseStarted", "AssistantAudio"]
