"""liveloop transport plugin: Gemini Live over WebSocket.

The names below load on first use, so registering the plugin (which imports this package)
imports neither the WebSocket client nor numpy (the resampler).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connection import GeminiConnection, GeminiConnector, live_url
    from .resample import InputResampler

__all__ = ["GeminiConnection", "GeminiConnector", "InputResampler", "live_url"]

_EXPORTS = {
    "GeminiConnection": "connection",
    "GeminiConnector": "connection",
    "live_url": "connection",
    "InputResampler": "resample",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
