"""liveloop transport plugin: Gemini Live over WebSocket.

The names below load on first use, so registering the plugin (which imports this package)
imports neither the WebSocket client nor numpy (the resampler).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveloop.plugin import lazy_exports

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

__getattr__ = lazy_exports(__name__, _EXPORTS)
