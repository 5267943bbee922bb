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
        # Per event type, what dispatch does (publish first?, handlers, publish after?):
        # worked out once, since every audio chunk goes through here.
        self._routes: dict[type[Any], tuple[bool, tuple[Handler, ...], bool]] = {}

    def on(self, kind: type[E], handler: Callable[[E], bool | None]) -> None:
        """Call ``handler`` for every event of type ``kind``."""
        self._handlers.setdefault(kind, []).append(handler)
        self._routes.clear()

    def publish_first(self, *kinds: type[Any]) -> None:
        for kind in kinds:
            self._when[kind] = "before"
        self._routes.clear()

    def publish_never(self, *kinds: type[Any]) -> None:
        for kind in kinds:
            self._when[kind] = "never"
        self._routes.clear()

    def dispatch(self, event: Event) -> None:
        """Hand ``event`` to its handlers and publish it."""
        route = self._routes.get(type(event)) or self._route(type(event))
        first, handlers, after = route
        if first:
            self._publish(event)
        for handler in handlers:
            if handler(event):
                break
        if after:
            self._publish(event)

    def _route(self, kind: type[Any]) -> tuple[bool, tuple[Handler, ...], bool]:
        when = self._when.get(kind, "after")
        route = (when == "before", tuple(self._handlers.get(kind, ())), when == "after")
        self._routes[kind] = route
        return route
