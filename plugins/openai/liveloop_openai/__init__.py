"""liveloop provider plugin for OpenAI Realtime.

:class:`OpenAICodec` translates OpenAI's GA realtime events to liveloop's and liveloop's
actions to OpenAI's; :func:`session_update_payload` maps a :class:`liveloop.SessionConfig`
to OpenAI's ``session`` object; :func:`say_instructions` is how ``say(text)`` asks for
verbatim speech. The plugin registers itself through the ``liveloop`` entry point.
"""

from __future__ import annotations

from .codec import OpenAICodec
from .say import SAY_INSTRUCTIONS, say_instructions
from .session_config import session_update_payload

__all__ = ["SAY_INSTRUCTIONS", "OpenAICodec", "say_instructions", "session_update_payload"]
