"""A WebSocket connection to OpenAI Realtime (or anything that speaks its protocol)."""

from __future__ import annotations

from urllib.parse import urlencode

from liveloop import ConfigError, ProviderError, SessionConfig, get_logger
from liveloop_openai.defaults import with_defaults
from liveloop_websocket import WebSocketLink, dial, error_body, websocket_url, wire_logger

__all__ = ["WebSocketConnection", "WebSocketConnector", "realtime_url"]

_log = get_logger("liveloop.openai_websocket")
_wire_log = wire_logger("liveloop.openai_websocket.wire")

PING_INTERVAL = 10.0
PING_TIMEOUT = 10.0


def realtime_url(base_url: str, *, model: str | None = None, call_id: str | None = None) -> str:
    """The Realtime WebSocket URL for an HTTP ``base_url`` (``http``->``ws``,
    ``https``->``wss``, ``/realtime`` appended, with ``model`` or ``call_id`` as query)."""
    query = urlencode({"call_id": call_id} if call_id else {"model": model or ""})
    return websocket_url(base_url, "/realtime", query)


class WebSocketConnection(WebSocketLink):
    """One open Realtime WebSocket; raises :class:`~liveloop.ConnectionLost` once it is
    gone (OpenAI caps events at 15 MiB; messages up to 16 MiB are taken)."""


class WebSocketConnector:
    """Opens :class:`WebSocketConnection` s to ``{base_url}/realtime?model=…`` (or
    ``?call_id=…`` when the config names a call).

    The API key travels in the ``Authorization`` header only (never in the URL or logs);
    compression is off (audio does not compress, and deflate costs CPU on every event).
    """

    async def open(self, config: SessionConfig) -> WebSocketConnection:
        """Connect and return the open connection (handshake bounded by
        ``config.connect_timeout``)."""
        if config.base_url is None:
            raise ConfigError("base_url: no endpoint configured for the OpenAI WebSocket")
        if config.api_key is None:
            raise ConfigError("api_key: no API key given and OPENAI_API_KEY is not set")
        # With a call_id the socket attaches to that live call (a WebRTC call's sideband).
        model = with_defaults(config).model
        url = realtime_url(config.base_url, model=model, call_id=config.call_id)
        headers = {"Authorization": f"Bearer {config.api_key.get_secret_value()}"}
        _log.debug("connecting", url=url)
        socket = await dial(
            url,
            headers,
            connect_timeout=config.connect_timeout,
            ping_interval=PING_INTERVAL,
            ping_timeout=PING_TIMEOUT,
            logger=_wire_log,
            refusal=_refusal,
        )
        return WebSocketConnection(socket)


def _refusal(status: int, body: bytes) -> ProviderError:
    message, code = error_body(body)
    text = f"the provider refused the connection (HTTP {status})"
    if message:
        text = f"{text}: {message}"
    return ProviderError(text, code=code or f"http_{status}")
