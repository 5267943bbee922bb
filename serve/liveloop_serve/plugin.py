"""Registers the ``liveloop serve`` command (the command itself loads on first use)."""

from __future__ import annotations

import click

from liveloop import hookimpl


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``liveloop serve``."""
    from .cli import serve_command

    cli.add_command(serve_command)
