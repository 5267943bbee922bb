"""The ``liveloop`` command group (click); :func:`liveloop.cli.main` runs it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from ._listing import capabilities_text, plugins_text, table
from .errors import LiveloopError
from .log import LEVEL_ENV, configure_logging

__all__ = ["cli"]

F = TypeVar("F", bound=Callable[..., Any])

_INTERRUPT_GRACE_S = 3.0
"""How long a command has to wind down after Ctrl-C before it is left behind."""


def _record_option(what: str) -> Callable[[F], F]:
    return click.option(
        "--record",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        metavar="PATH",
        help=what,
    )


def _script_option(what: str) -> Callable[[F], F]:
    return click.option(
        "--script",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help=what,
    )


@click.group()
@click.version_option(package_name="liveloop", prog_name="liveloop")
def cli() -> None:
    """liveloop: live realtime sessions with speech-to-speech models."""


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List installed plugins, the hooks they implement, and load errors."""
    click.echo(plugins_text(as_json))


@cli.command(name="capabilities")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def capabilities_command(as_json: bool) -> None:
    """List the provider/transport pairs the installed plugins implement."""
    click.echo(capabilities_text(as_json))


@cli.command()
@click.option(
    "--provider",
    default=None,
    help="The provider to run (default: the installed one; see `liveloop capabilities`).",
)
@click.option(
    "--transport",
    default=None,
    help="The transport to run over (default: the provider's; see `liveloop capabilities`).",
)
@click.option("--live", is_flag=True, help="Run against the provider itself (needs its API key).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--phone",
    type=click.Choice(["twilio", "sip"]),
    default=None,
    help="Take the call on a phone path instead, offline: twilio (a simulated Twilio "
    "Media Streams caller through liveloop serve's bridge) or sip (a SIP call the "
    "emulator places, with the provider's webhook and sideband).",
)
@_record_option("Record the session: PATH.wav (user left, assistant right) and PATH.jsonl.")
def demo(
    provider: str | None,
    transport: str | None,
    live: bool,
    as_json: bool,
    phone: str | None,
    record: Path | None,
) -> None:
    """Run a restaurant concierge end to end: emulator, caller, tools, barge-in-safe audio."""
    from .demo import run_demo

    _run_command(
        run_demo(
            provider=provider,
            transport=transport,
            live=live,
            as_json=as_json,
            phone=phone,
            record=record,
        )
    )


@cli.command()
@click.argument("target", metavar="MODULE:APP")
@click.option("--session", "session_name", default=None, help="The handler to run (by name).")
@click.option("--live", is_flag=True, help="Run against the provider itself (needs its API key).")
@_script_option("A JSON reply script for the emulator.")
@_record_option("Record the session: PATH.wav (user left, assistant right) and PATH.jsonl.")
def console(
    target: str, session_name: str | None, live: bool, script: Path | None, record: Path | None
) -> None:
    """Talk to a handler by typing; see its replies and tool calls as they happen."""
    from .console import run_console

    _run_command(run_console(target, session=session_name, live=live, script=script, record=record))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@_script_option('Reply rules: a JSON list of {"match", "reply", "tool", "arguments"} objects.')
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Output audio pacing: 1.0 is real time, 4.0 four times faster.",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="KEY",
    help="Accept only this API key (repeatable); default: any key of the form sk-...",
)
@click.option(
    "--max-session-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=3600.0,
    show_default=True,
    help="Close sessions after this long, as providers cap a session's length.",
)
@click.option(
    "--chunk-ms",
    type=click.IntRange(20, 100),
    default=40,
    show_default=True,
    help="Milliseconds of audio per output delta.",
)
def emulator(
    host: str,
    port: int,
    script: Path | None,
    speed: float,
    keys: tuple[str, ...],
    max_session_seconds: float,
    chunk_ms: int,
) -> None:
    """Run the bundled provider emulator until Ctrl-C.

    Prints its base URL once it listens; point a client at it as its provider's endpoint
    (for OpenAI, for example: OPENAI_BASE_URL=<that URL> and OPENAI_API_KEY=sk-anything).
    """
    try:
        from liveloop_emulator import load_script
        from liveloop_emulator.cli import serve
    except ImportError:
        raise LiveloopError(
            "the emulator is not installed: pip install liveloop-emulator"
        ) from None
    try:
        rules = load_script(script) if script is not None else []
    except (OSError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="'--script'") from None
    _run_command(
        serve(
            host=host,
            port=port,
            script=rules,
            speed=speed,
            keys=list(keys) or None,
            max_session_seconds=max_session_seconds,
            chunk_ms=chunk_ms,
        )
    )


