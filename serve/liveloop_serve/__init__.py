"""``liveloop serve``: an ASGI server that runs a ``liveloop.App``'s handlers on calls, with
the routes the installed plugins contribute (``register_routes``), the checks every
request passes, and the registry of live calls (in memory, or shared through Redis)."""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .guards import client_address
    from .ratelimit import Rate, RateLimiter
    from .redis_store import RedisStore
    from .registry import Call, CapacityError, Registry
    from .responses import SECURITY_HEADERS, error
    from .running import EMULATOR_KEY, run_server, serving
    from .server import ServeError, Server, create_app, env_key
    from .store import CallRecord, MemoryStore, Store, open_store
    from .tokens import CallerTokens

# Loaded on first use: the plugin entry point imports this package, and listing the
# installed plugins must not pay for Starlette, uvicorn or the limits library.
_EXPORTS = {
    "client_address": ".guards",
    "Rate": ".ratelimit",
    "RateLimiter": ".ratelimit",
    "Call": ".registry",
    "CapacityError": ".registry",
    "Registry": ".registry",
    "SECURITY_HEADERS": ".responses",
    "error": ".responses",
    "EMULATOR_KEY": ".running",
    "run_server": ".running",
    "serving": ".running",
    "ServeError": ".server",
    "Server": ".server",
    "create_app": ".server",
    "env_key": ".server",
    "CallRecord": ".store",
    "MemoryStore": ".store",
    "Store": ".store",
    "open_store": ".store",
    "RedisStore": ".redis_store",
    "CallerTokens": ".tokens",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


__all__ = [
    "EMULATOR_KEY",
    "SECURITY_HEADERS",
    "Call",
    "CallRecord",
    "CallerTokens",
    "CapacityError",
    "MemoryStore",
    "Rate",
    "RateLimiter",
    "RedisStore",
    "Registry",
    "ServeError",
    "Server",
    "Store",
    "client_address",
    "create_app",
    "env_key",
    "error",
    "open_store",
    "run_server",
    "serving",
]
