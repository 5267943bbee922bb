"""``openai/webrtc_sideband``: the control WebSocket of a WebRTC call (``?call_id=…``).

The call's media flows between the end user's device (a browser) and the provider; this
process only carries the control events (the same JSON events as the WebSocket
transport), so ``media`` is ``None`` and the pair claims neither ``audio_in`` nor
``audio_out``. The session's ``call_id`` names the call (from the ``Location`` header of
``POST /v1/realtime/calls``); ``liveloop serve`` opens these sessions for browser calls.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from liveloop import ConfigError, ConnectionLost, ProviderError, SessionConfig, get_logger
from liveloop.transport import MediaChannel

__all__ = ["SidebandConnection", "SidebandConnector", "sideband_url"]

_log = get_logger("liveloop.openai_webrtc.sideband")

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
CLOSE_TIMEOUT = 0.5
PING_INTERVAL = 10.0
PING_TIMEOUT = 10.0


def sideband_url(base_url: str, call_id: str) -> str:
    """``{base_url}/realtime?call_id=…`` with ``http``->``ws`` and ``https``->``wss``."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ConfigError(f"base_url: expected an http(s) URL (got {base_url!r})")
    path = parts.path.rstrip("/") + "/realtime"
    return urlunsplit((scheme, parts.netloc, path, urlencode({"call_id": call_id}), ""))


class SidebandConnection:
    """One open sideband WebSocket; raises :class:`ConnectionLost` once it is gone (the
    call ended, the provider closed it, the network dropped)."""

    media: MediaChannel | None = None

    def __init__(self, socket: ClientConnection, call_id: str) -> None:
        self._socket = socket
        self.call_id = call_id

    async def send(self, message: str) -> None:
        """Send one JSON text frame."""
        try:
            await self._socket.send(message)
        except ConnectionClosed as exc:
            raise ConnectionLost(_describe_close(exc), exc) from None

    async def receive(self) -> str | bytes:
        """The next frame from the provider."""
        try:
            return await self._socket.recv()
        except ConnectionClosed as exc:
            raise ConnectionLost(_describe_close(exc), exc) from None

    async def close(self) -> None:
        """Close within about half a second (the call itself is not hung up: that is the
        caller's decision, ``POST /v1/realtime/calls/{call_id}/hangup``)."""
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT + 0.1):
                await self._socket.close()
        except (TimeoutError, OSError, ConnectionClosed):
            pass
        finally:
            if self._socket.transport is not None:
                self._socket.transport.abort()


class SidebandConnector:
    """Attaches to the call ``config.call_id`` over ``{base_url}/realtime?call_id=…``.

    The API key travels in the ``Authorization`` header only.
    """

    async def open(self, config: SessionConfig) -> SidebandConnection:
        """Connect (bounded by ``config.connect_timeout``) and return the connection."""
        if config.call_id is None:
            raise ConfigError("call_id: a sideband session attaches to a call; give its call_id")
        if config.base_url is None:
            raise ConfigError("base_url: no endpoint configured for the OpenAI sideband")
        if config.api_key is None:
            raise ConfigError("api_key: no API key given and OPENAI_API_KEY is not set")
        url = sideband_url(config.base_url, config.call_id)
        headers = {"Authorization": f"Bearer {config.api_key.get_secret_value()}"}
        _log.debug("attaching the sideband", url=url)
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
            )
        except InvalidStatus as exc:
            raise _refusal(exc) from None
        except (InvalidURI, InvalidHandshake, OSError, TimeoutError) as exc:
            raise ConnectionLost(f"could not attach the sideband at {url}", exc) from None
        return SidebandConnection(socket, config.call_id)


def _refusal(exc: InvalidStatus) -> ProviderError:
    status = exc.response.status_code
    message = f"the provider refused the sideband (HTTP {status})"
    code: str | None = None
    try:
        body = json.loads(exc.response.body or b"{}")
        error = body.get("error") or {}
        message = f"{message}: {error.get('message') or ''}".rstrip(": ")
        code = error.get("code") or error.get("type")
    except (ValueError, AttributeError):
        pass
    return ProviderError(message, code=code or f"http_{status}")


def _describe_close(exc: ConnectionClosed) -> str:
    close = exc.rcvd or exc.sent
    if close is None:
        return "the sideband dropped without a close frame"
    reason = f": {close.reason}" if close.reason else ""
    return f"the sideband closed (code {close.code}{reason})"
