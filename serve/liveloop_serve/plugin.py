"""Registers the ``liveloop serve`` command (the command itself loads on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveloop.plugin import hookimpl

if TYPE_CHECKING:  # registering the plugin must not import click (a session never needs it)
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``liveloop serve``."""
    from .cli import serve_command

    cli.add_command(serve_command)
