"""OpenAI-Realtime-compatible local emulator with a deterministic model.

``async with Emulator() as emu:`` serves the Realtime WebSocket API, client secrets and WebRTC
calls (:mod:`liveloop_emulator.webrtc`) on 127.0.0.1; its "model" speaks tone speech
(:mod:`liveloop_emulator.tones`) and follows a documented reply policy
(:mod:`liveloop_emulator.replies`).
"""

from __future__ import annotations

from . import tones
from .engine import (
    EAGERNESS_SILENCE_MS,
    UNINTELLIGIBLE,
    AudioTarget,
    ClearedAudio,
    EventAudioOutput,
    OutputAudio,
    ProtocolError,
    RealtimeEngine,
)
from .replies import (
    DEFAULT_TOOL_REPLY,
    ECHO_TEMPLATE,
    GREETING,
    SAY_INSTRUCTIONS,
    Reply,
    Rule,
    decide_reply,
    load_script,
    parse_say_instructions,
)
from .server import Emulator, EmulatorSession

__all__ = [
    "DEFAULT_TOOL_REPLY",
    "EAGERNESS_SILENCE_MS",
    "ECHO_TEMPLATE",
    "GREETING",
    "SAY_INSTRUCTIONS",
    "UNINTELLIGIBLE",
    "AudioTarget",
    "ClearedAudio",
    "Emulator",
    "EmulatorSession",
    "EventAudioOutput",
    "OutputAudio",
    "ProtocolError",
    "RealtimeEngine",
    "Reply",
    "Rule",
    "decide_reply",
    "load_script",
    "parse_say_instructions",
    "tones",
]
