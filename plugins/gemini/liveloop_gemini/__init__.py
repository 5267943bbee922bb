"""liveloop provider plugin: Gemini Live (``BidiGenerateContent``).

The names below load on first use, so registering the plugin (which imports this package)
builds no codec models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveloop.plugin import lazy_exports

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

__getattr__ = lazy_exports(__name__, _EXPORTS)
