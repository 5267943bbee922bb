"""The receive hot path's helpers for codecs: the hot events built without validation are
the events validation builds, and decoding works with and without ``liveloop[speed]``."""

from __future__ import annotations

import base64
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import liveloop.codec
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


def _codec_module(monkeypatch: pytest.MonkeyPatch, *, speed: bool) -> Any:
    """A fresh copy of liveloop.codec, with or without the ``speed`` extra importable."""
    if not speed:
        monkeypatch.setitem(sys.modules, "orjson", None)
        monkeypatch.setitem(sys.modules, "pybase64", None)
    path = Path(liveloop.codec.__file__)
    spec = importlib.util.spec_from_file_location(f"liveloop._codec_copy_{speed}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("speed", [True, False], ids=["speed", "stdlib"])
def test_decoding_with_and_without_the_speed_extra(
    monkeypatch: pytest.MonkeyPatch, speed: bool
) -> None:
    codec = _codec_module(monkeypatch, speed=speed)
    assert (codec.loads.__module__ == "json") is not speed
    assert codec.loads(b'{"type": "x", "n": [1, 2.5, null]}') == {"type": "x", "n": [1, 2.5, None]}
    assert codec.loads('{"a": "\\u00e9"}') == {"a": "\u00e9"}
    for bad in (b"{", b"\xff", "[1,]"):
        with pytest.raises(ValueError):
            codec.loads(bad)
    audio = bytes(range(256)) * 3
    assert codec.b64decode(base64.b64encode(audio).decode()) == audio
    assert codec.b64decode("") == b""
    for bad in ("QUJ", "QU JD", "QUJD\n", "-_-_", "\u00e9\u00e9\u00e9\u00e9"):
        with pytest.raises(ValueError):
            codec.b64decode(bad)
