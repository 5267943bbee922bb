"""liveloop provider plugin: Gemini Live (``BidiGenerateContent``)."""

from .codec import GeminiCodec
from .setup import INPUT_RATE, OUTPUT_RATE, setup_message

__all__ = ["INPUT_RATE", "OUTPUT_RATE", "GeminiCodec", "setup_message"]
