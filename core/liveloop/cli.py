"""The ``liveloop`` command line."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import click

from . import loops
from .errors import LiveloopError
from .log import LEVEL_ENV, configure_logging
from .matrix import capabilities
from .plugins import get_plugin_manager

__all__ = ["cli", "main"]

_FEATURE_COLUMNS = (
    ("audio_in", "audio in"),
    ("audio_out", "audio out"),
    ("text", "text"),
    ("server_vad", "server vad"),
    ("semantic_vad", "semantic vad"),
    ("tools", "tools"),
    ("verbatim_say", "say"),
    ("sideband", "sideband"),
)


@click.group()
@click.version_option(package_name="liveloop", prog_name="liveloop")
def cli() -> None:
    """liveloop: live realtime sessions with speech-to-speech models."""


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List installed plugins, the hooks they implement, and load errors."""
    infos = get_plugin_manager().plugins()
    if as_json:
        click.echo(json.dumps([info.as_dict() for info in infos], indent=2))
        return
    if not infos:
        click.echo("No plugins installed.")
        return
    rows = [
        [info.name, info.distribution, info.version, ", ".join(info.hooks) or "-"]
        if info.error is None
        else [info.name, info.distribution, info.version, f"ERROR {info.error}"]
        for info in infos
    ]
    click.echo(_table(["plugin", "distribution", "version", "hooks"], rows))


@cli.command(name="capabilities")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def capabilities_command(as_json: bool) -> None:
    """List the provider/transport pairs the installed plugins implement."""
    rows = capabilities()
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
        return
    if not rows:
        click.echo("No provider/transport pairs installed (pip install liveloop-openai-websocket).")
        return
    table = []
    for row in rows:
        flags = row.features
        enabled = [label for name, label in _FEATURE_COLUMNS if getattr(flags, name)]
        if flags.interruption != "none":
            enabled.append(f"barge-in ({flags.interruption.replace('_', ' ')})")
        table.append(
            [
                f"{row.provider}/{row.transport}",
                f"{row.plugin} {row.version}",
                flags.media,
                ", ".join(flags.audio_formats) or "-",
                ", ".join(enabled),
            ]
        )
    click.echo(_table(["pair", "plugin", "media", "formats", "features"], table))


@cli.command()
@click.option(
    "--transport",
    default="websocket",
    show_default=True,
    help="The openai transport to run over (see `liveloop capabilities`).",
)
@click.option("--live", is_flag=True, help="Run against OpenAI (needs OPENAI_API_KEY).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--phone",
    type=click.Choice(["twilio", "sip"]),
    default=None,
    help="Take the call on a phone path instead, offline: twilio (a simulated Twilio "
    "Media Streams caller through liveloop serve's bridge) or sip (a SIP call the "
    "emulator places, as OpenAI's webhook and sideband).",
)
def demo(transport: str, live: bool, as_json: bool, phone: str | None) -> None:
    """Run a restaurant concierge end to end: emulator, caller, tools, barge-in-safe audio."""
    from .demo import run_demo

    _run_command(run_demo(transport=transport, live=live, as_json=as_json, phone=phone))


@cli.command()
@click.argument("target", metavar="MODULE:APP")
@click.option("--session", "session_name", default=None, help="The handler to run (by name).")
@click.option("--live", is_flag=True, help="Run against OpenAI (needs OPENAI_API_KEY).")
@click.option(
    "--script",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A JSON reply script for the emulator.",
)
def console(target: str, session_name: str | None, live: bool, script: Path | None) -> None:
    """Talk to a handler by typing; see its replies and tool calls as they happen."""
    from .console import run_console

    _run_command(run_console(target, session=session_name, live=live, script=script))


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def emulator(ctx: click.Context) -> None:
    """Run the bundled emulator standalone (`liveloop emulator --help` for its options)."""
    try:
        from liveloop_emulator.cli import main as emulator_main
    except ImportError:
        raise LiveloopError(
            "the emulator is not installed: pip install liveloop-emulator"
        ) from None
    emulator_main(ctx.args)


def _run_command(work: Coroutine[Any, Any, object]) -> None:
    # One line of cause on failure, never a traceback, for a command meant to be watched;
    # and only warnings from the logs, unless LIVELOOP_LOG_LEVEL asks for more.
    configure_logging(level=os.environ.get(LEVEL_ENV, "WARNING"))
    try:
        loops.run(work)
    except KeyboardInterrupt:
        sys.exit(130)
    except LiveloopError:
        raise
    except Exception as exc:
        raise LiveloopError(f"{type(exc).__name__}: {exc}") from exc


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, ["-" * width for width in widths], *rows]
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``liveloop`` command (plugins may add subcommands)."""
    configure_logging()
    try:
        get_plugin_manager().add_commands(cli)
        cli.main(args=list(argv) if argv is not None else None, prog_name="liveloop")
    except LiveloopError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
