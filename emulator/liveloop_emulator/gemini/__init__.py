"""The emulator's Gemini Live front end (``BidiGenerateContent``) on the shared engine.

:class:`GeminiFrontEnd` serves one connection; :class:`GeminiService` holds what the
Gemini routes share (accepted keys, the reply script, resumption handles, ephemeral
tokens, the connection lifetime) and :func:`gemini_routes` serves it. ``Emulator`` mounts
the routes next to the OpenAI ones; ``Emulator(tls=True)`` serves both over TLS with a
generated certificate (``emu.cert_path``), as the google-genai SDK always dials ``wss://``.
"""

from .frontend import DEADLINE_REASON, GeminiFrontEnd
from .messages import InvalidMessage, parse_message
from .service import BAD_KEY_REASON, GeminiService, gemini_routes
from .store import HandleStore, TokenStore

__all__ = [
    "BAD_KEY_REASON",
    "DEADLINE_REASON",
    "GeminiFrontEnd",
    "GeminiService",
    "HandleStore",
    "InvalidMessage",
    "TokenStore",
    "gemini_routes",
    "parse_message",
]
