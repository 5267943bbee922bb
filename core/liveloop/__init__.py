"""liveloop: live realtime sessions with speech-to-speech models.

Write a session handler (``turn = await session.input()``, ``await session.say(...)``)
and run it over any installed provider/transport pair.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import actions, events
    from .actions import Action
    from .app import App, Handler, HandlerRun, RouteCall, SessionHandler
    from .calls import CallControl, PhoneCall
    from .codec import CodecFactory, EventCodec
    from .config import (
        AudioFormat,
        InputTranscription,
        SemanticVAD,
        ServerVAD,
        SessionConfig,
        ToolDefinition,
    )
    from .connecting import connect, open_session
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
    from .loops import run
    from .matrix import Capability, capabilities, resolve
    from .metrics import SessionMetrics, TurnMetrics
    from .plugins import PluginInfo, get_plugin_manager, register, unregister
    from .session import AudioOut, Session
    from .specs import ProviderSpec, RouteSpec, TransportSpec
    from .speech import Speech
    from .tools import Tool, ToolOutcome, tool
    from .transport import Connection, Connector, MediaChannel
    from .turns import SessionTurn

    __version__: str

# The package root loads its modules on first use: ``import liveloop`` stays cheap for a
# command line or a plugin that needs one name, and pays for pydantic models only when
# they are used. Every public name below is listed in ``__all__``.
_EXPORTS: dict[str, str] = {
    "Action": "actions",
    "App": "app",
    "Handler": "app",
    "HandlerRun": "app",
    "SessionHandler": "app",
    "RouteCall": "app",
    "CallControl": "calls",
    "PhoneCall": "calls",
    "CodecFactory": "codec",
    "EventCodec": "codec",
    "AudioFormat": "config",
    "InputTranscription": "config",
    "SemanticVAD": "config",
    "ServerVAD": "config",
    "SessionConfig": "config",
    "ToolDefinition": "config",
    "connect": "connecting",
    "open_session": "connecting",
    "ConfigError": "errors",
    "ConnectionLost": "errors",
    "LiveloopError": "errors",
    "PluginError": "errors",
    "ProviderError": "errors",
    "SessionClosed": "errors",
    "ToolError": "errors",
    "UnsupportedTransport": "errors",
    "Event": "events",
    "Features": "features",
    "hookimpl": "hookspecs",
    "bind_context": "log",
    "configure_logging": "log",
    "get_logger": "log",
    "capabilities": "matrix",
    "Capability": "matrix",
    "resolve": "matrix",
    "run": "loops",
    "SessionMetrics": "metrics",
    "TurnMetrics": "metrics",
    "get_plugin_manager": "plugins",
    "PluginInfo": "plugins",
    "register": "plugins",
    "unregister": "plugins",
    "AudioOut": "session",
    "Session": "session",
    "ProviderSpec": "specs",
    "RouteSpec": "specs",
    "TransportSpec": "specs",
    "Speech": "speech",
    "Tool": "tools",
    "tool": "tools",
    "ToolOutcome": "tools",
    "Connection": "transport",
    "Connector": "transport",
    "MediaChannel": "transport",
    "SessionTurn": "turns",
}
_SUBMODULES = {"actions", "events"}


def __getattr__(name: str) -> Any:
    value: Any
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("liveloop")
        except PackageNotFoundError:  # running from a source tree without installing
            value = "0.0.0"
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Action",
    "App",
    "AudioFormat",
    "AudioOut",
    "CallControl",
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
    "PhoneCall",
    "PluginError",
    "PluginInfo",
    "ProviderError",
    "ProviderSpec",
    "RouteCall",
    "RouteSpec",
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
    "run",
    "tool",
    "unregister",
]
