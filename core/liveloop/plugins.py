"""Plugin loading and the typed facade over pluggy.

Core code asks this module for providers, transports and CLI commands; it never calls
``pm.hook.<name>(...)`` itself. Plugins come from the ``liveloop`` entry-point group and
from :func:`register` at runtime. ``LIVELOOP_PLUGINS`` restricts which entry points load
(a comma-separated list of entry-point or distribution names; set but empty = none).
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pluggy

from . import hookspecs
from .errors import PluginError
from .log import get_logger
from .specs import ProviderSpec, RouteSpec, TransportSpec

if TYPE_CHECKING:
    import click

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PluginManager",
    "Registered",
    "get_plugin_manager",
    "register",
    "unregister",
]

ENTRY_POINT_GROUP = "liveloop"
PLUGINS_ENV = "LIVELOOP_PLUGINS"

_log = get_logger("liveloop.plugins")
S = TypeVar("S", ProviderSpec, TransportSpec, RouteSpec)


@dataclass(frozen=True)
class Registered(Generic[S]):
    """A spec with the plugin that registered it."""

    spec: S
    plugin: str
    distribution: str
    version: str


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as ``liveloop plugins`` shows it; ``error`` is set when it failed to load."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...] = ()
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": list(self.hooks),
            "error": self.error,
        }


@dataclass
class _Origin:
    distribution: str
    version: str


@dataclass
class _Cache:
    providers: dict[str, Registered[ProviderSpec]] | None = None
    transports: dict[tuple[str, str], Registered[TransportSpec]] | None = None
    errors: list[PluginInfo] = field(default_factory=list)


class PluginManager:
    """liveloop's plugin registry: loads plugins and answers typed questions about them."""

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._origins: dict[str, _Origin] = {}
        self._load_errors: list[PluginInfo] = []
        self._entry_points_loaded = False
        self._installed_names: list[str] = []
        self._unknown_allowed: tuple[str, ...] = ()
        self._cache = _Cache()
        self._lock = threading.RLock()

    # -- loading -----------------------------------------------------------------------

    def load_entry_points(self) -> None:
        """Load plugins from the ``liveloop`` entry-point group (once; later calls no-op).

        A plugin that fails to import or misnames a hook is skipped and reported (a
        warning log line and an entry in :meth:`plugins`); the others still load.
        """
        with self._lock:
            if self._entry_points_loaded:
                return
            self._entry_points_loaded = True
            allowed = _allowed_plugins()
            allowed_seen: set[str] = set()
            for entry_point, dist_name, version in _entry_points():
                self._installed_names.append(entry_point.name)
                if allowed is not None and allowed & {entry_point.name, dist_name}:
                    allowed_seen.update(allowed & {entry_point.name, dist_name})
                if allowed is not None and not {entry_point.name, dist_name} & allowed:
                    continue
                if self._pm.has_plugin(entry_point.name):
                    continue
                try:
                    plugin = entry_point.load()
                    self._register(plugin, entry_point.name, _Origin(dist_name, version))
                except Exception as exc:  # a broken plugin must not break the others
                    error = f"{type(exc).__name__}: {exc}"
                    self._load_errors.append(
                        PluginInfo(entry_point.name, dist_name, version, error=error)
                    )
                    _log.warning(
                        "plugin failed to load",
                        plugin=entry_point.name,
                        distribution=dist_name,
                        error=error,
                    )
            self._unknown_allowed = tuple(sorted((allowed or set()) - allowed_seen))

    def unknown_allowed(self) -> str | None:
        """Why plugins are missing when ``LIVELOOP_PLUGINS`` names one that is not installed
        (a misspelling, say); ``None`` when every name it lists was found."""
        self.load_entry_points()
        if not self._unknown_allowed:
            return None
        names = ", ".join(repr(name) for name in self._unknown_allowed)
        installed = ", ".join(sorted(set(self._installed_names))) or "none"
        return (
            f"{PLUGINS_ENV} names {names}, which is not an installed plugin "
            f"(installed plugins: {installed})"
        )

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object (a module or an object with hookimpls); return its name.

        Raises :class:`PluginError` naming the plugin when a hook is misspelled or has an
        argument the spec does not have.
        """
        self.load_entry_points()
        return self._register(plugin, name, _origin_of(plugin))

    def unregister(self, plugin: object | str) -> None:
        """Remove a plugin registered earlier, by object or by name (no error if absent)."""
        with self._lock:
            name = plugin if isinstance(plugin, str) else self._pm.get_name(plugin)
            if name is None or not self._pm.has_plugin(name):
                return
            self._pm.unregister(name=name)
            self._origins.pop(name, None)
            self._cache = _Cache()

    def _register(self, plugin: object, name: str | None, origin: _Origin) -> str:
        with self._lock:
            label = name or getattr(plugin, "__name__", None) or type(plugin).__name__
            try:
                registered = self._pm.register(plugin, name=label)
            except ValueError as exc:  # already registered under that name or object
                raise PluginError(f"plugin {label!r}: {exc}") from None
            except pluggy.PluginValidationError as exc:
                raise PluginError(f"plugin {label!r} ({origin.distribution}): {exc}") from None
            assert registered is not None
            try:
                self._pm.check_pending()
            except pluggy.PluginValidationError as exc:
                self._pm.unregister(name=registered)
                raise PluginError(f"plugin {label!r} ({origin.distribution}): {exc}") from None
            self._origins[registered] = origin
            self._cache = _Cache()
            return registered

    # -- typed questions -----------------------------------------------------------------

    def providers(self) -> dict[str, Registered[ProviderSpec]]:
        """Every registered provider by name. Raises :class:`PluginError` on a clash."""
        self.load_entry_points()
        with self._lock:
            if self._cache.providers is None:
                found: dict[str, Registered[ProviderSpec]] = {}
                for reg in self._collect("register_providers", ProviderSpec):
                    _check_unique(found, reg.spec.name, reg, "provider")
                    found[reg.spec.name] = reg
                self._cache.providers = found
            return dict(self._cache.providers)

    def transports(self) -> dict[tuple[str, str], Registered[TransportSpec]]:
        """Every registered transport by ``(provider, transport)``; a clash is an error."""
        self.load_entry_points()
        with self._lock:
            if self._cache.transports is None:
                found: dict[tuple[str, str], Registered[TransportSpec]] = {}
                for reg in self._collect("register_transports", TransportSpec):
                    key = (reg.spec.provider, reg.spec.transport)
                    _check_unique(found, key, reg, "provider/transport pair")
                    found[key] = reg
                self._cache.transports = found
            return dict(self._cache.transports)

    def routes(self) -> list[Registered[RouteSpec]]:
        """Every group of ``liveloop serve`` routes, with the plugin that registered it
        (not cached: a server asks once, when it starts)."""
        self.load_entry_points()
        with self._lock:
            return self._collect("register_routes", RouteSpec)

    def add_commands(self, cli: click.Group) -> None:
        """Let every plugin add its subcommands to ``cli``."""
        self.load_entry_points()
        for impl in self._impls("register_commands"):
            _call(impl, cli=cli)

    def plugins(self) -> list[PluginInfo]:
        """Every plugin: loaded ones with the hooks they implement, then failed ones."""
        self.load_entry_points()
        with self._lock:
            loaded = []
            for name, plugin in self._pm.list_name_plugin():
                origin = self._origins.get(name, _Origin(name, "unknown"))
                callers = self._pm.get_hookcallers(plugin) or []
                hooks = tuple(sorted(caller.name for caller in callers))
                loaded.append(PluginInfo(name, origin.distribution, origin.version, hooks))
            unknown = [
                PluginInfo(name, "-", "-", error=f"not installed (named in {PLUGINS_ENV})")
                for name in self._unknown_allowed
            ]
            return sorted(loaded, key=lambda info: info.name) + list(self._load_errors) + unknown

    def _impls(self, hook: str) -> Iterator[pluggy.HookImpl]:
        caller: pluggy.HookCaller = getattr(self._pm.hook, hook)
        yield from caller.get_hookimpls()

    def _collect(self, hook: str, kind: type[S]) -> list[Registered[S]]:
        # Each implementation is called on its own so every spec is attributed to the
        # plugin (and distribution) that registered it.
        collected: list[Registered[S]] = []
        for impl in self._impls(hook):
            origin = self._origins.get(impl.plugin_name, _Origin(impl.plugin_name, "unknown"))
            _call(impl, register=_registrar(collected, kind, impl.plugin_name, origin))
        return collected


def _registrar(
    into: list[Registered[S]], kind: type[S], plugin: str, origin: _Origin
) -> Callable[[S], None]:
    def register(spec: S) -> None:
        if not isinstance(spec, kind):
            raise PluginError(
                f"plugin {plugin!r} ({origin.distribution}) registered "
                f"{type(spec).__name__}, expected {kind.__name__}"
            )
        into.append(Registered(spec, plugin, origin.distribution, origin.version))

    return register


def _call(impl: pluggy.HookImpl, **kwargs: Any) -> None:
    # pluggy lets an implementation take a subset of the spec's arguments.
    impl.function(**{name: value for name, value in kwargs.items() if name in impl.argnames})


def _check_unique(found: dict[Any, Registered[S]], key: Any, new: Registered[S], what: str) -> None:
    old = found.get(key)
    if old is not None:
        label = "/".join(key) if isinstance(key, tuple) else key
        raise PluginError(
            f"{what} {label!r} is registered twice: by {old.distribution} {old.version} "
            f"(plugin {old.plugin!r}) and by {new.distribution} {new.version} "
            f"(plugin {new.plugin!r}); uninstall one of them"
        )


def _entry_points() -> list[tuple[metadata.EntryPoint, str, str]]:
    """The ``liveloop`` entry points of the installed distributions, with each one's
    distribution name and version, as ``metadata.entry_points(group=)`` finds them
    (``sys.path`` order, the first copy of a distribution wins). Only the
    ``entry_points.txt`` files that declare the group are parsed, and each of those
    distributions' metadata once: parsing every file was most of the cost of loading."""
    header = f"[{ENTRY_POINT_GROUP}]"
    found: list[tuple[metadata.EntryPoint, str, str]] = []
    seen: set[str] = set()
    for dist in metadata.distributions():
        text = dist.read_text("entry_points.txt")
        if not text or header not in text:
            continue
        about = dist.metadata
        name, version = about["Name"] or "", about["Version"] or "unknown"
        key = re.sub(r"[-_.]+", "-", name).lower()  # PEP 503
        if key and key in seen:
            continue
        seen.add(key)
        found.extend(
            (entry_point, name or entry_point.name, version)
            for entry_point in dist.entry_points.select(group=ENTRY_POINT_GROUP)
        )
    return found


def _allowed_plugins() -> set[str] | None:
    value = os.environ.get(PLUGINS_ENV)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _origin_of(plugin: object) -> _Origin:
    module_name = getattr(plugin, "__name__", None)
    if not isinstance(module_name, str) or not hasattr(plugin, "__file__"):
        module_name = type(plugin).__module__
    top_level = module_name.split(".")[0]
    dists = metadata.packages_distributions().get(top_level, [])
    if dists:
        try:
            return _Origin(dists[0], metadata.version(dists[0]))
        except metadata.PackageNotFoundError:
            pass
    return _Origin(top_level, str(getattr(plugin, "__version__", "unknown")))


_manager: PluginManager | None = None
_manager_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager (entry points load on first use)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = PluginManager()
        return _manager


def register(plugin: object, name: str | None = None) -> str:
    """Register a plugin at runtime (see :meth:`PluginManager.register`)."""
    return get_plugin_manager().register(plugin, name)


def unregister(plugin: object | str) -> None:
    """Unregister a plugin registered at runtime, by object or name."""
    get_plugin_manager().unregister(plugin)
