"""JSON on the wire: orjson for the events that make up the traffic (every audio chunk is
one event each way), the standard library wherever orjson's answer could differ from it.

orjson is stricter and lossier at the edges: it refuses lone surrogates, ``NaN`` and
infinite numbers, and reads integers beyond 64 bits as floats. So :func:`loads` keeps
orjson's value only for an object whose values are all strings (an audio chunk's
``input_audio_buffer.append``), where the two libraries agree, and reads anything else again
with :mod:`json`: what is accepted, and how a bad value is refused, does not change.
:func:`dumps` falls back to :mod:`json` for what orjson refuses (integers beyond 64 bits,
non-string keys); a ``NaN`` going out is ``null``, where :mod:`json` would write ``NaN``,
which no client's JSON parser accepts anyway.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps", "loads"]

_compact = json.JSONEncoder(separators=(",", ":")).encode


def dumps(value: Any) -> str:
    """Compact JSON text of ``value``."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _compact(value)


def loads(text: str | bytes) -> Any:
    """The value of JSON ``text``, as :func:`json.loads` gives it (and raises)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    if type(value) is not dict:
        return json.loads(text)
    for field in value.values():
        if type(field) is not str:
            return json.loads(text)
    return value
