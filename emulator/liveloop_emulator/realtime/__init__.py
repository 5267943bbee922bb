"""The OpenAI Realtime (GA) front end on the protocol-neutral engine.

:class:`RealtimeFrontEnd` validates client events with pydantic models of the GA protocol
(:mod:`.client_events`, :mod:`.session_models`; errors in OpenAI's shape, codes, ``param``
and messages, :mod:`.errors`), drives a :class:`~liveloop_emulator.engine.Engine`, and renders
the engine's events as GA server events (:mod:`.render`). The session object and its
``session.update`` merging live in :mod:`.session`.
"""

from __future__ import annotations

from .errors import ProtocolError
from .frontend import EventAudioOutput, RealtimeFrontEnd, Send
from .session import default_session, merge_session
from .session_models import EAGERNESS_SILENCE_MS

__all__ = [
    "EAGERNESS_SILENCE_MS",
    "EventAudioOutput",
    "ProtocolError",
    "RealtimeFrontEnd",
    "Send",
    "default_session",
    "merge_session",
]
