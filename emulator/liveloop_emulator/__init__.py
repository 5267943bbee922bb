"""OpenAI-Realtime-compatible local emulator with a deterministic model.

``async with Emulator() as emu:`` serves the Realtime WebSocket API, client secrets and WebRTC
calls (:mod:`liveloop_emulator.webrtc`) on 127.0.0.1; its "model" speaks tone speech
(:mod:`liveloop_emulator.tones`) and follows a documented reply policy
(:mod:`liveloop_emulator.replies`). The model is a protocol-neutral engine
(:mod:`liveloop_emulator.engine`, whose docstring is the contract for front ends); the OpenAI
Realtime protocol is one front end on it (:mod:`liveloop_emulator.realtime`).
"""

from __future__ import annotations

from . import tones
from .emulator import Emulator
from .engine import UNINTELLIGIBLE, AudioTarget, ClearedAudio, Engine, OutputAudio
from .realtime import EAGERNESS_SILENCE_MS, EventAudioOutput, ProtocolError, RealtimeFrontEnd
from .records import EmulatorSession
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
    "Engine",
    "EventAudioOutput",
    "OutputAudio",
    "ProtocolError",
    "RealtimeFrontEnd",
    "Reply",
    "Rule",
    "decide_reply",
    "load_script",
    "parse_say_instructions",
    "tones",
]