@cli.command()
@click.argument("target", metavar="MODULE:APP", required=False)
@click.argument("name", required=False)
@click.option("--devices", is_flag=True, help="List the sound devices and exit.")
@click.option("--input-device", default=None, help="Microphone: a device name or index.")
@click.option("--output-device", default=None, help="Speaker: a device name or index.")
@click.option("--live", is_flag=True, help="Run against the provider (its key from the env).")
@click.option(
    "--provider", default=None, help="The provider for --live (default: the installed one)."
)
@click.option("--tone", is_flag=True, help="Say typed lines as tone speech (the emulator's).")
@_script_option("A JSON reply script for the emulator.")
@_record_option("Record the call: PATH.wav (you left, the assistant right) and PATH.jsonl.")
def talk(
    target: str | None,
    name: str | None,
    devices: bool,
    input_device: str | None,
    output_device: str | None,
    live: bool,
    provider: str | None,
    tone: bool,
    script: Path | None,
    record: Path | None,
) -> None:
    """Talk to a handler with your microphone and speakers (Ctrl-C ends the call)."""
    from .audio_io import SoundDeviceBackend

    if devices:
        rows = [
            [str(d.index), d.name, str(d.inputs), str(d.outputs), f"{d.default_rate:.0f}"]
            for d in SoundDeviceBackend().devices()
        ]
        click.echo(table(["index", "device", "inputs", "outputs", "rate"], rows))
        return
    if target is None:
        raise click.UsageError("give the handler to talk to: liveloop talk MODULE:APP [NAME]")
    from .talk import run_talk

    _run_command(
        run_talk(
            target,
            name,
            live=live,
            provider=provider,
            tone=tone,
            input_device=input_device,
            output_device=output_device,
            script=script,
            record=record,
        )
    )


@cli.command()
@click.argument("recording", type=click.Path(path_type=Path))
@click.option(
    "--png",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the timeline picture (default: RECORDING.png).",
)
@click.option("--no-png", is_flag=True, help="Only print the conversation.")
def report(recording: Path, png: Path | None, no_png: bool) -> None:
    """Print a recorded session's conversation and draw its timeline (a PNG).

    RECORDING is what --record or record= wrote: its .jsonl, its .wav or its name.
    """
    from .recording import recording_paths
    from .report import conversation, load, plot

    loaded = load(recording)
    conversation(loaded, click.echo)
    if not no_png:
        target = png or recording_paths(recording)[0].with_suffix(".png")
        click.echo(f"timeline: {plot(loaded, target)}")


def _run_command(work: Coroutine[Any, Any, object]) -> None:
    # One line of cause on failure, never a traceback, for a command meant to be watched;
    # and only warnings from the logs, unless LIVELOOP_LOG_LEVEL asks for more.
    configure_logging(level=os.environ.get(LEVEL_ENV, "WARNING"))
    from . import loops  # the event loop is for running commands: listing ones need none

    try:
        loops.run(_until_interrupted(work))
    except KeyboardInterrupt:
        sys.exit(130)
    except LiveloopError:
        raise
    except OSError as exc:  # a port in use, a missing file: the message names it
        raise LiveloopError(str(exc)) from exc
    except Exception as exc:
        raise LiveloopError(f"{type(exc).__name__}: {exc}") from exc


async def _until_interrupted(work: Coroutine[Any, Any, object]) -> None:
    """Run ``work``; the first Ctrl-C cancels it and ends the command (exit status 130)."""
    import asyncio
    import contextlib
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    interrupted = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals off the main thread
        loop.add_signal_handler(signal.SIGINT, interrupted.set)
    waiter = asyncio.ensure_future(interrupted.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C: Python's default
    if not interrupted.is_set():
        await task
        return
    # Cancel until it ends: on Python 3.11 a wait_for racing its result can swallow one.
    deadline = loop.time() + _INTERRUPT_GRACE_S
    while not task.done() and loop.time() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    # Closing peers leaves tasks of their own (a WebRTC close, say): let them finish, so
    # none is destroyed pending when the loop closes.
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        await asyncio.wait(others, timeout=max(0.5, deadline - loop.time()))
    raise KeyboardInterrupt
