"""The OpenAI Realtime (GA) event codec: wire events to liveloop events, actions to wire
events. One :class:`OpenAICodec` serves one connection and keeps that connection's state
(turn order, tool calls already reported, audio timeline); the translation itself is in
:mod:`._decode` and :mod:`._encode`."""

from __future__ import annotations

from liveloop.actions import Action
from liveloop.config import SessionConfig
from liveloop.events import Event

from ._decode import decode
from ._encode import MAX_APPEND_MS, encode
from ._state import CodecState, transcribing
from ._turns import TurnQueue
from .defaults import with_defaults
from .session_config import session_update_payload

__all__ = ["MAX_APPEND_MS", "OpenAICodec"]


class OpenAICodec:
    """Translates one OpenAI Realtime connection's traffic (implements
    :class:`liveloop.plugin.EventCodec`).

    ``decode`` never raises: a message that is not a JSON object, or a known event with
    a missing or mistyped field, becomes an :class:`~liveloop.events.ErrorEvent` with
    code ``malformed_event``; an unknown event type is ignored (logged at debug). A bug
    in the codec itself is logged and reported as an ``ErrorEvent`` with code
    ``codec_error`` rather than raised.

    ``encode`` returns one JSON text per wire event, each carrying the action's
    ``event_id`` (audio split over several events gets ``<event_id>_<n>`` after the
    first). An action type it does not know raises ``TypeError``.

    Building a codec checks that the configuration can be expressed on the wire:
    :class:`~liveloop.ConfigError` for an unsupported audio format.
    """

    def __init__(self, config: SessionConfig) -> None:
        payload = session_update_payload(config)
        self._state = CodecState(
            config=with_defaults(config), turns=TurnQueue(transcribing=transcribing(payload))
        )

    @property
    def config(self) -> SessionConfig:
        """The session configuration as last sent (``UpdateSession`` replaces it)."""
        return self._state.config

    def decode(self, message: str | bytes) -> list[Event]:
        """One wire message -> the liveloop events it means (often none)."""
        return decode(self._state, message)

    def encode(self, action: Action) -> list[str]:
        """One liveloop action -> the wire events (JSON texts) to send, in order."""
        return encode(self._state, action)
