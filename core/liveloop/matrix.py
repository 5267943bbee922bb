"""The capability matrix: the provider/transport pairs the installed plugins implement."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import UnsupportedTransport
from .features import Features
from .plugins import PluginManager, Registered, get_plugin_manager
from .specs import ProviderSpec, TransportSpec

__all__ = ["Capability", "capabilities", "resolve"]

# Where a well-known pair (or provider) comes from, for the hint in UnsupportedTransport.
KNOWN_PACKAGES: dict[tuple[str, str | None], str] = {
    ("openai", None): "liveloop-openai",
    ("openai", "websocket"): "liveloop-openai-websocket",
    ("openai", "webrtc"): "liveloop-openai-webrtc",
    ("openai", "webrtc_sideband"): "liveloop-openai-webrtc",
}


class Capability(BaseModel):
    """One supported pair: who implements it, at which version, with which features."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    transport: str
    plugin: str
    version: str
    provider_plugin: str
    provider_version: str
    features: Features
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return self.model_dump(mode="json")


def capabilities(manager: PluginManager | None = None) -> list[Capability]:
    """Every provider/transport pair whose transport and provider codec are both installed.

    A transport registered for a provider that no plugin provides is left out: a pair
    that no installed code can carry is never listed. Sorted by provider, then transport.
    """
    manager = manager or get_plugin_manager()
    providers = manager.providers()
    rows = []
    for (provider, transport), reg in sorted(manager.transports().items()):
        prov = providers.get(provider)
        if prov is None:
            continue
        rows.append(
            Capability(
                provider=provider,
                transport=transport,
                plugin=reg.distribution,
                version=reg.version,
                provider_plugin=prov.distribution,
                provider_version=prov.version,
                features=prov.spec.features.combine(reg.spec.features),
                description=reg.spec.description,
            )
        )
    return rows


def resolve(
    provider: str, transport: str, manager: PluginManager | None = None
) -> tuple[Registered[ProviderSpec], Registered[TransportSpec], Capability]:
    """Find the installed implementation of ``provider/transport``.

    Raises :class:`UnsupportedTransport` naming the installed pairs and, where known, the
    package that would add the one asked for.
    """
    manager = manager or get_plugin_manager()
    rows = capabilities(manager)
    for row in rows:
        if row.provider == provider and row.transport == transport:
            return manager.providers()[provider], manager.transports()[(provider, transport)], row
    available = [f"{row.provider}/{row.transport}" for row in rows]
    hint = KNOWN_PACKAGES.get((provider, transport))
    if provider not in manager.providers() and (provider, None) in KNOWN_PACKAGES:
        provider_hint = KNOWN_PACKAGES[(provider, None)]
        hint = f"{provider_hint} and {hint}" if hint else provider_hint
    unknown = manager.unknown_allowed()
    if unknown is not None:
        raise UnsupportedTransport(provider, transport, available, reason=unknown)
    raise UnsupportedTransport(provider, transport, available, hint)
