"""``liveloop-emulator``: run the emulator as a standalone server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import signal
import sys
from collections.abc import Callable, Sequence

from .emulator import Emulator
from .replies import Rule, load_script

__all__ = [
    "DEFAULT_EVENT_HISTORY",
    "DEFAULT_SESSION_HISTORY",
    "LOOP_ENV",
    "build_parser",
    "loop_factory",
    "main",
    "serve",
]

DEFAULT_EVENT_HISTORY = 256
"""Events the standalone server keeps per session (a ring: the newest)."""
DEFAULT_SESSION_HISTORY = 64
"""Closed session records the standalone server keeps (the newest)."""
LOOP_ENV = "LIVELOOP_LOOP"
"""``asyncio`` keeps the standalone server off uvloop; ``uvloop`` requires it (the same
setting as liveloop's own commands)."""


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed and runs (its socket I/O costs the server less
    per message), unless ``$LIVELOOP_LOOP`` says ``asyncio``; None is asyncio's own loop.

    Raises ValueError for an unknown setting, or ``uvloop`` where uvloop cannot run."""
    setting = (os.environ.get(LOOP_ENV) or "auto").strip().lower()
    if setting not in ("auto", "uvloop", "asyncio"):
        raise ValueError(f"{LOOP_ENV}={setting!r}: expected auto, uvloop or asyncio")
    if setting == "asyncio":
        return None
    available = (
        sys.platform != "win32"
        and sys.implementation.name == "cpython"
        and importlib.util.find_spec("uvloop") is not None
    )
    if not available:
        if setting == "uvloop":
            raise ValueError(f"{LOOP_ENV}=uvloop, but uvloop is not installed or cannot run here")
        return None
    import uvloop

    return uvloop.new_event_loop


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liveloop-emulator",
        description=(
            "An OpenAI-Realtime-compatible local server with a deterministic model that speaks "
            "tone speech. Point an OpenAI client at the printed base URL."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on; 0 picks a free one (8000)"
    )
    parser.add_argument(
        "--script",
        metavar="FILE.json",
        help='reply rules: a JSON list of {"match", "reply", "tool", "arguments"} objects',
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="output audio pacing factor: 1.0 is real time, 4.0 four times faster (1.0)",
    )
    parser.add_argument(
        "--key",
        action="append",
        dest="keys",
        metavar="KEY",
        help="accept only this API key (repeatable); default: any key of the form sk-...",
    )
    parser.add_argument(
        "--max-session-seconds",
        type=float,
        default=3600.0,
        help="close sessions after this long, like OpenAI's 60-minute limit (3600)",
    )
    parser.add_argument(
        "--chunk-ms", type=int, default=40, help="milliseconds of audio per output delta (40)"
    )
    parser.add_argument(
        "--event-history",
        type=int,
        default=DEFAULT_EVENT_HISTORY,
        metavar="N",
        help=f"client and server events kept per session, the newest (default "
        f"{DEFAULT_EVENT_HISTORY})",
    )
    parser.add_argument(
        "--session-history",
        type=int,
        default=DEFAULT_SESSION_HISTORY,
        metavar="N",
        help=f"closed session records kept, the newest (default {DEFAULT_SESSION_HISTORY})",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve https/wss with a generated self-signed certificate (printed path)",
    )
    parser.add_argument(
        "--gemini-connection-seconds",
        type=float,
        help="Gemini Live: send goAway and close each connection after this long",
    )
    return parser


async def serve(
    *,
    host: str,
    port: int,
    script: Sequence[Rule],
    speed: float,
    keys: Sequence[str] | None,
    max_session_seconds: float,
    chunk_ms: int = 40,
    event_history: int | None = DEFAULT_EVENT_HISTORY,
    session_history: int | None = DEFAULT_SESSION_HISTORY,
    tls: bool = False,
    gemini_connection_seconds: float | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM (keeping bounded records: a server runs for long)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    emulator = Emulator(
        api_keys=keys,
        script=script,
        speed=speed,
        max_session_seconds=max_session_seconds,
        chunk_ms=chunk_ms,
        host=host,
        port=port,
        event_history=event_history,
        session_history=session_history,
        tls=tls,
        gemini_connection_seconds=gemini_connection_seconds,
    )
    async with emulator:
        print(emulator.base_url, flush=True)
        if tls:
            print(f"certificate: {emulator.cert_path}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script) if args.script else []
    except (OSError, ValueError) as exc:
        parser.error(f"--script: {exc}")
    if args.speed <= 0:
        parser.error("--speed must be positive")
    if args.max_session_seconds <= 0:
        parser.error("--max-session-seconds must be positive")
    if not 20 <= args.chunk_ms <= 100:
        parser.error("--chunk-ms must be between 20 and 100")
    if args.event_history < 1 or args.session_history < 1:
        parser.error("--event-history and --session-history must be at least 1")
    if args.gemini_connection_seconds is not None and args.gemini_connection_seconds <= 0:
        parser.error("--gemini-connection-seconds must be positive")
    try:
        factory = loop_factory()
    except ValueError as exc:
        parser.error(str(exc))
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(
                serve(
                    host=args.host,
                    port=args.port,
                    script=script,
                    speed=args.speed,
                    keys=args.keys,
                    max_session_seconds=args.max_session_seconds,
                    chunk_ms=args.chunk_ms,
                    event_history=args.event_history,
                    session_history=args.session_history,
                    tls=args.tls,
                    gemini_connection_seconds=args.gemini_connection_seconds,
                )
            )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"liveloop-emulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
