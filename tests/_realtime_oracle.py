"""The schema oracle: server events must validate strictly against the openai SDK's types.

``validate_server_event(event)`` raises AssertionError unless ``event`` validates against the
SDK's ``RealtimeServerEvent`` union (discriminated by ``type``) and no model in the parsed tree
carries unknown keys (the SDK models allow extras, so they are looked for explicitly).

``session.created``/``session.updated`` type their ``session`` as the *request* model, which
lacks the ``id``, ``object`` and ``expires_at`` every real session object carries; those three
are allowed there, and the session is validated strictly against
``RealtimeSessionCreateResponse`` as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from openai.types.realtime import RealtimeServerEvent, RealtimeSessionCreateResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

__all__ = ["SERVER_EVENTS", "validate_server_event", "validate_server_events"]

SERVER_EVENTS: TypeAdapter[Any] = TypeAdapter(
    Annotated[RealtimeServerEvent, Field(discriminator="type")]
)
_SESSION = TypeAdapter(RealtimeSessionCreateResponse)
_SESSION_EVENTS = ("session.created", "session.updated")
_RESPONSE_ONLY_SESSION_KEYS = frozenset({"id", "object", "expires_at"})


def _extras(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            yield f"{path}.{key}"
        for name in type(value).model_fields:
            yield from _extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _extras(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _extras(item, f"{path}.{key}")


def _show(event: Any) -> str:
    text = json.dumps(event, default=str)
    return text if len(text) <= 1500 else text[:1500] + "..."


def validate_server_event(event: dict[str, Any]) -> None:
    """Raise AssertionError (with the reason) unless ``event`` is a valid GA server event."""
    if not isinstance(event, dict):
        raise AssertionError(f"a server event must be a JSON object, got {type(event).__name__}")
    kind = event.get("type")
    try:
        model = SERVER_EVENTS.validate_python(event)
    except ValidationError as exc:
        raise AssertionError(f"invalid {kind!r} event: {exc}\nevent: {_show(event)}") from None
    extras = list(_extras(model, str(kind)))
    if kind in _SESSION_EVENTS:
        allowed = {f"{kind}.session.{key}" for key in _RESPONSE_ONLY_SESSION_KEYS}
        extras = [path for path in extras if path not in allowed]
        try:
            session = _SESSION.validate_python(event.get("session"))
        except ValidationError as exc:
            raise AssertionError(
                f"{kind!r}: the session is not a valid session object: {exc}\nevent: {_show(event)}"
            ) from None
        extras += list(_extras(session, f"{kind}.session(response)"))
    if extras:
        raise AssertionError(f"{kind!r} event has unknown keys {extras}\nevent: {_show(event)}")


def validate_server_events(events: Iterable[dict[str, Any]]) -> None:
    """Validate many events; the error names the index of the first invalid one."""
    for index, event in enumerate(events):
        try:
            validate_server_event(event)
        except AssertionError as exc:
            raise AssertionError(f"server event #{index}: {exc}") from None
