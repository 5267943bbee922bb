"""Every hook a liveloop plugin can implement.

Plugins implement hooks with ``@liveloop.plugin.hookimpl`` on functions named exactly like the
specs below (a misspelled name or an unknown argument is an error when the plugin is
loaded). Each spec is documented with the same template: a summary line, then
``For:`` (what it is for), ``Called:`` (when it is called), ``Arguments:`` and
``Returns:``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from .specs import ProviderSpec, RouteSpec, TransportSpec

__all__ = ["hookimpl", "hookspec"]

PROJECT_NAME = "liveloop"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register the providers this plugin speaks.

    For: adding a provider (its event codec and feature flags) to liveloop.
    Called: once, the first time liveloop needs the provider list after plugins load or
    change (``liveloop.capabilities()``, ``liveloop.connect()``, ``liveloop plugins``).
    Arguments:
        register: call it once per provider with a :class:`~liveloop.plugin.ProviderSpec`.
    Returns: nothing; registering the same provider name from two plugins is an error.
    """


@hookspec
def register_transports(register: Callable[[TransportSpec], None]) -> None:
    """Register the transports this plugin implements, one per provider/transport pair.

    For: adding a way to connect to a provider (its connector and feature flags).
    Called: once, the first time liveloop needs the transport list after plugins load
    or change. A pair is only offered when its provider is registered too.
    Arguments:
        register: call it once per pair with a :class:`~liveloop.plugin.TransportSpec`.
    Returns: nothing; registering the same pair from two plugins is an error.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``liveloop`` command line.

    For: plugin commands such as ``liveloop serve``.
    Called: once, when the ``liveloop`` command starts, before arguments are parsed.
    Arguments:
        cli: the top-level ``click.Group``; add commands with ``@cli.command()``.
    Returns: nothing.
    """


@hookspec
def register_routes(register: Callable[[RouteSpec], None]) -> None:
    """Contribute HTTP and WebSocket routes to ``liveloop serve``.

    For: the paths a plugin serves through ``liveloop serve`` (browser offers, call
    hang-ups, client secrets, phone webhooks, carrier media streams), so that the server
    offers exactly what the installed plugins implement.
    Called: once per server, when ``liveloop serve`` (or ``liveloop_serve.create_app``)
    builds its app; not at import or ``liveloop plugins`` time, so route code (and
    Starlette) is only loaded by a server.
    Arguments:
        register: call it once per group of routes with a :class:`~liveloop.plugin.RouteSpec`.
    Returns: nothing; two plugins serving the same method and path is an error when
    the server starts.
    """
