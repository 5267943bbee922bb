"""The event codec contract: how a provider's wire events map to liveloop's and back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .actions import Action
from .config import SessionConfig
from .events import Event

__all__ = ["CodecFactory", "EventCodec", "LocalEvents", "Resumable"]


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


CodecFactory = Callable[[SessionConfig], EventCodec]
"""Builds the codec for one session from its configuration."""
