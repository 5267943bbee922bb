"""The emulator's HTTP and WebSocket side (Starlette), one module per job.

:mod:`.app` lists the routes; :mod:`.websocket` serves the Realtime WebSocket paths,
:mod:`.calls` the WebRTC calls, :mod:`.client_secrets` ephemeral keys; :mod:`.inbound` parses
client messages; :mod:`.state` is what the routes share (``app.state.emulator``);
:mod:`.wsprotocol` is the WebSocket protocol uvicorn runs.
"""

from __future__ import annotations

from .app import build_app
from .calls import MAX_SDP_BYTES, new_call, open_call, register_call
from .client_secrets import template_session
from .http import MAX_BODY_BYTES
from .inbound import MAX_EVENT_BYTES
from .state import DEFAULT_MODEL, ServerState
from .wsprotocol import CoalescingWebSocketProtocol

__all__ = [
    "DEFAULT_MODEL",
    "MAX_BODY_BYTES",
    "MAX_EVENT_BYTES",
    "MAX_SDP_BYTES",
    "CoalescingWebSocketProtocol",
    "ServerState",
    "build_app",
    "new_call",
    "open_call",
    "register_call",
    "template_session",
]
