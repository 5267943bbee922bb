"""The event codec contract: how a provider's wire events map to liveloop's and back."""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from .actions import Action
from .config import SessionConfig
from .events import (
    AssistantAudio,
    AssistantTextDelta,
    AssistantTranscriptDelta,
    Event,
    UserTranscriptDelta,
)

__all__ = [
    "CodecFactory",
    "EventCodec",
    "LocalEvents",
    "Resumable",
    "UntimedSpeech",
    "assistant_audio",
    "assistant_text_delta",
    "assistant_transcript_delta",
    "b64decode",
    "loads",
    "user_transcript_delta",
]


@runtime_checkable
class EventCodec(Protocol):
    """Translates one session's traffic; a new codec is made for every connection.

    ``decode`` takes one wire message (a JSON text frame) and returns the liveloop events
    it means (often none). It never raises on bad input: a malformed known event becomes
    an :class:`~liveloop.events.ErrorEvent`, an unknown one is ignored (logged at debug).

    ``encode`` turns one :mod:`~liveloop.actions` action into the wire messages to send.
    """

    def decode(self, message: str | bytes) -> list[Event]:
        """Provider wire message -> liveloop events."""
        ...

    def encode(self, action: Action) -> list[str]:
        """Liveloop action -> provider wire messages."""
        ...


@runtime_checkable
class LocalEvents(Protocol):
    """A codec whose provider does not announce everything it did (optional).

    Some protocols never confirm an action (Gemini Live does not echo a typed message or
    acknowledge a context update): the codec then makes the events itself while
    encoding, and the runtime takes them right after sending the action's messages.
    """

    def take_local_events(self) -> list[Event]:
        """The events made while encoding since the last call (and forget them)."""
        ...


@runtime_checkable
class Resumable(Protocol):
    """A codec that can continue a provider-side session on a new connection (optional).

    The runtime keeps the latest :class:`~liveloop.events.ResumptionHandle` and, on a
    new connection, hands it to the new codec before configuring it.
    """

    def resume_with(self, handle: str) -> None:
        """Make the next session configuration resume the session ``handle`` names."""
        ...


@runtime_checkable
class UntimedSpeech(Protocol):
    """A codec whose provider detects turns in the user's audio but never says where in
    that audio the speech began and ended (optional): its speech events and turns carry
    no ``audio_start_ms`` / ``audio_end_ms``.

    The runtime then cuts ``turn.audio`` at turn boundaries: a spoken turn gets the user
    audio sent since the previous spoken turn ended, up to its
    :class:`~liveloop.events.UserSpeechStopped` (the point the codec knows it ended).
    """

    untimed_speech: Literal[True]


CodecFactory = Callable[[SessionConfig], EventCodec]
"""Builds the codec for one session from its configuration."""


# -- decoding the wire ----------------------------------------------------------------------
#
# With ``liveloop[speed]`` installed, orjson and pybase64 (SIMD) decode provider events in
# about half the time of the standard library (bench/json_decode.py, bench/FIXES.md);
# without them, the standard library does the same job.

loads: Callable[[str | bytes], Any]
"""Parse one JSON document (``str`` or UTF-8 ``bytes``); raises ``ValueError`` (or
``RecursionError`` for absurd nesting) on anything else."""

try:
    from orjson import loads
except ImportError:  # pragma: no cover - liveloop[speed] not installed
    loads = json.loads

try:
    import pybase64
except ImportError:  # pragma: no cover - liveloop[speed] not installed

    def b64decode(data: str) -> bytes:
        """Standard, padded base64 -> bytes; raises ``ValueError`` for anything else
        (characters outside the alphabet, bad padding, text outside ASCII)."""
        return binascii.a2b_base64(data, strict_mode=True)

else:

    def b64decode(data: str) -> bytes:
        """Standard, padded base64 -> bytes; raises ``ValueError`` for anything else
        (characters outside the alphabet, bad padding, text outside ASCII)."""
        return pybase64.b64decode(data, validate=True)


# -- the hot events, built from checked values ----------------------------------------------
#
# Audio and transcript deltas are most of what a session receives. Validating each one
# with pydantic costs more than decoding its JSON (and copies ``raw``); a codec that has
# checked the values' types itself builds them with these functions instead, which set
# what pydantic's ``model_construct`` sets, laid out by hand (a generic construct costs
# as much as the validation). Every other event is validated as usual.
# tests/core/test_hot_events.py holds each layout to its model.

_new = object.__new__
_set = object.__setattr__
_AUDIO_FIELDS = frozenset({"response_id", "item_id", "audio"})
_DELTA_FIELDS = frozenset({"response_id", "item_id", "delta", "raw"})
_USER_DELTA_FIELDS = frozenset({"item_id", "delta", "raw"})

_E = TypeVar("_E")


def _built(cls: type[_E], fields: frozenset[str], values: dict[str, Any]) -> _E:
    event = _new(cls)
    _set(event, "__dict__", values)
    _set(event, "__pydantic_fields_set__", set(fields))
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event


def assistant_audio(response_id: str, item_id: str, audio: bytes) -> AssistantAudio:
    """An :class:`~liveloop.events.AssistantAudio` from values already checked."""
    values: dict[str, Any] = {"raw": None, "type": "assistant.audio"}
    values |= {"response_id": response_id, "item_id": item_id, "audio": audio}
    return _built(AssistantAudio, _AUDIO_FIELDS, values)


def assistant_transcript_delta(
    response_id: str, item_id: str, delta: str, raw: dict[str, Any] | None
) -> AssistantTranscriptDelta:
    """An :class:`~liveloop.events.AssistantTranscriptDelta` from values already checked."""
    values = {"raw": raw, "type": "assistant.transcript_delta", "response_id": response_id}
    values |= {"item_id": item_id, "delta": delta}
    return _built(AssistantTranscriptDelta, _DELTA_FIELDS, values)


def assistant_text_delta(
    response_id: str, item_id: str, delta: str, raw: dict[str, Any] | None
) -> AssistantTextDelta:
    """An :class:`~liveloop.events.AssistantTextDelta` from values already checked."""
    values = {"raw": raw, "type": "assistant.text_delta", "response_id": response_id}
    values |= {"item_id": item_id, "delta": delta}
    return _built(AssistantTextDelta, _DELTA_FIELDS, values)


def user_transcript_delta(
    item_id: str, delta: str, raw: dict[str, Any] | None
) -> UserTranscriptDelta:
    """A :class:`~liveloop.events.UserTranscriptDelta` from values already checked."""
    values = {"raw": raw, "type": "user.transcript_delta", "item_id": item_id, "delta": delta}
    return _built(UserTranscriptDelta, _USER_DELTA_FIELDS, values)
