"""SessionConfig: strict validation naming the field and the value, defaults, shorthands,
the secret api_key, and a property test that only ever gives a config or a ConfigError."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import liveloop
from liveloop import (
    AudioFormat,
    ConfigError,
    InputTranscription,
    LiveloopError,
    SemanticVAD,
    ServerVAD,
    SessionConfig,
    ToolDefinition,
)
from liveloop.config import ReconnectPolicy

SECRET = "sk-proj-TESTKEY1234567890abcdef"

BAD_VALUES: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, input, field named in the message, value shown in the message)
    ("unknown key", {"bogus": 1}, "bogus", "1"),
    (
        "unknown nested key",
        {"turn_detection": {"type": "server_vad", "bogus": 2}},
        "turn_detection.bogus",
        "2",
    ),
    (
        "unknown key in audio",
        {"input_audio": {"encoding": "pcm16", "hz": 16000}},
        "input_audio.hz",
        "16000",
    ),
    (
        "string for a threshold",
        {"turn_detection": {"type": "server_vad", "threshold": "0.5"}},
        "turn_detection.threshold",
        "'0.5'",
    ),
    ("int for model", {"model": 3}, "model", "3"),
    ("string for a bool", {"auto_respond": "yes"}, "auto_respond", "'yes'"),
    (
        "int for a bool",
        {"turn_detection": {"type": "server_vad", "create_response": 1}},
        "turn_detection.create_response",
        "1",
    ),
    (
        "string for ms",
        {"turn_detection": {"type": "server_vad", "silence_duration_ms": "500"}},
        "turn_detection.silence_duration_ms",
        "'500'",
    ),
    (
        "NaN threshold",
        {"turn_detection": {"type": "server_vad", "threshold": math.nan}},
        "turn_detection.threshold",
        "nan",
    ),
    ("NaN timeout", {"tool_timeout": math.nan}, "tool_timeout", "nan"),
    ("inf timeout", {"connect_timeout": math.inf}, "connect_timeout", "inf"),
    (
        "-inf threshold",
        {"turn_detection": {"type": "server_vad", "threshold": -math.inf}},
        "turn_detection.threshold",
        "-inf",
    ),
    (
        "negative silence",
        {"turn_detection": {"type": "server_vad", "silence_duration_ms": -1}},
        "turn_detection.silence_duration_ms",
        "-1",
    ),
    (
        "negative padding",
        {"turn_detection": {"type": "server_vad", "prefix_padding_ms": -300}},
        "turn_detection.prefix_padding_ms",
        "-300",
    ),
    ("negative tool timeout", {"tool_timeout": -1.0}, "tool_timeout", "-1.0"),
    ("zero connect timeout", {"connect_timeout": 0.0}, "connect_timeout", "0.0"),
    ("negative reconnect window", {"reconnect": {"within": -5.0}}, "reconnect.within", "-5.0"),
    (
        "threshold above 1",
        {"turn_detection": {"type": "server_vad", "threshold": 1.5}},
        "turn_detection.threshold",
        "1.5",
    ),
    (
        "threshold below 0",
        {"turn_detection": {"type": "server_vad", "threshold": -0.1}},
        "turn_detection.threshold",
        "-0.1",
    ),
    (
        "unknown turn detection type",
        {"turn_detection": {"type": "loudness"}},
        "turn_detection",
        "'loudness'",
    ),
    (
        "turn detection without type",
        {"turn_detection": {"threshold": 0.2}},
        "turn_detection",
        "0.2",
    ),
    ("unknown turn detection shorthand", {"turn_detection": "loud"}, "turn_detection", "'loud'"),
    (
        "bad eagerness",
        {"turn_detection": {"type": "semantic_vad", "eagerness": "max"}},
        "turn_detection.eagerness",
        "'max'",
    ),
    (
        "g711 at 24 kHz",
        {"input_audio": {"encoding": "g711_ulaw", "rate": 24000}},
        "input_audio",
        "24000",
    ),
    (
        "a-law at 16 kHz",
        {"output_audio": {"encoding": "g711_alaw", "rate": 16000}},
        "output_audio",
        "16000",
    ),
    ("rate too low", {"input_audio": {"rate": 7000}}, "input_audio.rate", "7000"),
    ("unknown encoding", {"output_audio": {"encoding": "mp3"}}, "output_audio.encoding", "'mp3'"),
    (
        "two output modalities",
        {"output_modalities": ["audio", "text"]},
        "output_modalities",
        "['audio', 'text']",
    ),
    ("no output modality", {"output_modalities": []}, "output_modalities", "[]"),
    ("unknown modality", {"output_modalities": ["video"]}, "output_modalities.0", "'video'"),
    (
        "duplicate tool names",
        {"tools": [{"name": "lookup"}, {"name": "lookup"}]},
        "tools",
        "'lookup'",
    ),
    ("bad tool name", {"tools": [{"name": "look up"}]}, "tools.0.name", "'look up'"),
    ("base_url without scheme", {"base_url": "localhost:8000"}, "base_url", "'localhost:8000'"),
    ("base_url not http", {"base_url": "ftp://example.com"}, "base_url", "'ftp://example.com'"),
    ("base_url without host", {"base_url": "http://"}, "base_url", "'http://'"),
    ("empty model", {"model": ""}, "model", "''"),
    ("empty tool choice", {"tool_choice": ""}, "tool_choice", "''"),
    ("extras not a dict", {"extras": ["a"]}, "extras", "['a']"),
    ("api_key not a string", {"api_key": 42}, "api_key", "42"),
]


@pytest.mark.parametrize(
    ("data", "field", "shown"),
    [pytest.param(data, field, shown, id=case) for case, data, field, shown in BAD_VALUES],
)
def test_bad_value_is_a_config_error_naming_field_and_value(
    data: dict[str, Any], field: str, shown: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        SessionConfig.model_validate(data)

    message = str(caught.value)
    assert f"{field}: " in message
    assert shown in message
    assert field in [name for name, _, _ in caught.value.errors]

    # Keyword construction reports the same problem.
    with pytest.raises(ConfigError) as again:
        SessionConfig(**data)
    assert str(again.value) == message


def test_every_problem_is_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        SessionConfig.model_validate({"model": 3, "voice": "", "bogus": True})

    assert sorted(name for name, _, _ in caught.value.errors) == ["bogus", "model", "voice"]


def test_error_for_duplicate_tools_does_not_echo_the_api_key() -> None:
    with pytest.raises(ConfigError) as caught:
        SessionConfig(api_key=SECRET, tools=[{"name": "a"}, {"name": "a"}])  # type: ignore[list-item]

    assert "duplicate tool names: a" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.errors)


def test_nested_models_are_strict_on_their_own() -> None:
    with pytest.raises(ConfigError, match=r"threshold: .*\(got '0\.5'\)"):
        ServerVAD(threshold="0.5")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="rate"):
        AudioFormat(encoding="g711_ulaw", rate=24000)
    with pytest.raises(ConfigError, match="name"):
        ToolDefinition(name="")


def test_json_input_is_validated_the_same_way() -> None:
    with pytest.raises(ConfigError, match=r"turn_detection\.threshold"):
        SessionConfig.model_validate_json(
            '{"turn_detection": {"type": "server_vad", "threshold": 2}}'
        )
    config = SessionConfig.model_validate_json('{"turn_detection": "none", "voice": "cedar"}')
    assert (config.turn_detection, config.voice) == (None, "cedar")


def test_config_error_is_a_value_error_and_a_liveloop_error() -> None:
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConfigError, LiveloopError)
    with pytest.raises(ValueError):
        SessionConfig(model=3)  # type: ignore[arg-type]


def test_configs_are_immutable() -> None:
    config = SessionConfig()
    with pytest.raises(ValueError):
        config.model = "other"  # type: ignore[misc]


# -- defaults and shorthands ---------------------------------------------------------------


def test_defaults_are_what_a_voice_app_expects() -> None:
    config = SessionConfig()

    # What depends on the provider is the provider's: unset until a session opens.
    assert (config.provider, config.transport, config.model, config.voice) == (None,) * 4
    assert config.pair == "?/?"
    assert config.turn_detection == ServerVAD()
    assert isinstance(config.turn_detection, ServerVAD)
    assert config.turn_detection.create_response is True
    assert config.turn_detection.interrupt_response is True
    assert config.input_transcription == InputTranscription()
    assert config.input_transcription.model is None
    assert config.output_modalities == ("audio",)
    assert config.auto_respond is True
    assert config.api_key is None
    assert config.tools == ()
    assert config.tool_choice == "auto"


@pytest.mark.parametrize(
    ("shorthand", "expected"),
    [("semantic_vad", SemanticVAD()), ("server_vad", ServerVAD()), ("none", None), (None, None)],
)
def test_turn_detection_shorthands(shorthand: str | None, expected: object) -> None:
    assert SessionConfig(turn_detection=shorthand).turn_detection == expected  # type: ignore[arg-type]


def test_turn_detection_from_a_dict() -> None:
    config = SessionConfig.model_validate(
        {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}
    )
    assert config.turn_detection == SemanticVAD(eagerness="high")


def test_valid_values_are_kept() -> None:
    config = SessionConfig(
        base_url="http://127.0.0.1:8000/v1/",
        output_modalities=("text",),
        input_audio=AudioFormat(encoding="g711_ulaw", rate=8000),
        tools=(ToolDefinition(name="a"), ToolDefinition(name="b")),
        turn_detection=ServerVAD(threshold=0.0, silence_duration_ms=0),
    )
    assert config.base_url == "http://127.0.0.1:8000/v1"
    assert config.input_audio.bytes_per_ms == 8.0
    assert [tool.name for tool in config.tools] == ["a", "b"]


# -- the api key ---------------------------------------------------------------------------


def test_api_key_never_appears_in_repr_or_str() -> None:
    config = SessionConfig(api_key=SECRET)  # type: ignore[arg-type]

    assert config.api_key is not None
    assert config.api_key.get_secret_value() == SECRET
    for text in (repr(config), str(config), config.model_dump_json(), f"{config!r}"):
        assert SECRET not in text
        assert "sk-proj" not in text
    action = liveloop.actions.UpdateSession(config=config)
    assert SECRET not in repr(action)


# -- property: a config or a ConfigError, nothing else -------------------------------------


def _field_names(*models: type[BaseModel]) -> list[str]:
    names: set[str] = set()
    for model in models:
        names.update(model.model_fields)
    return sorted(names)


FIELD_NAMES = _field_names(
    SessionConfig,
    ServerVAD,
    SemanticVAD,
    InputTranscription,
    AudioFormat,
    ToolDefinition,
    ReconnectPolicy,
)

KEYS = st.sampled_from(FIELD_NAMES) | st.text(max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "server_vad",
            "semantic_vad",
            "none",
            "pcm16",
            "g711_ulaw",
            "audio",
            "text",
            "auto",
            "high",
            "http://127.0.0.1:1",
            "openai",
            "websocket",
            SECRET,
        ]
    )
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=24,
)
CONFIG_DICTS = st.dictionaries(KEYS, JSONISH, max_size=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=CONFIG_DICTS | JSONISH)
def test_random_input_gives_a_config_or_a_config_error(data: Any) -> None:
    try:
        config = SessionConfig.model_validate(data)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("invalid configuration: ")
        assert exc.errors, "a ConfigError lists its problems"
        for field, _, _ in exc.errors:
            assert f"{field}: " in message
        return
    # A valid config survives a round trip through its own dump.
    assert isinstance(config, SessionConfig)
    assert SessionConfig.model_validate(config.model_dump()).pair == config.pair


@settings(max_examples=100, deadline=None)
@given(
    turn_detection=st.fixed_dictionaries(
        {"type": st.just("server_vad")},
        optional={
            "threshold": st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=4),
            "silence_duration_ms": st.integers() | st.floats(),
            "prefix_padding_ms": st.integers() | st.none(),
        },
    )
)
def test_random_server_vad_settings(turn_detection: dict[str, Any]) -> None:
    # Keys drawn from the real fields reach the nested validators more often.
    try:
        config = SessionConfig.model_validate({"turn_detection": turn_detection})
    except ConfigError as exc:
        assert all(field.startswith("turn_detection") for field, _, _ in exc.errors)
        return
    assert isinstance(config.turn_detection, ServerVAD)
    assert 0.0 <= config.turn_detection.threshold <= 1.0


# -- the provider's defaults -------------------------------------------------------------

PROVIDER_DEFAULTS = {
    "transport": "ws",
    "model": "acme-live",
    "voice": "ada",
    "input_audio": {"encoding": "pcm16", "rate": 16000},
    "output_audio": {"encoding": "pcm16", "rate": 24000},
    "input_transcription": {"model": "acme-stt"},
}


def test_unset_fields_take_the_provider_defaults() -> None:
    config = SessionConfig(instructions="hi").with_defaults(PROVIDER_DEFAULTS)

    assert (config.transport, config.model, config.voice) == ("ws", "acme-live", "ada")
    assert config.input_audio == AudioFormat(rate=16000)
    assert config.input_transcription == InputTranscription(model="acme-stt")
    assert config.instructions == "hi"


def test_set_fields_win_over_the_provider_defaults() -> None:
    config = SessionConfig(
        model="mine",
        voice=None,  # None: the provider's voice
        input_audio=AudioFormat(encoding="g711_ulaw", rate=8000),
        input_transcription=InputTranscription(language="fr"),
    ).with_defaults(PROVIDER_DEFAULTS)

    assert (config.model, config.voice) == ("mine", "ada")
    assert config.input_audio == AudioFormat(encoding="g711_ulaw", rate=8000)
    # A nested setting keeps the provider's value where it says None.
    assert config.input_transcription == InputTranscription(model="acme-stt", language="fr")


def test_transcription_off_stays_off() -> None:
    config = SessionConfig(input_transcription=None).with_defaults(PROVIDER_DEFAULTS)
    assert config.input_transcription is None


def test_with_defaults_is_idempotent() -> None:
    once = SessionConfig().with_defaults(PROVIDER_DEFAULTS)
    assert once.with_defaults(PROVIDER_DEFAULTS) is once


def test_bad_provider_defaults_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"provider defaults.*input_audio\.rate"):
        SessionConfig().with_defaults({"input_audio": {"rate": 1}})
