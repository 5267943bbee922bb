"""What plugins register: provider specs, transport specs and route specs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .codec import CodecFactory
from .features import Features
from .provider_errors import ProviderErrors
from .transport import Connector

__all__ = ["ProviderSpec", "RouteSpec", "TransportSpec"]


@dataclass(frozen=True)
class ProviderSpec:
    """A provider: its ``name``, the ``codec`` factory that speaks its wire protocol, and
    the ``features`` its protocol supports.

    ``api_key_env`` names the environment variable that holds the key when a session
    gives none; ``base_url_env`` / ``default_base_url`` do the same for the endpoint.

    ``errors`` classifies the provider's error codes, close codes and close reasons
    (:class:`~liveloop.provider_errors.ProviderErrors`): which mean "retry", "a response
    is already active", "authentication refused" or "fatal". The runtime acts on these
    kinds only; it knows no provider's codes.
    """

    name: str
    codec: CodecFactory
    features: Features
    description: str = ""
    api_key_env: str | None = None
    base_url_env: str | None = None
    default_base_url: str | None = None
    max_session_seconds: float | None = None
    errors: ProviderErrors = field(default_factory=ProviderErrors)


@dataclass(frozen=True)
class TransportSpec:
    """A transport for one provider: the pair's names, the ``connector`` that negotiates
    and carries connections, and the ``features`` the transport supports."""

    provider: str
    transport: str
    connector: Connector
    features: Features
    description: str = ""

    @property
    def pair(self) -> str:
        """``provider/transport``."""
        return f"{self.provider}/{self.transport}"


@dataclass(frozen=True)
class RouteSpec:
    """Routes a plugin adds to ``liveloop serve``: ``name`` labels them (in errors and
    logs), and ``routes(server)`` builds them when the server starts.

    ``routes`` gets the running server (a ``liveloop_serve.Server``: the app's handlers,
    the caller checks, the registry of live calls, the provider settings) and returns
    Starlette routes (``Route`` or ``WebSocketRoute``). Core never imports the server or
    Starlette: both belong to the ``liveloop-serve`` distribution, which calls this. It may
    raise ``liveloop_serve.ServeError`` to refuse to start (a missing key, for example).
    """

    name: str
    routes: Callable[[Any], Sequence[Any]]
    description: str = ""
