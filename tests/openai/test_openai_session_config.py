"""session_update_payload(): each SessionConfig field in its GA place; extras merged."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.realtime import RealtimeSessionCreateRequest

import liveloop
from liveloop_openai import session_update_payload

from .conftest import unknown_keys


def payload(**config: Any) -> dict[str, Any]:
    result = session_update_payload(liveloop.SessionConfig(**config))
    # Every payload is a valid GA session with no key the SDK does not know.
    model = RealtimeSessionCreateRequest.model_validate(result)
    assert list(unknown_keys(model, "session")) == []
    return result


def test_defaults() -> None:
    assert payload() == {
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": "",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-4o-mini-transcribe"},
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 500,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"},
        },
        "tools": [],
        "tool_choice": "auto",
    }


def test_model_instructions_voice_modalities() -> None:
    result = payload(
        model="gpt-realtime-mini",
        instructions="Be kind.",
        voice="cedar",
        output_modalities=["text"],
    )
    assert result["model"] == "gpt-realtime-mini"
    assert result["instructions"] == "Be kind."
    assert result["audio"]["output"]["voice"] == "cedar"
    assert result["output_modalities"] == ["text"]


def test_server_vad_fields() -> None:
    vad = liveloop.ServerVAD(
        threshold=0.7,
        prefix_padding_ms=200,
        silence_duration_ms=800,
        idle_timeout_ms=6000,
        create_response=False,
        interrupt_response=False,
    )
    assert payload(turn_detection=vad)["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.7,
        "prefix_padding_ms": 200,
        "silence_duration_ms": 800,
        "idle_timeout_ms": 6000,
        "create_response": False,
        "interrupt_response": False,
    }


def test_semantic_vad_fields() -> None:
    vad = liveloop.SemanticVAD(eagerness="high", interrupt_response=False)
    assert payload(turn_detection=vad)["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "high",
        "create_response": True,
        "interrupt_response": False,
    }


def test_manual_turns_are_null_turn_detection() -> None:
    assert payload(turn_detection=None)["audio"]["input"]["turn_detection"] is None


def test_transcription_fields_and_off() -> None:
    settings = liveloop.InputTranscription(model="whisper-1", language="fr", prompt="Bonjour")
    assert payload(input_transcription=settings)["audio"]["input"]["transcription"] == {
        "model": "whisper-1",
        "language": "fr",
        "prompt": "Bonjour",
    }
    assert payload(input_transcription=None)["audio"]["input"]["transcription"] is None


def test_tools_are_flat_function_objects() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    tool = liveloop.ToolDefinition(name="get_weather", description="Weather", parameters=schema)
    assert payload(tools=[tool])["tools"] == [
        {"type": "function", "name": "get_weather", "description": "Weather", "parameters": schema}
    ]


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_named_tool_choices(choice: str) -> None:
    assert payload(tool_choice=choice)["tool_choice"] == choice


def test_a_tool_name_forces_that_function() -> None:
    tool = liveloop.ToolDefinition(name="lookup")
    assert payload(tools=[tool], tool_choice="lookup")["tool_choice"] == {
        "type": "function",
        "name": "lookup",
    }


@pytest.mark.parametrize(
    ("encoding", "wire"),
    [("g711_ulaw", {"type": "audio/pcmu"}), ("g711_alaw", {"type": "audio/pcma"})],
)
def test_g711_formats(encoding: str, wire: dict[str, Any]) -> None:
    fmt = liveloop.AudioFormat(encoding=encoding, rate=8000)  # type: ignore[arg-type]
    result = payload(input_audio=fmt, output_audio=fmt)
    assert result["audio"]["input"]["format"] == wire
    assert result["audio"]["output"]["format"] == wire


@pytest.mark.parametrize("field", ["input_audio", "output_audio"])
def test_pcm16_at_another_rate_is_a_config_error_naming_field_and_value(field: str) -> None:
    config = liveloop.SessionConfig(**{field: liveloop.AudioFormat(rate=16000)})
    with pytest.raises(liveloop.ConfigError) as caught:
        session_update_payload(config)
    assert f"{field}.rate" in str(caught.value)
    assert "16000" in str(caught.value)
    assert caught.value.errors[0][0] == f"{field}.rate"
    assert caught.value.errors[0][2] == 16000


def test_extras_merge_objects_recursively_and_replace_other_values() -> None:
    extras = {
        "audio": {
            "input": {"noise_reduction": {"type": "near_field"}},
            "output": {"speed": 1.2},
        },
        "max_output_tokens": 500,
        "tool_choice": "required",
    }
    result = payload(extras=extras)
    assert result["audio"]["input"]["noise_reduction"] == {"type": "near_field"}
    assert result["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert result["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert result["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "marin",
        "speed": 1.2,
    }
    assert result["max_output_tokens"] == 500
    assert result["tool_choice"] == "required"


def test_extras_null_replaces_an_object() -> None:
    result = payload(extras={"audio": {"input": {"turn_detection": None}}})
    assert result["audio"]["input"]["turn_detection"] is None


def test_extras_are_not_mutated() -> None:
    extras = {"audio": {"input": {"noise_reduction": None}}}
    config = liveloop.SessionConfig(extras=extras)
    session_update_payload(config)
    session_update_payload(config)
    assert config.extras == {"audio": {"input": {"noise_reduction": None}}}


def test_auto_respond_off_stops_the_provider_answering_turns() -> None:
    for vad in (liveloop.ServerVAD(), liveloop.SemanticVAD()):
        detection = payload(turn_detection=vad, auto_respond=False)["audio"]["input"][
            "turn_detection"
        ]
        assert detection["create_response"] is False
        assert detection["interrupt_response"] is True
