"""The hot events a codec builds without validation are the events validation builds."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from liveloop.codec import (
    assistant_audio,
    assistant_text_delta,
    assistant_transcript_delta,
    user_transcript_delta,
)
from liveloop.events import (
    AssistantAudio,
    AssistantTextDelta,
    AssistantTranscriptDelta,
    UserTranscriptDelta,
)

RAW = {"type": "response.output_audio_transcript.delta", "delta": "hi", "n": 1}

CASES: list[tuple[BaseModel, BaseModel]] = [
    (
        assistant_audio("r1", "i1", b"\x00\x01"),
        AssistantAudio(response_id="r1", item_id="i1", audio=b"\x00\x01"),
    ),
    (
        assistant_transcript_delta("r1", "i1", "hel", RAW),
        AssistantTranscriptDelta(response_id="r1", item_id="i1", delta="hel", raw=RAW),
    ),
    (
        assistant_text_delta("r1", "i1", "lo", None),
        AssistantTextDelta(response_id="r1", item_id="i1", delta="lo", raw=None),
    ),
    (
        user_transcript_delta("u1", "stop", RAW),
        UserTranscriptDelta(item_id="u1", delta="stop", raw=RAW),
    ),
]


@pytest.mark.parametrize(("built", "validated"), CASES, ids=lambda e: type(e).__name__)
def test_built_equals_validated(built: BaseModel, validated: BaseModel) -> None:
    assert type(built) is type(validated)
    # Every field of the model, in its order: a field added to the model breaks this.
    assert list(built.__dict__) == list(type(validated).model_fields)
    assert built == validated
    assert built.model_fields_set == validated.model_fields_set
    assert repr(built) == repr(validated)
    assert built.model_dump() == validated.model_dump()
    assert built.model_dump_json() == validated.model_dump_json()


@pytest.mark.parametrize(("built", "validated"), CASES, ids=lambda e: type(e).__name__)
def test_built_events_are_frozen(built: Any, validated: BaseModel) -> None:
    with pytest.raises(ValueError, match="frozen"):
        built.item_id = "other"
