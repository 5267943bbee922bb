"""A WebSocket connection to OpenAI Realtime (or anything that speaks its protocol)."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from liveloop import ConfigError, ConnectionLost, ProviderError, SessionConfig, get_logger
from liveloop.log import redact
from liveloop.transport import MediaChannel
from liveloop_openai.defaults import with_defaults

__all__ = ["WebSocketConnection", "WebSocketConnector", "realtime_url"]

_log = get_logger("liveloop.openai_websocket")

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # OpenAI caps events at 15 MiB
CLOSE_TIMEOUT = 0.5
PING_INTERVAL = 10.0
PING_TIMEOUT = 10.0


class _RedactSecrets(logging.Filter):
    """Masks keys in the websockets library's own lines (at DEBUG it logs the handshake's
    headers, ``Authorization`` included), whatever formatter the application uses."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args or not isinstance(record.msg, str):
            record.msg = record.getMessage()
            record.args = None
        record.msg = redact(record.msg)
        return True


_wire_log = logging.getLogger("liveloop.openai_websocket.wire")
_wire_log.addFilter(_RedactSecrets())


def realtime_url(base_url: str, *, model: str | None = None, call_id: str | None = None) -> str:
    """The Realtime WebSocket URL for an HTTP ``base_url`` (``http``->``ws``,
    ``https``->``wss``, ``/realtime`` appended, with ``model`` or ``call_id`` as query)."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ConfigError(f"base_url: expected an http(s) URL (got {base_url!r})")
    query = urlencode({"call_id": call_id} if call_id else {"model": model or ""})
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/realtime", query, ""))


class WebSocketConnection:
    """One open WebSocket; raises :class:`ConnectionLost` once it is gone."""

    media: MediaChannel | None = None

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket

    async def send(self, message: str) -> None:
        """Send one JSON text frame."""
        try:
            await self._socket.send(message)
        except ConnectionClosed as exc:
            raise _lost(exc) from None

    async def receive(self) -> str | bytes:
        """The next frame from the provider, as the bytes it arrived as."""
        try:
            # Undecoded: the codec's JSON parser takes UTF-8 bytes and checks them itself.
            return await self._socket.recv(decode=False)
        except ConnectionClosed as exc:
            raise _lost(exc) from None

    async def close(self) -> None:
        """Close within about half a second, even if the server never answers the close."""
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT + 0.1):
                await self._socket.close()
        except (TimeoutError, OSError, ConnectionClosed):
            pass
        finally:
            if self._socket.transport is not None:
                self._socket.transport.abort()


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
        try:
            socket = await connect(
                url,
                additional_headers=headers,
                compression=None,
                max_size=MAX_MESSAGE_BYTES,
                open_timeout=config.connect_timeout,
                close_timeout=CLOSE_TIMEOUT,
                ping_interval=PING_INTERVAL,
                ping_timeout=PING_TIMEOUT,
                user_agent_header="liveloop",
                logger=_wire_log,
            )
        except InvalidStatus as exc:
            raise _refusal(exc) from None
        except (InvalidURI, InvalidHandshake, OSError, TimeoutError) as exc:
            raise ConnectionLost(f"could not connect to {url}", exc) from None
        return WebSocketConnection(socket)


def _refusal(exc: InvalidStatus) -> ProviderError:
    status = exc.response.status_code
    message = f"the provider refused the connection (HTTP {status})"
    code: str | None = None
    try:
        body = json.loads(exc.response.body or b"{}")
        error = body.get("error") or {}
        message = f"{message}: {error.get('message') or ''}".rstrip(": ")
        code = error.get("code") or error.get("type")
    except (ValueError, AttributeError):
        pass
    return ProviderError(message, code=code or f"http_{status}")


def _lost(exc: ConnectionClosed) -> ConnectionLost:
    # The close code and reason tell the runtime whether reconnecting can help; a link
    # that ended without a close frame is an abnormal closure (1006).
    close = exc.rcvd or exc.sent
    code = close.code if close is not None else 1006
    reason = close.reason if close is not None else None
    return ConnectionLost(_describe_close(exc), exc, close_code=code, close_reason=reason)


def _describe_close(exc: ConnectionClosed) -> str:
    close = exc.rcvd or exc.sent
    if close is None:
        return "the connection dropped without a close frame"
    reason = f": {close.reason}" if close.reason else ""
    return f"the connection closed (code {close.code}{reason})"
