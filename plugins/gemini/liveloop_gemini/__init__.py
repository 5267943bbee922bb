"""liveloop provider plugin: Gemini Live (``BidiGenerateContent``).

The names below load on first use, so registering the plugin (which imports this package)
builds no codec models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .codec import GeminiCodec
    from .setup import INPUT_RATE, OUTPUT_RATE, setup_message

__all__ = ["INPUT_RATE", "OUTPUT_RATE", "GeminiCodec", "setup_message"]

_EXPORTS = {
    "GeminiCodec": "codec",
    "INPUT_RATE": "setup",
    "OUTPUT_RATE": "setup",
    "setup_message": "setup",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
