"""The WebSocket client liveloop's WebSocket transports share (``websockets`` underneath):
the link with its lean message path, handshake refusals, close codes, URLs and the
masking of credentials in the library's log lines."""

from .link import (
    CLOSE_TIMEOUT,
    HIGH_WATER,
    MAX_MESSAGE_BYTES,
    LinkSocket,
    Refusal,
    WebSocketLink,
    dial,
    error_body,
    lost,
)
from .wire import websocket_url, wire_logger

__all__ = [
    "CLOSE_TIMEOUT",
    "HIGH_WATER",
    "MAX_MESSAGE_BYTES",
    "LinkSocket",
    "Refusal",
    "WebSocketLink",
    "dial",
    "error_body",
    "lost",
    "websocket_url",
    "wire_logger",
]
