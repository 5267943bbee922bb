"""The capability matrix: the provider/transport pairs the installed plugins implement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, PluginError, UnsupportedTransport
from .features import Features
from .plugins import PluginManager, Registered, get_plugin_manager
from .specs import ProviderSpec, TransportSpec

__all__ = ["Capability", "capabilities", "default_provider", "install_hint", "resolve"]


@dataclass(frozen=True)
class Capability:
    """One supported pair: who implements it, at which version, with which features.

    Built by :func:`capabilities` from the registered specs (a plain dataclass: listing
    the pairs builds no model class or validator)."""

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
        return {
            "provider": self.provider,
            "transport": self.transport,
            "plugin": self.plugin,
            "version": self.version,
            "provider_plugin": self.provider_plugin,
            "provider_version": self.provider_version,
            "features": self.features.as_dict(),
            "description": self.description,
        }


def capabilities(manager: PluginManager | None = None) -> list[Capability]:
    """Every provider/transport pair whose transport and provider codec are both installed.

    A transport registered for a provider that no plugin provides is left out: a pair
    that no installed code can carry is never listed. Sorted by provider, then transport.

    Raises :class:`~liveloop.PluginError` naming the pair when its transport claims an
    audio format its provider's codec does not speak: a claimed format is never lost
    silently in the intersection.
    """
    manager = manager or get_plugin_manager()
    providers = manager.providers()
    rows = []
    for (provider, transport), reg in sorted(manager.transports().items()):
        prov = providers.get(provider)
        if prov is None:
            continue
        _check_formats(prov, reg)
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


def _check_formats(
    provider: Registered[ProviderSpec], transport: Registered[TransportSpec]
) -> None:
    lost = [
        fmt
        for fmt in transport.spec.features.audio_formats
        if fmt not in provider.spec.features.audio_formats
    ]
    if lost:
        spoken = ", ".join(provider.spec.features.audio_formats) or "none"
        raise PluginError(
            f"{transport.spec.pair} ({transport.distribution} {transport.version}, plugin "
            f"{transport.plugin!r}) claims audio format(s) {', '.join(lost)} that provider "
            f"{provider.spec.name}'s codec ({provider.distribution}) does not speak "
            f"(it speaks: {spoken})"
        )


def resolve(
    provider: str, transport: str, manager: PluginManager | None = None
) -> tuple[Registered[ProviderSpec], Registered[TransportSpec], Capability]:
    """Find the installed implementation of ``provider/transport``.

    Raises :class:`UnsupportedTransport` naming the installed pairs and, where the
    installed plugins say (:func:`install_hint`), the packages that would add the one
    asked for.
    """
    manager = manager or get_plugin_manager()
    rows = capabilities(manager)
    for row in rows:
        if row.provider == provider and row.transport == transport:
            return manager.providers()[provider], manager.transports()[(provider, transport)], row
    available = [f"{row.provider}/{row.transport}" for row in rows]
    unknown = manager.unknown_allowed()
    if unknown is not None:
        raise UnsupportedTransport(provider, transport, available, reason=unknown)
    raise UnsupportedTransport(
        provider, transport, available, install_hint(provider, transport, manager)
    )


def install_hint(provider: str, transport: str, manager: PluginManager | None = None) -> str | None:
    """The packages that would add ``provider/transport``, as the installed plugins
    declare them: the provider's ``transport_packages`` name the transport's package, an
    installed transport's ``provider_package`` names the provider's. ``None`` when no
    installed plugin knows."""
    manager = manager or get_plugin_manager()
    packages: list[str] = []
    prov = manager.providers().get(provider)
    if prov is None:
        packages += sorted(
            {
                reg.spec.provider_package
                for (name, _), reg in manager.transports().items()
                if name == provider and reg.spec.provider_package
            }
        )
    else:
        package = prov.spec.transport_packages.get(transport)
        if package and (provider, transport) not in manager.transports():
            packages.append(package)
    return " and ".join(packages) or None


def default_provider(manager: PluginManager | None = None) -> str:
    """The provider that serves a session naming none: the installed provider with the
    highest ``priority`` (see :class:`~liveloop.plugin.ProviderSpec`).

    Raises :class:`UnsupportedTransport` when no provider is installed and
    :class:`~liveloop.ConfigError` when two providers tie.
    """
    manager = manager or get_plugin_manager()
    providers = manager.providers()
    if not providers:
        # A misspelled LIVELOOP_PLUGINS is the likeliest reason: say so.
        raise UnsupportedTransport("", "", [], None, reason=manager.unknown_allowed())
    ranked = sorted(providers, key=lambda name: (-providers[name].spec.priority, name))
    top = providers[ranked[0]].spec.priority
    tied = [name for name in ranked if providers[name].spec.priority == top]
    if len(tied) > 1:
        raise ConfigError(
            f"provider: name one of the installed providers {', '.join(tied)} "
            "(they have the same priority)"
        )
    return ranked[0]
