"""A WebSocket connection to Gemini Live's ``BidiGenerateContent`` (or anything that
speaks it, like the bundled emulator)."""

from __future__ import annotations

import os

from liveloop import ConfigError, ProviderError, SessionConfig, get_logger
from liveloop_websocket import LinkSocket, WebSocketLink, dial, websocket_url, wire_logger

from .resample import InputResampler

__all__ = ["GeminiConnection", "GeminiConnector", "live_url"]

_log = get_logger("liveloop.gemini_websocket")
_wire_log = wire_logger("liveloop.gemini_websocket.wire")

# Gemini answers pings slowly (8-30 s measured): a ping timeout would cut healthy
# sessions (1011 "keepalive ping timeout"), so pings keep the path open and never close it.
PING_INTERVAL = 20.0
API_VERSION_ENV = "GEMINI_API_VERSION"
DEFAULT_API_VERSION = "v1beta"
FALLBACK_KEY_ENV = "GOOGLE_API_KEY"
TOKEN_PREFIX = "auth_tokens/"
_SERVICE = "google.ai.generativelanguage.{version}.GenerativeService.{method}"


def live_url(base_url: str, *, ephemeral: bool = False, api_version: str | None = None) -> str:
    """The ``BidiGenerateContent`` WebSocket URL for an HTTP(S) ``base_url``.

    Ephemeral tokens use the ``BidiGenerateContentConstrained`` method, which only
    ``v1alpha`` serves.
    """
    if ephemeral:
        service = _SERVICE.format(version="v1alpha", method="BidiGenerateContentConstrained")
    else:
        version = api_version or os.environ.get(API_VERSION_ENV) or DEFAULT_API_VERSION
        service = _SERVICE.format(version=version, method="BidiGenerateContent")
    return websocket_url(base_url, f"/ws/{service}")


class GeminiConnection(WebSocketLink):
    """One open WebSocket; raises :class:`~liveloop.ConnectionLost` once it is gone.

    User audio at any rate but 16 kHz is converted to the 16 kHz Gemini takes on its way
    out (one streaming resampler per connection, so chunk edges leave no clicks). Gemini
    refuses a credential by closing the socket after the upgrade; the provider spec
    classifies the close code and reason (authentication: not retried).
    """

    def __init__(self, socket: LinkSocket) -> None:
        super().__init__(socket)
        self._resampler = InputResampler()

    async def send(self, message: str) -> None:
        """Send one JSON text frame (converting user audio to 16 kHz when needed)."""
        await super().send(self._resampler.convert(message))


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
        socket = await dial(
            url,
            headers,
            connect_timeout=config.connect_timeout,
            ping_interval=PING_INTERVAL,
            ping_timeout=None,
            logger=_wire_log,
            refusal=_refusal,
        )
        return GeminiConnection(socket)


def _refusal(status: int, body: bytes) -> ProviderError:
    code = "invalid_api_key" if status in (401, 403) else f"http_{status}"
    return ProviderError(f"Gemini refused the connection (HTTP {status})", code=code)
