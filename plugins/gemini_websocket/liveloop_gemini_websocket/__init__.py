"""liveloop transport plugin: Gemini Live over WebSocket."""

from .connection import GeminiConnection, GeminiConnector, live_url
from .resample import InputResampler

__all__ = ["GeminiConnection", "GeminiConnector", "InputResampler", "live_url"]
