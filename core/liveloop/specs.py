"""What plugins register: provider specs, transport specs and route specs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .features import Features
from .provider_errors import ProviderErrors

if TYPE_CHECKING:
    # Annotations only: registering a plugin must not import the codec and transport
    # contracts (and through them every event, action and config model).
    from .codec import CodecFactory
    from .testing.target import EmulatedProvider
    from .transport import Connector

__all__ = ["ProviderSpec", "RouteSpec", "SipWebhook", "TransportSpec"]


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class ProviderSpec:
    """A provider: its ``name``, the ``codec`` factory that speaks its wire protocol, and
    the ``features`` its protocol supports. Everything provider-specific that core needs
    is declared here; core itself names no provider, model or default.

    - ``api_key_env`` names the environment variable that holds the key when a session
      gives none; ``base_url_env`` / ``default_base_url`` do the same for the endpoint.
    - ``max_session_seconds``: the provider's session length limit (sessions roll over
      before it).
    - ``defaults``: :class:`~liveloop.SessionConfig` fields a session takes when it leaves
      them unset — typically ``transport`` (the pair to use when none is named),
      ``model``, ``voice``, ``input_audio`` / ``output_audio`` (``{"encoding": "pcm16",
      "rate": 24000}``) and ``input_transcription`` (``{"model": ...}``). They are
      validated as SessionConfig fields when a session opens.
    - ``transport_packages``: for each transport that a package implements for this
      provider, that package's distribution name (``{"websocket":
      "liveloop-acme-websocket"}``): :class:`~liveloop.UnsupportedTransport` suggests it
      when the pair is asked for but not installed.
    - ``priority``: when a session names no provider, the installed provider with the
      highest priority serves it (a tie is an error asking to name one).
    - ``emulator``: how this provider's sessions run on the bundled emulator, for the
      test fixtures, ``liveloop demo`` and the conformance kit
      (:class:`~liveloop.testing.target.EmulatedProvider`); ``None`` when it has none.
    - ``errors`` classifies the provider's error codes, close codes and close reasons
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
    defaults: Mapping[str, Any] = field(default_factory=dict)
    transport_packages: Mapping[str, str] = field(default_factory=dict)
    priority: int = 0
    emulator: EmulatedProvider | None = None
    errors: ProviderErrors = field(default_factory=ProviderErrors)

    def __post_init__(self) -> None:
        # Specs are shared by every session: their mappings must not change under them.
        object.__setattr__(self, "defaults", _frozen(self.defaults))
        object.__setattr__(self, "transport_packages", _frozen(self.transport_packages))


@dataclass(frozen=True)
class TransportSpec:
    """A transport for one provider: the pair's names, the ``connector`` that negotiates
    and carries connections, and the ``features`` the transport supports.

    ``provider_package`` is the distribution of the provider plugin this transport needs;
    :class:`~liveloop.UnsupportedTransport` suggests it when that provider is missing.
    """

    provider: str
    transport: str
    connector: Connector
    features: Features
    description: str = ""
    provider_package: str | None = None

    @property
    def pair(self) -> str:
        """``provider/transport``."""
        return f"{self.provider}/{self.transport}"


@dataclass(frozen=True)
class SipWebhook:
    """The webhook a provider posts its SIP calls to, as a plugin's routes answer it.

    ``provider`` names the provider that posts it, ``path`` where it posts, and
    ``routes(server, secret)`` builds the routes that verify deliveries with the webhook
    ``secret`` (as :attr:`RouteSpec.routes` does with the configured one). ``liveloop demo
    --phone sip`` serves them with a local secret and has the bundled emulator ring
    ``path``.
    """

    provider: str
    path: str
    routes: Callable[[Any, str], Sequence[Any]]


@dataclass(frozen=True)
class RouteSpec:
    """Routes a plugin adds to ``liveloop serve``: ``name`` labels them (in errors and
    logs), and ``routes(server)`` builds them when the server starts.

    ``routes`` gets the running server (a ``liveloop_serve.Server``: the app's handlers,
    the caller checks, the registry of live calls, the provider settings) and returns
    Starlette routes (``Route`` or ``WebSocketRoute``). Core never imports the server or
    Starlette: both belong to the ``liveloop-serve`` distribution, which calls this. It may
    raise ``liveloop_serve.ServeError`` to refuse to start (a missing key, for example).

    ``sip`` is set when these routes answer a provider's SIP call webhook
    (:class:`SipWebhook`).
    """

    name: str
    routes: Callable[[Any], Sequence[Any]]
    description: str = ""
    sip: SipWebhook | None = None
