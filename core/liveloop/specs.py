"""What plugins register: provider specs and transport specs."""

from __future__ import annotations

from dataclasses import dataclass, field

from .codec import CodecFactory
from .features import Features
from .provider_errors import ProviderErrors
from .transport import Connector

__all__ = ["ProviderSpec", "TransportSpec"]


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
