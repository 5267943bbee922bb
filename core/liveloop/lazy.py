"""Connectors and codec factories that import their module on first use.

A plugin registers its specs whenever liveloop loads plugins (``liveloop capabilities``, or
any session, for any pair): its plugin module should import nothing heavy. Naming the
connector or codec by ``"package.module:Name"`` defers the import of its module (and what
that module imports: numpy, aiortc, a WebSocket library, pydantic models) to the first
session that uses the pair.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .codec import CodecFactory, EventCodec
    from .config import SessionConfig
    from .transport import Connection, Connector

__all__ = ["LazyConnector", "lazy_codec", "lazy_exports", "load"]


def load(target: str) -> Any:
    """The object ``"package.module:Name"`` names (the module imported if needed)."""
    module, sep, name = target.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"expected 'package.module:Name', got {target!r}")
    return getattr(importlib.import_module(module), name)


class LazyConnector:
    """A :class:`~liveloop.transport.Connector` built from ``target`` (a connector class or
    factory, called with no arguments) when the first connection opens."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._connector: Connector | None = None

    async def open(self, config: SessionConfig) -> Connection:
        if self._connector is None:
            self._connector = load(self.target)()
        return await self._connector.open(config)

    def __repr__(self) -> str:
        return f"LazyConnector({self.target!r})"


def lazy_codec(target: str) -> CodecFactory:
    """A codec factory that imports ``target`` (a codec class or factory taking the
    session's config) when the first session needs a codec."""

    def build(config: SessionConfig) -> EventCodec:
        codec: EventCodec = load(target)(config)
        return codec

    build.__qualname__ = build.__name__ = f"lazy_codec({target!r})"
    return build


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` whose public names (``exports``: name ->
    submodule) import their submodule on first use, then stay in the package's namespace:
    ``__getattr__ = lazy_exports(__name__, {"MyCodec": "codec"})``."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
