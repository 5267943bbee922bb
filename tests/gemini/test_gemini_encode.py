"""liveloop actions -> Gemini Live client messages, each validated with the google-genai
SDK's own types; the setup mapping; what Gemini cannot do."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from _gemini_helpers import make_codec, ready_codec, validate_client_message

import liveloop
from liveloop.actions import (
    Action,
    AddHistory,
    AppendAudio,
    CancelResponse,
    ClearAudio,
    CommitAudio,
    CreateResponse,
    RestoreToolCall,
    SendText,
    SendToolOutput,
    TruncateItem,
    UpdateSession,
)
from liveloop.events import ErrorEvent, ResponseStarted, SessionUpdated, UserTurn
from liveloop_gemini import GeminiCodec
from liveloop_gemini.say import say_instructions


def encode(codec: GeminiCodec, action: Action) -> list[dict[str, Any]]:
    return [validate_client_message(frame) for frame in codec.encode(action)]


def book(city: str, guests: int = 2) -> str:
    """Book a table.

    Args:
        city: where.
        guests: how many.
    """
    return "ok"


def test_setup_maps_the_session_config() -> None:
    tool = liveloop.tools.Tool.from_function(book)
    codec = make_codec(
        instructions="Be brief.",
        voice="Kore",
        tools=[tool.definition],
        turn_detection=liveloop.ServerVAD(threshold=0.8, silence_duration_ms=300),
    )
    (message,) = encode(codec, UpdateSession(config=codec.config))
    setup = message["setup"]
    assert isinstance(setup, dict)
    assert setup["model"] == "models/gemini-3.8-live"
    assert setup["systemInstruction"] == {"role": "user", "parts": [{"text": "Be brief."}]}
    voice = setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
    assert voice == {"voiceName": "Kore"}
    assert setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    detection = setup["realtimeInputConfig"]["automaticActivityDetection"]
    assert detection["silenceDurationMs"] == 300 and detection["disabled"] is False
    assert detection["startOfSpeechSensitivity"] == "START_SENSITIVITY_LOW"
    declaration = setup["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "book" and declaration["behavior"] == "BLOCKING"
    schema = declaration["parametersJsonSchema"]
    assert schema["required"] == ["city"] and "guests" in schema["properties"]
    # Resumption and compression are on by default; transcription both ways.
    assert setup["sessionResumption"] == {}
    assert "slidingWindow" in setup["contextWindowCompression"]
    assert setup["inputAudioTranscription"] == {} and setup["outputAudioTranscription"] == {}


def test_setup_resumes_with_a_handle_and_honours_extras() -> None:
    codec = make_codec(extras={"contextWindowCompression": None, "proactivity": {}})
    codec.resume_with("h-42")
    (message,) = encode(codec, UpdateSession(config=codec.config))
    setup = message["setup"]
    assert isinstance(setup, dict)
    assert setup["sessionResumption"] == {"handle": "h-42"}
    assert "contextWindowCompression" not in setup and setup["proactivity"] == {}


def test_text_modality_and_manual_turns() -> None:
    codec = make_codec(output_modalities=("text",), turn_detection=None, input_transcription=None)
    (message,) = encode(codec, UpdateSession(config=codec.config))
    setup = message["setup"]
    assert isinstance(setup, dict)
    assert setup["generationConfig"] == {"responseModalities": ["TEXT"]}
    assert setup["realtimeInputConfig"] == {"automaticActivityDetection": {"disabled": True}}
    assert "inputAudioTranscription" not in setup and "outputAudioTranscription" not in setup


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"turn_detection": "semantic_vad"}, "turn_detection"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"output_audio": {"rate": 16000}}, "output_audio"),
        ({"input_audio": {"encoding": "g711_ulaw", "rate": 8000}}, "input_audio"),
    ],
)
def test_what_gemini_cannot_do_is_a_config_error(options: dict[str, Any], field: str) -> None:
    with pytest.raises(liveloop.ConfigError, match=field):
        make_codec(**options)


def test_audio_is_chunked_at_the_session_rate() -> None:
    codec = ready_codec()
    pcm = bytes(range(256)) * 200  # 51,200 bytes: over one second at 24 kHz
    messages = encode(codec, AppendAudio(audio=pcm))
    assert len(messages) == 2
    sent = b""
    for message in messages:
        audio = message["realtimeInput"]["audio"]
        assert audio["mimeType"] == "audio/pcm;rate=24000"
        sent += base64.b64decode(audio["data"])
    assert sent == pcm


def test_manual_turns_bracket_audio_with_activity() -> None:
    codec = ready_codec(turn_detection=None)
    first = encode(codec, AppendAudio(audio=b"\0\0" * 100))
    assert first[0] == {"realtimeInput": {"activityStart": {}}}
    assert len(encode(codec, AppendAudio(audio=b"\0\0" * 100))) == 1
    assert encode(codec, CommitAudio()) == [{"realtimeInput": {"activityEnd": {}}}]
    # The model answers activityEnd on its own: the response request adds nothing.
    assert encode(codec, CreateResponse(metadata={"k": "v"})) == []
    assert encode(codec, CommitAudio()) == []


def test_commit_with_vad_ends_the_audio_stream(codec: GeminiCodec) -> None:
    assert encode(codec, CommitAudio()) == [{"realtimeInput": {"audioStreamEnd": True}}]


def test_typed_text_is_a_turn_at_once_and_answered_once(codec: GeminiCodec) -> None:
    (message,) = encode(codec, SendText(text="hello"))
    assert message == {
        "clientContent": {
            "turns": [{"role": "user", "parts": [{"text": "hello"}]}],
            "turnComplete": True,
        }
    }
    (turn,) = codec.take_local_events()
    assert isinstance(turn, UserTurn) and turn.turn.text == "hello"
    assert turn.turn.channel == "text"
    assert encode(codec, CreateResponse(metadata={"liveloop_request": "r1"})) == []
    events = codec.decode('{"serverContent": {"outputTranscription": {"text": "hi"}}}')
    started = events[0]
    assert isinstance(started, ResponseStarted)
    assert started.metadata == {"liveloop_request": "r1"}


def test_say_and_respond(codec: GeminiCodec) -> None:
    (say,) = encode(codec, CreateResponse(say="Welcome!"))
    turn = say["clientContent"]["turns"][0]
    assert turn == {"role": "user", "parts": [{"text": say_instructions("Welcome!")}]}
    (respond,) = encode(codec, CreateResponse())
    assert respond == {"clientContent": {"turnComplete": True}}
    (steered,) = encode(codec, CreateResponse(instructions="Offer help."))
    assert steered["clientContent"]["turns"][0]["parts"] == [{"text": "Offer help."}]


def test_history_appends_without_a_reply(codec: GeminiCodec) -> None:
    (message,) = encode(codec, AddHistory(role="assistant", text="Hi there"))
    assert message == {
        "clientContent": {
            "turns": [{"role": "model", "parts": [{"text": "Hi there"}]}],
            "turnComplete": False,
        }
    }


def test_tool_output_answers_by_id_and_cancelled_calls_get_nothing(codec: GeminiCodec) -> None:
    codec.decode(
        json.dumps(
            {
                "toolCall": {
                    "functionCalls": [
                        {"id": "c1", "name": "book", "args": {}},
                        {"id": "c2", "name": "x"},
                    ]
                }
            }
        )
    )
    (message,) = encode(codec, SendToolOutput(call_id="c1", output='{"ok": true}'))
    assert message == {
        "toolResponse": {
            "functionResponses": [
                {"id": "c1", "name": "book", "response": {"output": {"ok": True}}}
            ]
        }
    }
    codec.decode('{"toolCallCancellation": {"ids": ["c2"]}}')
    assert encode(codec, SendToolOutput(call_id="c2", output='"late"')) == []


def test_no_wire_equivalent_sends_nothing(codec: GeminiCodec) -> None:
    for action in (ClearAudio(), TruncateItem(item_id="gi_1", audio_end_ms=10), CancelResponse()):
        assert encode(codec, action) == []


def test_updates_after_setup(codec: GeminiCodec) -> None:
    config = codec.config
    new = config.model_copy(update={"instructions": "Now in French."})
    (message,) = codec.encode(UpdateSession(config=new, event_id="e1"))
    update = json.loads(message)["contextUpdate"]
    assert update["systemInstruction"]["parts"] == [{"text": "Now in French."}]
    assert isinstance(codec.take_local_events()[0], SessionUpdated)
    voice = new.model_copy(update={"voice": "Charon"})
    assert codec.encode(UpdateSession(config=voice, event_id="e2")) == []
    (error,) = codec.take_local_events()
    assert isinstance(error, ErrorEvent) and error.event_id == "e2"
    assert error.code == "unsupported_update" and "voice" in error.message


def test_a_call_from_a_replaced_connection_comes_back_as_context(codec: GeminiCodec) -> None:
    action = RestoreToolCall(call_id="c9", name="book", arguments='{"n": 2}', output='"ok"')
    (message,) = encode(codec, action)
    turn = message["clientContent"]["turns"][0]
    assert turn["role"] == "model" and "book" in turn["parts"][0]["text"]
    assert message["clientContent"]["turnComplete"] is False
