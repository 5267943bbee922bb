"""liveloop: live realtime sessions with speech-to-speech models.

Write a session handler (``turn = await session.input()``, ``await session.say(...)``)
and run it over any installed provider/transport pair.

This package root is the handler API. Event types are in :mod:`liveloop.events`; what
plugin authors build on is in :mod:`liveloop.plugin` (with the action types a codec
encodes in :mod:`liveloop.actions`); the test kit is :mod:`liveloop.testing`. Each public
name is exported by one of these namespaces only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import actions as actions
    from . import events
    from . import plugin as plugin
    from .app import App, Handler, HandlerRun, RouteCall, SessionHandler
    from .calls import PhoneCall
    from .config import (
        AudioFormat,
        InputTranscription,
        ReconnectPolicy,
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
    from .log import bind_context, configure_logging, get_logger
    from .loops import run
    from .matrix import Capability, capabilities
    from .metrics import SessionMetrics, TurnMetrics
    from .session import AudioOut, Session
    from .speech import Speech
    from .tools import Tool, ToolOutcome, tool
    from .turns import SessionTurn

    __version__: str

# The package root loads its modules on first use: ``import liveloop`` stays cheap for a
# command line or a plugin that needs one name, and pays for pydantic models only when
# they are used. Every public name below is listed in ``__all__``.
_EXPORTS: dict[str, str] = {
    "App": "app",
    "Handler": "app",
    "HandlerRun": "app",
    "SessionHandler": "app",
    "RouteCall": "app",
    "PhoneCall": "calls",
    "AudioFormat": "config",
    "InputTranscription": "config",
    "SemanticVAD": "config",
    "ServerVAD": "config",
    "ReconnectPolicy": "config",
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
    "bind_context": "log",
    "configure_logging": "log",
    "get_logger": "log",
    "capabilities": "matrix",
    "Capability": "matrix",
    "run": "loops",
    "SessionMetrics": "metrics",
    "TurnMetrics": "metrics",
    "AudioOut": "session",
    "Session": "session",
    "Speech": "speech",
    "Tool": "tools",
    "tool": "tools",
    "ToolOutcome": "tools",
    "SessionTurn": "turns",
}
# Submodules reachable as attributes: the event types (handler API), and for plugin
# authors the plugin namespace and the action types a codec encodes.
_SUBMODULES = {"actions", "events", "plugin"}


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
    "App",
    "AudioFormat",
    "AudioOut",
    "Capability",
    "ConfigError",
    "ConnectionLost",
    "Handler",
    "HandlerRun",
    "InputTranscription",
    "LiveloopError",
    "PhoneCall",
    "PluginError",
    "ProviderError",
    "ReconnectPolicy",
    "RouteCall",
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
    "TurnMetrics",
    "UnsupportedTransport",
    "__version__",
    "bind_context",
    "capabilities",
    "configure_logging",
    "connect",
    "events",
    "get_logger",
    "open_session",
    "run",
    "tool",
]
