"""encode(): every action becomes GA client events the official SDK accepts strictly."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import liveloop
from liveloop.actions import (
    AddHistory,
    AppendAudio,
    CancelResponse,
    ClearAudio,
    ClearOutputAudio,
    CommitAudio,
    CreateResponse,
    SendText,
    SendToolOutput,
    TruncateItem,
    UpdateSession,
)
from liveloop_openai import OpenAICodec, say_instructions
from liveloop_openai.defaults import with_defaults

from .conftest import Wire, validate_client_event

ONE_SECOND_PCM = 48_000  # bytes of PCM16 mono at 24 kHz


def test_every_action_validates_against_the_sdk(wire: Wire) -> None:
    config = liveloop.SessionConfig(
        instructions="Be brief.",
        tools=[
            liveloop.ToolDefinition(
                name="get_weather",
                description="Weather for a city",
                parameters={
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            )
        ],
        input_transcription=liveloop.InputTranscription(language="en", prompt="names"),
        turn_detection=liveloop.ServerVAD(idle_timeout_ms=5000),
    )
    actions = [
        UpdateSession(config=config, event_id="e1"),
        UpdateSession(config=config.model_copy(update={"turn_detection": None})),
        UpdateSession(config=config.model_copy(update={"turn_detection": liveloop.SemanticVAD()})),
        AppendAudio(audio=b"\x01\x02" * 100, event_id="e2"),
        CommitAudio(event_id="e3"),
        ClearAudio(),
        SendText(text="hello", event_id="e4"),
        AddHistory(role="user", text="earlier"),
        AddHistory(role="assistant", text="reply"),
        CreateResponse(),
        CreateResponse(instructions="Answer in French", metadata={"liveloop_request": "r1"}),
        CreateResponse(say="Hello there", metadata={"liveloop_request": "r2"}, event_id="e5"),
        CancelResponse(),
        CancelResponse(response_id="resp_001", event_id="e6"),
        ClearOutputAudio(),
        TruncateItem(item_id="item_002", audio_end_ms=1500, event_id="e7"),
        SendToolOutput(call_id="call_001", output='{"temp_c":21}', event_id="e8"),
    ]
    for action in actions:
        assert wire.send(action), action


def test_event_id_is_the_actions(wire: Wire) -> None:
    [event] = wire.send(CommitAudio(event_id="ll_abc_7"))
    assert event == {"type": "input_audio_buffer.commit", "event_id": "ll_abc_7"}
    [event] = wire.send(CommitAudio())
    assert event == {"type": "input_audio_buffer.commit"}


def test_update_session_sends_the_mapped_session(wire: Wire) -> None:
    config = liveloop.SessionConfig(instructions="Speak slowly.", voice="cedar")
    [event] = wire.send(UpdateSession(config=config, event_id="e1"))
    assert event["type"] == "session.update"
    assert event["event_id"] == "e1"
    assert event["session"]["instructions"] == "Speak slowly."
    assert event["session"]["audio"]["output"]["voice"] == "cedar"
    assert wire.codec.config == with_defaults(config)


def test_update_session_changes_what_say_asks_for(wire: Wire) -> None:
    wire.send(UpdateSession(config=liveloop.SessionConfig(output_modalities=("text",))))
    [event] = wire.send(CreateResponse(say="Hi"))
    assert event["response"]["output_modalities"] == ["text"]


def test_append_audio_is_base64_at_most_one_second_per_event(wire: Wire) -> None:
    audio = bytes(range(256)) * 500  # 128000 bytes: 2.67 s
    events = wire.send(AppendAudio(audio=audio, event_id="a"))
    assert [e["type"] for e in events] == ["input_audio_buffer.append"] * 3
    chunks = [base64.b64decode(e["audio"]) for e in events]
    assert all(len(chunk) <= ONE_SECOND_PCM for chunk in chunks)
    assert b"".join(chunks) == audio
    assert [e["event_id"] for e in events] == ["a", "a_1", "a_2"]


def test_append_audio_g711_splits_at_one_second_of_8khz(make_wire: Callable[..., Wire]) -> None:
    g711 = liveloop.AudioFormat(encoding="g711_ulaw", rate=8000)
    wire = make_wire(input_audio=g711, output_audio=g711)
    events = wire.send(AppendAudio(audio=b"\x7f" * 20_000))
    assert [len(base64.b64decode(e["audio"])) for e in events] == [8000, 8000, 4000]


def test_append_empty_audio_sends_nothing(wire: Wire) -> None:
    assert wire.send(AppendAudio(audio=b"")) == []


@settings(max_examples=50, deadline=None)
@given(size=st.integers(min_value=1, max_value=200_000))
def test_append_audio_chunks_reassemble(size: int) -> None:
    codec = OpenAICodec(liveloop.SessionConfig())
    audio = bytes(i % 251 for i in range(size))
    events = [validate_client_event(m) for m in codec.encode(AppendAudio(audio=audio))]
    chunks = [base64.b64decode(e["audio"]) for e in events]
    assert b"".join(chunks) == audio
    assert all(0 < len(c) <= ONE_SECOND_PCM and len(c) % 2 == 0 for c in chunks[:-1])


def test_clear_audio(wire: Wire) -> None:
    assert wire.send(ClearAudio(event_id="c")) == [
        {"type": "input_audio_buffer.clear", "event_id": "c"}
    ]


def test_send_text_is_a_user_input_text_item(wire: Wire) -> None:
    [event] = wire.send(SendText(text="What's the time?", event_id="t"))
    assert event == {
        "type": "conversation.item.create",
        "event_id": "t",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "What's the time?"}],
        },
    }


def test_add_history_uses_input_text_for_user_and_output_text_for_assistant(wire: Wire) -> None:
    [user] = wire.send(AddHistory(role="user", text="hi"))
    [assistant] = wire.send(AddHistory(role="assistant", text="hello"))
    assert user["item"]["role"] == "user"
    assert user["item"]["content"] == [{"type": "input_text", "text": "hi"}]
    assert assistant["item"]["role"] == "assistant"
    assert assistant["item"]["content"] == [{"type": "output_text", "text": "hello"}]


def test_create_response_plain_and_with_instructions(wire: Wire) -> None:
    assert wire.send(CreateResponse(event_id="r")) == [{"type": "response.create", "event_id": "r"}]
    [event] = wire.send(CreateResponse(instructions="Be funny", metadata={"k": "v"}))
    assert event["response"] == {"instructions": "Be funny", "metadata": {"k": "v"}}


def test_say_is_verbatim_instructions_without_tools(wire: Wire) -> None:
    [event] = wire.send(
        CreateResponse(say='He said "hi" {twice}', metadata={"liveloop_request": "r9"})
    )
    assert event["response"] == {
        "instructions": say_instructions('He said "hi" {twice}'),
        "tool_choice": "none",
        "output_modalities": ["audio"],
        "metadata": {"liveloop_request": "r9"},
    }


def test_cancel_response(wire: Wire) -> None:
    assert wire.send(CancelResponse()) == [{"type": "response.cancel"}]
    assert wire.send(CancelResponse(response_id="resp_9")) == [
        {"type": "response.cancel", "response_id": "resp_9"}
    ]


def test_clear_output_audio(wire: Wire) -> None:
    assert wire.send(ClearOutputAudio()) == [{"type": "output_audio_buffer.clear"}]


def test_truncate_item_cuts_content_zero(wire: Wire) -> None:
    [event] = wire.send(TruncateItem(item_id="item_7", audio_end_ms=640))
    assert event == {
        "type": "conversation.item.truncate",
        "item_id": "item_7",
        "content_index": 0,
        "audio_end_ms": 640,
    }


def test_tool_output_is_a_function_call_output_item(wire: Wire) -> None:
    [event] = wire.send(SendToolOutput(call_id="call_1", output='{"ok":true}'))
    assert event == {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": "call_1", "output": '{"ok":true}'},
    }


def test_every_encoded_message_is_compact_json_text(wire: Wire) -> None:
    for message in wire.codec.encode(SendText(text="héllo")):
        assert isinstance(message, str)
        assert json.loads(message)["item"]["content"][0]["text"] == "héllo"


def test_unknown_action_is_a_type_error(wire: Wire) -> None:
    with pytest.raises(TypeError, match="cannot encode"):
        wire.codec.encode("not an action")  # type: ignore[arg-type]


def test_codec_refuses_an_unsupported_format_when_built() -> None:
    config = liveloop.SessionConfig(input_audio=liveloop.AudioFormat(rate=16000))
    with pytest.raises(liveloop.ConfigError, match=r"input_audio\.rate"):
        OpenAICodec(config)


def test_codec_implements_the_protocol() -> None:
    assert isinstance(OpenAICodec(liveloop.SessionConfig()), liveloop.plugin.EventCodec)


@pytest.mark.parametrize(
    "event",
    [
        {"type": "response.cancel", "bogus": 1},
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"output": {"fromat": {}}}},
        },
        {"type": "response.create", "response": {"modalities": ["audio"]}},
    ],
)
def test_the_oracle_rejects_unknown_keys(event: dict[str, object]) -> None:
    with pytest.raises(AssertionError, match="keys the SDK does not know"):
        validate_client_event(json.dumps(event))
