"""One table from event type to the components' handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from ..events import Event

E = TypeVar("E")

Handler = Callable[[Any], bool | None]
"""Takes one event; returning ``True`` means "handled, no later handler needs it"."""

Publish = Literal["before", "after", "never"]


class EventBus:
    """Routes each normalized event to the handlers subscribed to its type, in order of
    subscription, and publishes it to the application (``session.events()``).

    By default an event is published after its handlers ran (so what they derived, such
    as a finished :class:`~liveloop.Speech`, is consistent with it); :meth:`publish_first`
    types are published before; :meth:`publish_never` types are published by the
    component that completes them (a user turn with its audio attached).
    """

    def __init__(self, publish: Callable[[Event], None]) -> None:
        self._publish = publish
        self._handlers: dict[type[Any], list[Handler]] = {}
        self._when: dict[type[Any], Publish] = {}

    def on(self, kind: type[E], handler: Callable[[E], bool | None]) -> None:
        """Call ``handler`` for every event of type ``kind``."""
        self._handlers.setdefault(kind, []).append(handler)

    def publish_first(self, *kinds: type[Any]) -> None:
        for kind in kinds:
            self._when[kind] = "before"

    def publish_never(self, *kinds: type[Any]) -> None:
        for kind in kinds:
            self._when[kind] = "never"

    def dispatch(self, event: Event) -> None:
        """Hand ``event`` to its handlers and publish it."""
        kind = type(event)
        when = self._when.get(kind, "after")
        if when == "before":
            self._publish(event)
        for handler in self._handlers.get(kind, ()):
            if handler(event):
                break
        if when == "after":
            self._publish(event)
