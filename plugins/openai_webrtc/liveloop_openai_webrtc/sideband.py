"""``openai/webrtc_sideband``: the control WebSocket of a WebRTC call (``?call_id=…``).

The call's media flows between the end user's device (a browser) and the provider; this
process only carries the control events — the same JSON events, over the same kind of
WebSocket, as the ``openai/websocket`` transport, whose connection this reuses. So
``media`` is ``None`` and the pair claims neither ``audio_in`` nor ``audio_out``. The
session's ``call_id`` names the call (from the ``Location`` header of
``POST /v1/realtime/calls``); ``liveloop serve`` opens these sessions for browser calls.
The call itself is not hung up when the sideband closes: that is the caller's decision.
"""

from __future__ import annotations

from liveloop import ConfigError, SessionConfig
from liveloop_openai_websocket.connection import (
    WebSocketConnection,
    WebSocketConnector,
    realtime_url,
)

__all__ = ["SidebandConnection", "SidebandConnector", "sideband_url"]

SidebandConnection = WebSocketConnection
"""An open sideband: a Realtime WebSocket attached to a call."""


def sideband_url(base_url: str, call_id: str) -> str:
    """``{base_url}/realtime?call_id=…`` with ``http``->``ws`` and ``https``->``wss``."""
    return realtime_url(base_url, call_id=call_id)


class SidebandConnector:
    """Attaches to the call ``config.call_id`` over ``{base_url}/realtime?call_id=…``,
    with the API key in the ``Authorization`` header only."""

    def __init__(self) -> None:
        self._websocket = WebSocketConnector()

    async def open(self, config: SessionConfig) -> SidebandConnection:
        """Connect (bounded by ``config.connect_timeout``) and return the connection."""
        if config.call_id is None:
            raise ConfigError("call_id: a sideband session attaches to a call; give its call_id")
        return await self._websocket.open(config)
