"""A WebSocket connection to Gemini Live's ``BidiGenerateContent`` (or anything that
speaks it, like the bundled emulator)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from liveloop import ConfigError, ConnectionLost, ProviderError, SessionConfig, get_logger
from liveloop.log import MASK, redact
from liveloop.transport import MediaChannel

from .resample import InputResampler

__all__ = ["GeminiConnection", "GeminiConnector", "live_url"]

_log = get_logger("liveloop.gemini_websocket")

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
CLOSE_TIMEOUT = 0.5
# Gemini answers pings slowly (8-30 s measured): a ping timeout would cut healthy
# sessions (1011 "keepalive ping timeout"), so pings keep the path open and never close it.
PING_INTERVAL = 20.0
API_VERSION_ENV = "GEMINI_API_VERSION"
DEFAULT_API_VERSION = "v1beta"
FALLBACK_KEY_ENV = "GOOGLE_API_KEY"
TOKEN_PREFIX = "auth_tokens/"
_SERVICE = "google.ai.generativelanguage.{version}.GenerativeService.{method}"


# The headers this transport puts credentials in: an API key, or an ephemeral token.
_CREDENTIAL_HEADER = re.compile(r"(?im)^([<>]?\s*(?:x-goog-api-key|authorization):\s*)\S.*$")


class _RedactSecrets(logging.Filter):
    """Masks credentials in the websockets library's own lines (at DEBUG it logs the
    handshake headers: ``x-goog-api-key`` and ``Authorization: Token auth_tokens/…``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args or not isinstance(record.msg, str):
            record.msg = record.getMessage()
            record.args = None
        record.msg = redact(_CREDENTIAL_HEADER.sub(rf"\g<1>{MASK}", record.msg))
        return True


_wire_log = logging.getLogger("liveloop.gemini_websocket.wire")
_wire_log.addFilter(_RedactSecrets())


def live_url(base_url: str, *, ephemeral: bool = False, api_version: str | None = None) -> str:
    """The ``BidiGenerateContent`` WebSocket URL for an HTTP(S) ``base_url``.

    Ephemeral tokens use the ``BidiGenerateContentConstrained`` method, which only
    ``v1alpha`` serves.
    """
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ConfigError(f"base_url: expected an http(s) URL (got {base_url!r})")
    if ephemeral:
        service = _SERVICE.format(version="v1alpha", method="BidiGenerateContentConstrained")
    else:
        version = api_version or os.environ.get(API_VERSION_ENV) or DEFAULT_API_VERSION
        service = _SERVICE.format(version=version, method="BidiGenerateContent")
    path = f"{parts.path.rstrip('/')}/ws/{service}"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class GeminiConnection:
    """One open WebSocket; raises :class:`ConnectionLost` once it is gone.

    User audio at any rate but 16 kHz is converted to the 16 kHz Gemini takes on its way
    out (one streaming resampler per connection, so chunk edges leave no clicks).
    """

    media: MediaChannel | None = None

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._resampler = InputResampler()

    async def send(self, message: str) -> None:
        """Send one JSON text frame (converting user audio to 16 kHz when needed)."""
        message = self._resampler.convert(message)
        try:
            await self._socket.send(message)
        except ConnectionClosed as exc:
            raise self._lost(exc) from None

    async def receive(self) -> str | bytes:
        """The next frame from the server (text or binary JSON), as the bytes it arrived as."""
        try:
            # Undecoded: the codec's JSON parser takes UTF-8 bytes and checks them itself.
            frame = await self._socket.recv(decode=False)
        except ConnectionClosed as exc:
            raise self._lost(exc) from None
        return frame

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

    def _lost(self, exc: ConnectionClosed) -> ConnectionLost:
        close = exc.rcvd or exc.sent
        if close is None:
            return ConnectionLost("the connection dropped without a close frame", exc)
        reason = f": {close.reason}" if close.reason else ""
        message = f"the connection closed (code {close.code}{reason})"
        # Gemini refuses a credential by closing the socket after the upgrade; the
        # provider spec classifies the code and reason (authentication: not retried).
        return ConnectionLost(message, exc, close_code=close.code, close_reason=close.reason)


class GeminiConnector:
    """Opens :class:`GeminiConnection` s to ``{base_url}/ws/…BidiGenerateContent``.

    The key comes from the config (``GEMINI_API_KEY`` by default) or ``GOOGLE_API_KEY``
    and travels in the ``x-goog-api-key`` header, never in the URL or logs; an ephemeral
    token (``auth_tokens/…``) goes to the constrained method as ``Authorization: Token``.
    """

    async def open(self, config: SessionConfig) -> GeminiConnection:
        """Connect and return the open connection (handshake bounded by
        ``config.connect_timeout``)."""
        if config.base_url is None:
            raise ConfigError("base_url: no endpoint configured for Gemini Live")
        key = config.api_key.get_secret_value() if config.api_key is not None else None
        key = key or os.environ.get(FALLBACK_KEY_ENV)
        if not key:
            raise ConfigError(
                "api_key: no API key given and neither GEMINI_API_KEY nor GOOGLE_API_KEY is set"
            )
        ephemeral = key.startswith(TOKEN_PREFIX)
        url = live_url(config.base_url, ephemeral=ephemeral)
        headers = {"Authorization": f"Token {key}"} if ephemeral else {"x-goog-api-key": key}
        _log.debug("connecting", url=url, ephemeral=ephemeral)
        try:
            socket = await connect(
                url,
                additional_headers=headers,
                compression=None,
                max_size=MAX_MESSAGE_BYTES,
                open_timeout=config.connect_timeout,
                close_timeout=CLOSE_TIMEOUT,
                ping_interval=PING_INTERVAL,
                ping_timeout=None,
                user_agent_header="liveloop",
                logger=_wire_log,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            code = "invalid_api_key" if status in (401, 403) else f"http_{status}"
            raise ProviderError(
                f"Gemini refused the connection (HTTP {status})", code=code
            ) from None
        except (InvalidURI, InvalidHandshake, OSError, TimeoutError) as exc:
            raise ConnectionLost(f"could not connect to {url}", exc) from None
        return GeminiConnection(socket)
