"""What plugin authors build on: the one namespace for writing a provider or a transport.

A provider plugin registers a :class:`ProviderSpec` (its event codec, features, defaults,
how its errors classify (:class:`ProviderErrors`), and how its sessions run on the bundled
emulator); a transport plugin registers a :class:`TransportSpec` (the connector of one
provider/transport pair); a plugin that adds routes to ``liveloop serve`` registers a
:class:`RouteSpec`. Hook implementations are marked with :data:`hookimpl`;
:class:`LazyConnector` and :func:`lazy_codec` name a connector or codec by
``"package.module:Name"`` so registering imports nothing heavy. The contracts a plugin
implements are :class:`EventCodec`, :class:`Connector`, :class:`Connection`,
:class:`MediaChannel` and :class:`CallControl`.

Handler code needs none of this: it imports :mod:`liveloop`. The action types a codec
encodes are in :mod:`liveloop.actions`, the events it decodes to in :mod:`liveloop.events`,
and the conformance kit's target contract in :mod:`liveloop.testing`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .calls import CallControl
    from .codec import CodecFactory, EventCodec
    from .connecting import resolve_config
    from .features import Features
    from .hookspecs import hookimpl
    from .lazy import LazyConnector, lazy_codec, lazy_exports
    from .log import redact
    from .matrix import default_provider, install_hint, resolve
    from .plugins import (
        ENTRY_POINT_GROUP,
        PluginInfo,
        PluginManager,
        Registered,
        get_plugin_manager,
        register,
        unregister,
    )
    from .provider_errors import STANDARD_CLOSE_CODES, ErrorKind, ProviderErrors
    from .specs import ProviderSpec, RouteSpec, SipWebhook, TransportSpec
    from .transport import Connection, Connector, MediaChannel

# Loaded on first use, as the package root is: a plugin that needs one name pays for one
# module.
_EXPORTS: dict[str, str] = {
    "CallControl": "calls",
    "CodecFactory": "codec",
    "EventCodec": "codec",
    "resolve_config": "connecting",
    "Features": "features",
    "hookimpl": "hookspecs",
    "LazyConnector": "lazy",
    "lazy_codec": "lazy",
    "lazy_exports": "lazy",
    "redact": "log",
    "default_provider": "matrix",
    "install_hint": "matrix",
    "resolve": "matrix",
    "ENTRY_POINT_GROUP": "plugins",
    "PluginInfo": "plugins",
    "PluginManager": "plugins",
    "Registered": "plugins",
    "get_plugin_manager": "plugins",
    "register": "plugins",
    "unregister": "plugins",
    "STANDARD_CLOSE_CODES": "provider_errors",
    "ErrorKind": "provider_errors",
    "ProviderErrors": "provider_errors",
    "ProviderSpec": "specs",
    "RouteSpec": "specs",
    "SipWebhook": "specs",
    "TransportSpec": "specs",
    "Connection": "transport",
    "Connector": "transport",
    "MediaChannel": "transport",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"liveloop.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ENTRY_POINT_GROUP",
    "STANDARD_CLOSE_CODES",
    "CallControl",
    "CodecFactory",
    "Connection",
    "Connector",
    "ErrorKind",
    "EventCodec",
    "Features",
    "LazyConnector",
    "MediaChannel",
    "PluginInfo",
    "PluginManager",
    "ProviderErrors",
    "ProviderSpec",
    "Registered",
    "RouteSpec",
    "SipWebhook",
    "TransportSpec",
    "default_provider",
    "get_plugin_manager",
    "hookimpl",
    "install_hint",
    "lazy_codec",
    "lazy_exports",
    "redact",
    "register",
    "resolve",
    "resolve_config",
    "unregister",
]
