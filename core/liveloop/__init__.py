"""liveloop: live realtime sessions with speech-to-speech models.

Write a session handler (``turn = await session.input()``, ``await session.say(...)``)
and run it over any installed provider/transport pair.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import actions, events
from .actions import Action
from .app import App, Handler, HandlerRun, SessionHandler
from .capabilities import Capability, capabilities, resolve
from .codec import CodecFactory, EventCodec
from .config import (
    AudioFormat,
    InputTranscription,
    SemanticVAD,
    ServerVAD,
    SessionConfig,
    ToolDefinition,
)
from .connect import connect, open_session
from .errors import (
    ConfigError,
    ConnectionLost,
    LiveloopError,
    PluginError,
    ProviderError,
    SessionClosed,
    ToolError,
    UnsupportedTransport,
)
from .events import Event
from .features import Features
from .hookspecs import hookimpl
from .log import bind_context, configure_logging, get_logger
from .metrics import SessionMetrics, TurnMetrics
from .plugins import PluginInfo, get_plugin_manager, register, unregister
from .session import AudioOut, Session
from .specs import ProviderSpec, TransportSpec
from .speech import Speech
from .tools import Tool, ToolOutcome, tool
from .transport import Connection, Connector, MediaChannel
from .turns import SessionTurn

try:
    __version__ = version("liveloop")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "Action",
    "App",
    "AudioFormat",
    "AudioOut",
    "Capability",
    "CodecFactory",
    "ConfigError",
    "Connection",
    "ConnectionLost",
    "Connector",
    "Event",
    "EventCodec",
    "Features",
    "Handler",
    "HandlerRun",
    "InputTranscription",
    "LiveloopError",
    "MediaChannel",
    "PluginError",
    "PluginInfo",
    "ProviderError",
    "ProviderSpec",
    "SemanticVAD",
    "ServerVAD",
    "Session",
    "SessionClosed",
    "SessionConfig",
    "SessionHandler",
    "SessionMetrics",
    "SessionTurn",
    "Speech",
    "Tool",
    "ToolDefinition",
    "ToolError",
    "ToolOutcome",
    "TransportSpec",
    "TurnMetrics",
    "UnsupportedTransport",
    "__version__",
    "actions",
    "bind_context",
    "capabilities",
    "configure_logging",
    "connect",
    "events",
    "get_logger",
    "get_plugin_manager",
    "hookimpl",
    "open_session",
    "register",
    "resolve",
    "tool",
    "unregister",
]
