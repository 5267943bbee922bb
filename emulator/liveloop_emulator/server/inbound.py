"""Client messages in: JSON text frames (WebSocket or data channel) parsed, recorded and
handed to the session's front end; malformed ones answered with OpenAI's errors."""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..realtime import RealtimeFrontEnd
from ..records import EmulatorSession
from ..wirejson import loads

__all__ = ["MAX_EVENT_BYTES", "receive_binary", "receive_events", "receive_text"]

MAX_EVENT_BYTES = 15 * 1024 * 1024
"""OpenAI's limit for one client event (15 MiB)."""


async def receive_text(session: EmulatorSession, front: RealtimeFrontEnd, text: str) -> None:
    """One text message from a client."""
    size = len(text) if len(text) * 4 <= MAX_EVENT_BYTES else len(text.encode("utf-8"))
    try:
        event: Any = loads(text)
    except ValueError:
        await front.error(
            "We could not parse the JSON body of your request. The Realtime API expects each "
            "WebSocket message to be a JSON object.",
            code="invalid_json",
        )
        return
    if not isinstance(event, dict):
        await front.error(
            f"Invalid type for event: expected an object, but got "
            f"{'an array' if isinstance(event, list) else type(event).__name__} instead.",
            code="invalid_type",
        )
        return
    session.client_events.append(event)
    event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
    if size > MAX_EVENT_BYTES:
        await front.error(
            f"Event too large: {size} bytes exceeds the maximum of {MAX_EVENT_BYTES} bytes "
            "(15 MiB) per event.",
            code="event_too_large",
            event_id=event_id,
        )
        return
    await front.handle(event)


async def receive_binary(front: RealtimeFrontEnd) -> None:
    await front.error(
        "Binary frames are not supported: send each event as a JSON text frame.",
        code="invalid_value",
    )


async def receive_events(
    websocket: WebSocket, session: EmulatorSession, front: RealtimeFrontEnd
) -> None:
    """Feed the socket's client events to ``front`` until either side ends (a dropped socket
    ends it quietly: the caller cleans up)."""
    try:
        while not session.closed:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is not None:
                await receive_text(session, front, text)
            elif message.get("bytes") is not None:
                await receive_binary(front)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
