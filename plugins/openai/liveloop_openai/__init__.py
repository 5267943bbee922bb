"""liveloop provider plugin for OpenAI Realtime.

:class:`OpenAICodec` translates OpenAI's GA realtime events to liveloop's and liveloop's
actions to OpenAI's; :func:`session_update_payload` maps a :class:`liveloop.SessionConfig`
to OpenAI's ``session`` object; :func:`say_instructions` is how ``say(text)`` asks for
verbatim speech. The plugin registers itself through the ``liveloop`` entry point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveloop.plugin import lazy_exports

if TYPE_CHECKING:
    from .codec import OpenAICodec
    from .say import SAY_INSTRUCTIONS, say_instructions
    from .session_config import session_update_payload

__all__ = ["SAY_INSTRUCTIONS", "OpenAICodec", "say_instructions", "session_update_payload"]

# Loaded on first use: registering the plugin (which imports this package) builds no models.
_EXPORTS = {
    "OpenAICodec": "codec",
    "SAY_INSTRUCTIONS": "say",
    "say_instructions": "say",
    "session_update_payload": "session_config",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)
