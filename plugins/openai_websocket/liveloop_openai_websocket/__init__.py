"""liveloop transport plugin: OpenAI Realtime over WebSocket."""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connection import WebSocketConnection, WebSocketConnector, realtime_url

__all__ = ["WebSocketConnection", "WebSocketConnector", "realtime_url"]


# Loaded on first use: registering the plugin (which imports this package) imports no
# WebSocket library.
def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".connection", __name__), name)
    globals()[name] = value
    return value
