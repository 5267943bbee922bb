"""liveloop transport plugin: OpenAI Realtime over WebSocket."""

from .connection import WebSocketConnection, WebSocketConnector, realtime_url

__all__ = ["WebSocketConnection", "WebSocketConnector", "realtime_url"]
