"""The ``liveloop serve`` command."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from .ratelimit import Rate

__all__ = ["serve_command"]


def _rate(value: str, option: str) -> Rate:
    # Imported here: `liveloop --help` and every other command load this module, and the
    # rate limiter's library is only for `liveloop serve`.
    from .ratelimit import Rate

    try:
        return Rate.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


@click.command("serve")
@click.argument("target", metavar="MODULE:APP")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
@click.option(
    "--insecure-dev",
    is_flag=True,
    help="Serve without the app's authorize callable: anyone reaching the port may start "
    "sessions on your key. For a development machine only.",
)
@click.option(
    "--max-sessions",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="Concurrent calls in all (all workers sharing the store); more get 503.",
)
@click.option(
    "--max-per-caller",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Concurrent calls one caller may hold; more get 429.",
)
@click.option(
    "--rate",
    default="10/minute",
    show_default=True,
    help="Session starts allowed per caller (N/second, N/minute, N/hour or N/SECONDSs).",
)
@click.option(
    "--auth-failures",
    default="20/minute",
    show_default=True,
    help="Failed authorizations allowed per client address before it gets 429.",
)
@click.option(
    "--store",
    default=None,
    metavar="URL",
    help="Where the workers share their state: redis://HOST:PORT/DB (or rediss://, "
    "valkey://). Default: this process's memory (one worker).",
)
@click.option(
    "--lease",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=1.0),
    help="Seconds a call outlives its worker's last sign of life; a dead worker's calls are "
    "hung up by another within lease + 5 s.",
)
@click.option(
    "--drain-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="On SIGTERM, seconds active calls may run on (new calls get 503) before they end.",
)
@click.option(
    "--max-connections",
    default=None,
    type=click.IntRange(min=16),
    help="Open client connections at most; beyond it the oldest connection still waiting "
    "for its request is closed (default: 1000, or fewer under a low open-files limit).",
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.5),
    help="Seconds a connection has to send a request's headers; request bodies get as long.",
)
@click.option(
    "--connect-timeout",
    default=15.0,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="Seconds a browser has to confirm its call connected (POST …/connected) before "
    "the call is hung up and its slot freed; 0 never hangs up.",
)
@click.option(
    "--emulator",
    is_flag=True,
    help="Start the bundled emulator in this process and use it as the provider.",
)
@click.option(
    "--static",
    "static_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory whose pages and scripts are served at / (default: the app module's "
    "directory when it holds an index.html).",
)
@click.option(
    "--base-url",
    default=None,
    help="Provider endpoint (default: the provider's environment variable, e.g. "
    "OPENAI_BASE_URL, else its public endpoint). The key is read from the provider's "
    "environment variable (OPENAI_API_KEY).",
)
@click.option(
    "--public-url",
    default=None,
    help="The server's URL as callers reach it, e.g. https://voice.example.com (phone "
    "webhooks sign and hand out URLs on it; default: each request's own URL).",
)
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Record every call in DIR: its events and transcript, and its audio where the "
    "audio flows through this server (see liveloop report).",
)
@click.option(
    "--metrics",
    is_flag=True,
    help="Serve Prometheus metrics at /metrics (turn latency, time to first audio, "
    "active sessions, tool calls, reconnects, errors).",
)
@click.option(
    "--otlp",
    "otlp",
    default=None,
    metavar="ENDPOINT",
    help="Export traces and metrics over OTLP/HTTP to ENDPOINT, e.g. "
    "http://collector:4318 (the standard OTEL_EXPORTER_OTLP_* variables work too).",
)
def serve_command(
    target: str,
    host: str,
    port: int,
    insecure_dev: bool,
    max_sessions: int,
    max_per_caller: int,
    rate: str,
    auth_failures: str,
    store: str | None,
    lease: float,
    drain_timeout: float,
    max_connections: int | None,
    header_timeout: float,
    connect_timeout: float,
    emulator: bool,
    static_dir: Path | None,
    base_url: str | None,
    public_url: str | None,
    record_dir: Path | None,
    metrics: bool,
    otlp: str | None,
) -> None:
    """Serve MODULE:APP's handlers with the routes the installed plugins contribute
    (browser calls over WebRTC with liveloop-openai-webrtc)."""
    from liveloop import loops  # asyncio is for running the server: `liveloop --help` needs none

    from .running import run_server

    starts, failures = _rate(rate, "--rate"), _rate(auth_failures, "--auth-failures")
    with contextlib.suppress(KeyboardInterrupt):
        loops.run(
            run_server(
                target,
                host=host,
                port=port,
                emulator=emulator,
                static_dir=static_dir,
                insecure_dev=insecure_dev,
                max_sessions=max_sessions,
                max_per_caller=max_per_caller,
                rate=starts,
                auth_failures=failures,
                provider_base_url=base_url,
                store=store,
                lease=lease,
                drain_timeout=drain_timeout,
                max_connections=max_connections,
                header_timeout=header_timeout,
                record_dir=record_dir,
                body_timeout=header_timeout,
                connect_timeout=connect_timeout,
                public_url=public_url,
                metrics=metrics,
                otlp=otlp,
            )
        )
