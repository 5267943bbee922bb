"""The event codec contract: how a provider's wire events map to liveloop's and back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .actions import Action
from .config import SessionConfig
from .events import Event

__all__ = ["CodecFactory", "EventCodec"]


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


CodecFactory = Callable[[SessionConfig], EventCodec]
"""Builds the codec for one session from its configuration."""
