"""decode() never raises: arbitrary JSON, arbitrary bytes, and known event types with
random fields all come back as a list of events (errors included)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import liveloop
from liveloop.events import ErrorEvent
from liveloop_openai import OpenAICodec
from liveloop_openai._decode import DECODERS

KNOWN_TYPES = sorted(DECODERS)
FIELD_NAMES = [
    "event_id", "item_id", "response_id", "call_id", "name", "arguments", "delta", "text",
    "transcript", "audio_start_ms", "audio_end_ms", "session", "response", "item", "error",
    "content", "output", "status", "metadata", "usage", "status_details", "id", "type",
    "role", "message", "code", "previous_item_id", "content_index", "output_index",
]  # fmt: skip

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(codec: OpenAICodec, message: str | bytes) -> None:
    events = codec.decode(message)
    assert isinstance(events, list)
    for event in events:
        if not isinstance(event, ErrorEvent):
            continue
        assert event.code != "codec_error", event.message  # a bug in the codec
        if event.raw is None or event.raw.get("type") != "error":
            assert event.code == "malformed_event"


@SETTINGS
@given(value=json_values)
def test_any_json_value(value: Any) -> None:
    _check(OpenAICodec(liveloop.SessionConfig()), json.dumps(value))


@SETTINGS
@given(data=st.binary(max_size=200))
def test_any_bytes(data: bytes) -> None:
    _check(OpenAICodec(liveloop.SessionConfig()), data)


@SETTINGS
@given(
    kind=st.sampled_from(KNOWN_TYPES),
    fields=st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=8),
)
def test_known_types_with_random_fields(kind: str, fields: dict[str, Any]) -> None:
    _check(OpenAICodec(liveloop.SessionConfig()), json.dumps({**fields, "type": kind}))


@SETTINGS
@given(
    messages=st.lists(
        st.tuples(
            st.sampled_from(KNOWN_TYPES),
            st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=6),
        ),
        max_size=12,
    )
)
def test_a_stream_of_random_known_events_on_one_codec(
    messages: list[tuple[str, dict[str, Any]]],
) -> None:
    codec = OpenAICodec(liveloop.SessionConfig(turn_detection=None))
    for kind, fields in messages:
        _check(codec, json.dumps({**fields, "type": kind}))
