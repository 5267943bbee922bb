"""Core models: SessionTurn, the event and action unions, the error hierarchy."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import liveloop
from liveloop import actions, events
from liveloop.events import SessionTurn

# Real PCM is not valid UTF-8: JSON must carry it anyway.
PCM = bytes(range(256)) * 4


def _members(union: Any) -> list[type[BaseModel]]:
    # Annotated[A | B | ..., Field(discriminator=...)] -> [A, B, ...]
    inner = typing.get_args(union)[0]
    return list(typing.get_args(inner))


EVENT_CLASSES = _members(liveloop.events.Event)
ACTION_CLASSES = _members(liveloop.actions.Action)
EVENTS: TypeAdapter[liveloop.events.Event] = TypeAdapter(liveloop.events.Event)
ACTIONS: TypeAdapter[liveloop.actions.Action] = TypeAdapter(liveloop.actions.Action)

TURN = SessionTurn(
    text="hello there",
    channel="audio",
    item_id="item_1",
    audio=PCM,
    audio_format=liveloop.AudioFormat(),
    started_ms=1200,
    ended_ms=2400,
    interrupted=True,
    metadata={"transcription": "ok"},
)

# One realistic instance of every event, by `type`.
EVENT_SAMPLES: dict[str, dict[str, Any]] = {
    "session.started": {"session_id": "sess_1"},
    "session.updated": {},
    "user.speech_started": {"item_id": "item_1", "audio_start_ms": 1200},
    "user.speech_stopped": {"item_id": "item_1", "audio_end_ms": 2400},
    "user.transcript_delta": {"item_id": "item_1", "delta": "hel"},
    "user.turn": {"turn": TURN},
    "dtmf": {"digit": "5"},
    "response.started": {"response_id": "resp_1", "metadata": {"liveloop_say": "1"}},
    "assistant.text_delta": {"response_id": "resp_1", "item_id": "item_2", "delta": "Hi"},
    "assistant.text_done": {"response_id": "resp_1", "item_id": "item_2", "text": "Hi!"},
    "assistant.transcript_delta": {"response_id": "resp_1", "item_id": "item_2", "delta": "Hi"},
    "assistant.transcript_done": {
        "response_id": "resp_1",
        "item_id": "item_2",
        "transcript": "Hi!",
    },
    "assistant.audio": {"response_id": "resp_1", "item_id": "item_2", "audio": PCM},
    "assistant.playback_started": {"response_id": "resp_1"},
    "assistant.playback_stopped": {"response_id": "resp_1", "cleared": True},
    "response.done": {
        "response_id": "resp_1",
        "status": "completed",
        "usage": events.Usage(input_tokens=10, output_tokens=20, total_tokens=30),
        "tool_call_ids": ("call_1",),
    },
    "tool.call": {"call_id": "call_1", "name": "lookup", "arguments": '{"q": "x"}'},
    "tool.result": {"call_id": "call_1", "name": "lookup", "output": '{"a": 1}', "is_error": False},
    "interrupted": {"response_id": "resp_1", "item_id": "item_2", "played_ms": 640},
    "error": {"message": "bad thing", "code": "invalid_value", "event_id": "evt_7"},
    "tool.call_cancelled": {"call_ids": ("call_1",)},
    "session.going_away": {"time_left_ms": 50000},
    "session.resumption_handle": {"handle": "h_1"},
    "reconnected": {"attempts": 2},
    "closed": {"reason": "handler returned", "error": None},
}

ACTION_SAMPLES: dict[str, dict[str, Any]] = {
    "update_session": {"config": liveloop.SessionConfig(instructions="be brief")},
    "append_audio": {"audio": PCM},
    "commit_audio": {},
    "clear_audio": {},
    "send_text": {"text": "typed"},
    "add_history": {"role": "assistant", "text": "earlier"},
    "create_response": {"say": "Hello!", "metadata": {"liveloop_say": "1"}},
    "cancel_response": {"response_id": "resp_1"},
    "clear_output_audio": {},
    "truncate_item": {"item_id": "item_2", "audio_end_ms": 640},
    "send_tool_output": {"call_id": "call_1", "output": "{}"},
    "restore_tool_call": {"call_id": "call_1", "name": "now", "arguments": "{}", "output": "{}"},
}


def _tag(cls: type[BaseModel], field: str) -> str:
    default = cls.model_fields[field].default
    assert isinstance(default, str)
    return default


# -- SessionTurn ---------------------------------------------------------------------------


def test_session_turn_has_the_designed_fields() -> None:
    assert list(SessionTurn.model_fields) == [
        "text",
        "channel",
        "item_id",
        "audio",
        "audio_format",
        "started_ms",
        "ended_ms",
        "interrupted",
        "metadata",
    ]


def test_typed_turn_defaults() -> None:
    turn = SessionTurn(text="typed message", channel="text")

    assert turn.item_id is None
    assert turn.audio is None
    assert turn.audio_format is None
    assert (turn.started_ms, turn.ended_ms) == (None, None)
    assert turn.interrupted is False
    assert turn.metadata == {}


def test_session_turn_is_strict_and_frozen() -> None:
    with pytest.raises(ValidationError):
        SessionTurn(text="x", channel="video")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        SessionTurn(text="x", channel="text", speaker="bob")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        TURN.text = "changed"  # type: ignore[misc]


def test_session_turn_repr_leaves_out_the_audio() -> None:
    assert "hello there" in repr(TURN)
    assert repr(PCM[:8]) not in repr(TURN)
    assert "audio=" not in repr(TURN).replace("audio_format=", "")


def test_session_turn_json_round_trip_with_real_pcm() -> None:
    assert SessionTurn.model_validate_json(TURN.model_dump_json()) == TURN


# -- events --------------------------------------------------------------------------------


def test_every_event_has_a_sample() -> None:
    assert sorted(_tag(cls, "type") for cls in EVENT_CLASSES) == sorted(EVENT_SAMPLES)
    assert set(EVENT_CLASSES) <= {getattr(events, name) for name in events.__all__}


def test_the_design_events_are_all_there() -> None:
    # DESIGN.md §3: session started/updated, user speech started/stopped, user turn,
    # assistant text delta, assistant transcript delta, assistant audio chunk, response
    # done, tool call, tool result, interrupted, error, closed.
    assert {
        "session.started",
        "session.updated",
        "user.speech_started",
        "user.speech_stopped",
        "user.turn",
        "assistant.text_delta",
        "assistant.transcript_delta",
        "assistant.audio",
        "response.done",
        "tool.call",
        "tool.result",
        "interrupted",
        "error",
        "closed",
    } <= set(EVENT_SAMPLES)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_event_round_trips_through_the_union(cls: type[BaseModel]) -> None:
    raw = {"type": "provider.event", "event_id": "evt_1", "nested": {"a": [1, 2]}}
    event = cls(**EVENT_SAMPLES[_tag(cls, "type")], raw=raw)

    from_python = EVENTS.validate_python(event.model_dump())
    from_json = EVENTS.validate_json(event.model_dump_json())

    for parsed in (from_python, from_json):
        assert type(parsed) is cls
        assert parsed == event
        assert parsed.raw == raw


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_every_event_carries_the_raw_provider_event(cls: type[BaseModel]) -> None:
    assert "raw" in cls.model_fields
    event = cls(**EVENT_SAMPLES[_tag(cls, "type")])
    assert event.raw is None  # type: ignore[attr-defined]
    secret_ish = cls(**EVENT_SAMPLES[_tag(cls, "type")], raw={"blob": "x" * 500})
    assert "x" * 500 not in repr(secret_ish)


def test_unknown_event_type_is_rejected() -> None:
    with pytest.raises(ValidationError, match="type"):
        EVENTS.validate_python({"type": "user.sneezed"})
    with pytest.raises(ValidationError):
        EVENTS.validate_python({"type": "closed", "reason": "x", "extra_field": 1})


# -- actions -------------------------------------------------------------------------------


def test_every_action_has_a_sample() -> None:
    assert sorted(_tag(cls, "kind") for cls in ACTION_CLASSES) == sorted(ACTION_SAMPLES)
    assert set(ACTION_CLASSES) <= {getattr(actions, name) for name in actions.__all__}


@pytest.mark.parametrize("cls", ACTION_CLASSES, ids=lambda cls: cls.__name__)
def test_action_round_trips_through_the_union(cls: type[BaseModel]) -> None:
    action = cls(**ACTION_SAMPLES[_tag(cls, "kind")], event_id="evt_42")

    parsed = ACTIONS.validate_python(action.model_dump())
    assert type(parsed) is cls
    assert parsed == action
    assert parsed.event_id == "evt_42"
    if cls is not actions.UpdateSession:  # its config holds a SecretStr, masked in JSON
        from_json = ACTIONS.validate_json(action.model_dump_json())
        assert type(from_json) is cls
        assert from_json == action


def test_truncate_item_rejects_negative_milliseconds() -> None:
    with pytest.raises(ValidationError):
        actions.TruncateItem(item_id="item_2", audio_end_ms=-1)


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        liveloop.ConfigError,
        liveloop.UnsupportedTransport,
        liveloop.SessionClosed,
        liveloop.ProviderError,
        liveloop.PluginError,
        liveloop.ConnectionLost,
        liveloop.ToolError,
    ],
)
def test_every_error_is_a_liveloop_error(cls: type[Exception]) -> None:
    assert issubclass(cls, liveloop.LiveloopError)
    assert issubclass(liveloop.LiveloopError, Exception)


def test_session_closed_carries_the_cause() -> None:
    cause = liveloop.ConnectionLost("socket closed", cause=OSError("reset by peer"))
    error = liveloop.SessionClosed("connection lost", cause=cause)

    assert error.cause is cause
    assert error.reason == "connection lost"
    assert str(error) == "connection lost: socket closed: reset by peer"
    assert liveloop.SessionClosed().cause is None
    assert str(liveloop.SessionClosed()) == "session closed"


def test_provider_error_fields() -> None:
    raw = {"type": "error", "error": {"code": "invalid_api_key"}}
    error = liveloop.ProviderError(
        "Incorrect API key provided", code="invalid_api_key", event_id="evt_9", raw=raw
    )

    assert (error.code, error.event_id, error.raw) == ("invalid_api_key", "evt_9", raw)
    assert str(error) == "invalid_api_key: Incorrect API key provided"
    assert str(liveloop.ProviderError("no code")) == "no code"


def test_connection_lost_and_unsupported_transport_fields() -> None:
    cause = TimeoutError("handshake")
    lost = liveloop.ConnectionLost("could not connect", cause=cause)
    assert lost.cause is cause
    assert "handshake" in str(lost)

    unsupported = liveloop.UnsupportedTransport(
        "openai", "webrtc", ["openai/websocket"], "liveloop-openai-webrtc"
    )
    assert str(unsupported) == (
        "openai/webrtc is not available (installed pairs: openai/websocket); "
        "install liveloop-openai-webrtc to add it"
    )
