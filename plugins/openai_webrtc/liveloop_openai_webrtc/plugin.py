"""Registers the ``openai/webrtc`` transport (peer mode: this process is the WebRTC client)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import click

from liveloop import Connection, Connector, Features, SessionConfig, TransportSpec, hookimpl
from liveloop_openai.defaults import PROVIDER_PACKAGE

PEER_FEATURES = Features(
    audio_in=True,
    audio_out=True,
    text=True,
    server_vad=True,
    semantic_vad=True,
    interruption="server_truncates",
    tools=True,
    verbatim_say=True,
    sideband=False,
    media="track",
    audio_formats=("pcm16",),
)

SIDEBAND_FEATURES = Features(
    audio_in=False,
    audio_out=False,
    text=True,
    server_vad=True,
    semantic_vad=True,
    interruption="server_truncates",
    tools=True,
    verbatim_say=True,
    sideband=True,
    media="direct",
    audio_formats=("pcm16",),
)


class _Deferred:
    """A connector loaded at its first ``open()``: listing the capabilities of an install
    must not pay for importing aiortc."""

    def __init__(self, module: str, name: str) -> None:
        self._where = (module, name)
        self._connector: Connector | None = None

    async def open(self, config: SessionConfig) -> Connection:
        if self._connector is None:
            module, name = self._where
            factory = getattr(importlib.import_module(module, __package__), name)
            self._connector = factory()
        return await self._connector.open(config)


def transport_specs() -> list[TransportSpec]:
    """Every transport this plugin provides."""
    return [
        TransportSpec(
            provider="openai",
            provider_package=PROVIDER_PACKAGE,
            transport="webrtc",
            connector=_Deferred(".peer", "WebRTCConnector"),
            features=PEER_FEATURES,
            description=(
                "OpenAI Realtime over WebRTC with this process as the peer (aiortc); "
                "audio flows through this process on Opus tracks"
            ),
        ),
        TransportSpec(
            provider="openai",
            provider_package=PROVIDER_PACKAGE,
            transport="webrtc_sideband",
            connector=_Deferred(".sideband", "SidebandConnector"),
            features=SIDEBAND_FEATURES,
            description=(
                "The control side of a WebRTC call whose media flows between a browser and "
                "OpenAI (liveloop serve); needs call_id"
            ),
        ),
    ]


@hookimpl
def register_transports(register: Callable[[TransportSpec], None]) -> None:
    """Register OpenAI Realtime over WebRTC."""
    for spec in transport_specs():
        register(spec)


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``liveloop serve``."""
    cli.add_command(serve_command)


@click.command("serve")
@click.argument("target", metavar="MODULE:APP")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
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
    help="Concurrent calls this process runs (more get 503).",
)
@click.option(
    "--rate",
    default="10/minute",
    show_default=True,
    help="Session starts allowed per caller (N/second, N/minute, N/hour or N/SECONDSs).",
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
    help="Provider endpoint (default: OPENAI_BASE_URL, else OpenAI). The key is read from "
    "OPENAI_API_KEY.",
)
def serve_command(
    target: str,
    host: str,
    port: int,
    insecure_dev: bool,
    max_sessions: int,
    rate: str,
    emulator: bool,
    static_dir: Path | None,
    base_url: str | None,
) -> None:
    """Serve MODULE:APP's handlers to browsers over WebRTC (media goes straight to the
    provider; the handlers run here over a sideband)."""
    import asyncio
    import contextlib

    from ._ratelimit import Rate
    from .serve import run_server

    try:
        parsed = Rate.parse(rate)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--rate") from None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_server(
                target,
                host=host,
                port=port,
                insecure_dev=insecure_dev,
                max_sessions=max_sessions,
                rate=parsed,
                emulator=emulator,
                static_dir=static_dir,
                provider_base_url=base_url,
            )
        )
