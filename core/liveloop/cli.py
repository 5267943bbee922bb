"""The ``liveloop`` command line.

``liveloop capabilities`` and ``liveloop plugins``, alone or with ``--json``, print their
listing without loading click (importing it was about a quarter of the command's time);
every other command line, those two with ``--help`` included, runs the click group
(:data:`cli`, in :mod:`liveloop._commands`) with the plugins' commands added.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from ._listing import capabilities_text, plugins_text
from .errors import LiveloopError
from .log import configure_logging

if TYPE_CHECKING:
    from ._commands import cli

__all__ = ["cli", "main"]

_LISTINGS: dict[tuple[str, ...], Callable[[], str]] = {
    ("capabilities",): lambda: capabilities_text(as_json=False),
    ("capabilities", "--json"): lambda: capabilities_text(as_json=True),
    ("plugins",): lambda: plugins_text(as_json=False),
    ("plugins", "--json"): lambda: plugins_text(as_json=True),
}
"""The command lines answered without click, and what each prints."""


def __getattr__(name: str) -> Any:
    if name != "cli":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ._commands import cli

    return cli


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``liveloop`` command (plugins may add subcommands).

    Every user error is one line on stderr, never a traceback; with ``--json`` that line is
    a JSON object (``{"error": ...}``).
    """
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        _main(args)
    except KeyboardInterrupt:  # Ctrl-C outside a running command (while loading, say)
        sys.exit(130)


def _main(args: list[str]) -> None:
    configure_logging()
    listing = _LISTINGS.get(tuple(args))
    if listing is not None:
        try:
            text = listing()
        except LiveloopError as exc:
            _fail(str(exc), args, 1)
        print(text, flush=True)
        sys.exit(0)
    import click

    from ._commands import cli
    from .plugins import get_plugin_manager

    try:
        get_plugin_manager().add_commands(cli)
        code = cli.main(args=args, prog_name="liveloop", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)  # Ctrl-C at a prompt
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "liveloop"
        _fail(f"{exc.format_message()} (see `{where} --help`)", args, exc.exit_code)
    except click.ClickException as exc:
        _fail(exc.format_message(), args, exc.exit_code)
    except LiveloopError as exc:
        _fail(str(exc), args, 1)
    sys.exit(code if isinstance(code, int) else 0)  # as click's standalone mode does


def _fail(message: str, args: Sequence[str], status: int) -> NoReturn:
    line = json.dumps({"error": message}) if "--json" in args else f"error: {message}"
    print(line, file=sys.stderr, flush=True)
    sys.exit(status)
