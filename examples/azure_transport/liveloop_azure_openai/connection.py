"""A WebSocket to an Azure OpenAI resource speaking the OpenAI Realtime protocol.

Azure serves the same protocol as OpenAI at a different address and with a different
header: ``wss://{resource host}/openai/realtime?api-version=…&deployment=…`` with the key
in ``api-key``. The frames are the OpenAI provider codec's business (``liveloop-openai``);
this transport only opens the socket and moves frames.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from liveloop import ConfigError, ConnectionLost, ProviderError, SessionConfig, get_logger
from liveloop.transport import MediaChannel

__all__ = ["API_VERSION", "AzureConnection", "AzureConnector", "azure_realtime_url"]

_log = get_logger("liveloop.azure_openai")

API_VERSION = "2025-08-28"
"""The Azure OpenAI API version asked for unless the connector is told another: the GA one,
whose protocol the OpenAI codec speaks (preview api-versions speak the beta protocol)."""

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the Realtime API caps events at 15 MiB
CLOSE_TIMEOUT = 0.5
PING_INTERVAL = 10.0
PING_TIMEOUT = 10.0


def azure_realtime_url(base_url: str, *, deployment: str, api_version: str = API_VERSION) -> str:
    """The Realtime WebSocket URL of the Azure resource at ``base_url``.

    Only the scheme and host of ``base_url`` count (``https://res.openai.azure.com/any/path``
    gives ``wss://res.openai.azure.com/openai/realtime?…``); ``http`` maps to ``ws``.
    """
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ConfigError(f"base_url: expected the resource's https URL (got {base_url!r})")
    query = urlencode({"api-version": api_version, "deployment": deployment})
    return urlunsplit((scheme, parts.netloc, "/openai/realtime", query, ""))


class AzureConnection:
    """One open WebSocket; raises :class:`ConnectionLost` once it is gone."""

    media: MediaChannel | None = None  # audio rides inside the JSON events

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket

    async def send(self, message: str) -> None:
        """Send one JSON text frame."""
        try:
            await self._socket.send(message)
        except ConnectionClosed as exc:
            raise ConnectionLost(_describe_close(exc), exc) from None

    async def receive(self) -> str | bytes:
        """The next frame from the service."""
        try:
            return await self._socket.recv()
        except ConnectionClosed as exc:
            raise ConnectionLost(_describe_close(exc), exc) from None

    async def close(self) -> None:
        """Close within about half a second, even if the service never answers the close."""
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT + 0.1):
                await self._socket.close()
        except (TimeoutError, OSError, ConnectionClosed):
            pass
        finally:
            if self._socket.transport is not None:
                self._socket.transport.abort()


class AzureConnector:
    """Opens :class:`AzureConnection` s: ``config.base_url`` is the resource's endpoint,
    ``config.model`` the deployment name, ``config.api_key`` the resource key (sent in the
    ``api-key`` header only, never in the URL or logs)."""

    def __init__(self, api_version: str = API_VERSION) -> None:
        self.api_version = api_version

    async def open(self, config: SessionConfig) -> AzureConnection:
        """Connect and return the open connection (bounded by ``config.connect_timeout``)."""
        if config.base_url is None:
            raise ConfigError("base_url: give the Azure resource's endpoint")
        if config.api_key is None:
            raise ConfigError("api_key: give the Azure resource's key")
        if config.model is None:
            raise ConfigError("model: give the Azure deployment's name")
        url = azure_realtime_url(
            config.base_url, deployment=config.model, api_version=self.api_version
        )
        _log.debug("connecting", url=url)
        try:
            socket = await connect(
                url,
                additional_headers={"api-key": config.api_key.get_secret_value()},
                compression=None,
                max_size=MAX_MESSAGE_BYTES,
                open_timeout=config.connect_timeout,
                close_timeout=CLOSE_TIMEOUT,
                ping_interval=PING_INTERVAL,
                ping_timeout=PING_TIMEOUT,
                user_agent_header="liveloop-azure-openai",
            )
        except InvalidStatus as exc:
            raise _refusal(exc) from None
        except (InvalidURI, InvalidHandshake, OSError, TimeoutError) as exc:
            raise ConnectionLost(f"could not connect to {url}", exc) from None
        return AzureConnection(socket)


def _refusal(exc: InvalidStatus) -> ProviderError:
    status = exc.response.status_code
    message = f"the service refused the connection (HTTP {status})"
    code: str | None = None
    try:
        error = json.loads(exc.response.body or b"{}").get("error") or {}
        message = f"{message}: {error.get('message') or ''}".rstrip(": ")
        code = error.get("code") or error.get("type")
    except (ValueError, AttributeError):
        pass
    return ProviderError(message, code=str(code) if code else f"http_{status}")


def _describe_close(exc: ConnectionClosed) -> str:
    close = exc.rcvd or exc.sent
    if close is None:
        return "the connection dropped without a close frame"
    reason = f": {close.reason}" if close.reason else ""
    return f"the connection closed (code {close.code}{reason})"
