"""The :class:`Emulator`: the server's lifecycle in an event loop, and its test controls."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import uvicorn

from .auth import SECRET_DEFAULT_SECONDS, ClientSecret, KeyStore
from .faults import Faults
from .gemini import GeminiService, gemini_routes
from .realtime import merge_session
from .records import EmulatorSession
from .replies import Rule, iter_rules
from .server import (
    DEFAULT_MODEL,
    CoalescingWebSocketProtocol,
    ServerState,
    build_app,
    new_call,
    register_call,
    template_session,
)
from .sip import SipCalls, sip_routes

if TYPE_CHECKING:
    from .webrtc import WebRTCCall

__all__ = ["WS_MAX_SIZE", "Emulator"]

WS_MAX_SIZE = 16 * 1024 * 1024
"""The WebSocket frame limit: above OpenAI's 15 MiB event cap, so oversized events that still fit
get an ``error`` event instead of a dropped connection."""


class Emulator:
    """An OpenAI-Realtime-compatible server with a deterministic model.

    ``async with Emulator() as emu:`` serves on a free port of 127.0.0.1 in the current event
    loop; point the SDK at ``emu.base_url`` / ``emu.ws_base_url``.

    ``event_history`` keeps only the newest N events in each session's ``client_events`` and
    ``server_events``, and ``session_history`` only the newest N closed session records (the
    standalone server sets both, so a long-running one does not grow without bound); by
    default a test's emulator keeps everything.
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        script: Sequence[Rule] = (),
        speed: float = 1.0,
        max_session_seconds: float = 3600,
        chunk_ms: int = 40,
        host: str = "127.0.0.1",
        port: int = 0,
        event_history: int | None = None,
        session_history: int | None = None,
        tls: bool = False,
        gemini_connection_seconds: float | None = None,
        gemini_session_seconds: float | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if max_session_seconds <= 0:
            raise ValueError("max_session_seconds must be positive")
        if not 20 <= chunk_ms <= 100:
            raise ValueError("chunk_ms must be between 20 and 100")
        for name, value in (("event_history", event_history), ("session_history", session_history)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        self.state = ServerState(
            keys=KeyStore(api_keys),
            script=iter_rules(script),
            speed=speed,
            chunk_ms=chunk_ms,
            max_session_seconds=max_session_seconds,
            host=host,
            event_history=event_history,
            session_history=session_history,
        )
        self.port = port
        self.faults = Faults(self.state)
        """Fault injection: cuts, stalls, raw frames, close codes, expiry, refusals."""
        self.state.admission = self.faults
        self.tls = tls
        self._open_keys = api_keys is None
        self.gemini = GeminiService(
            accepts=self._accepts_gemini_key,
            script=self.script,
            speed=speed,
            chunk_ms=chunk_ms,
            connection_lifetime=gemini_connection_seconds,
            session_limit=gemini_session_seconds,
        )
        """Gemini Live: its connections, resumption handles, tokens and caps."""
        self._cert: tuple[Path, Path] | None = None
        self._cert_dir: tempfile.TemporaryDirectory[str] | None = None
        self.app = build_app(self.state, gemini_routes(self.gemini))
        self.sip = SipCalls(self.state)
        """SIP calls: ``emu.sip.place_call(url, secret=...)`` rings a webhook."""
        self.app.state.sip = self.sip
        self.app.router.routes.extend(sip_routes())
        self._serve_task: asyncio.Task[None] | None = None

    # -- configuration and records (shared with the routes through ``state``)

    @property
    def keys(self) -> KeyStore:
        return self.state.keys

    @property
    def script(self) -> tuple[Rule, ...]:
        return self.state.script

    @property
    def speed(self) -> float:
        return self.state.speed

    @property
    def chunk_ms(self) -> int:
        return self.state.chunk_ms

    @property
    def host(self) -> str:
        return self.state.host

    @property
    def max_session_seconds(self) -> float:
        return self.state.max_session_seconds

    @max_session_seconds.setter
    def max_session_seconds(self, seconds: float) -> None:
        self.state.max_session_seconds = seconds

    @property
    def sessions(self) -> list[EmulatorSession]:
        """Every session, in the order they opened (closed ones stay, see ``session_history``)."""
        return self.state.sessions

    @property
    def calls(self) -> dict[str, WebRTCCall]:
        """WebRTC calls by call id (ended ones stay, with ``session.closed`` set)."""
        return cast("dict[str, WebRTCCall]", self.state.calls)

    # -- addresses

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1`` (the SDK's ``base_url``; ``https`` with ``tls``)."""
        return f"{'https' if self.tls else 'http'}://{self._url_host}:{self.port}/v1"

    @property
    def ws_base_url(self) -> str:
        """``ws://HOST:PORT/v1`` (the SDK's ``websocket_base_url``; ``wss`` with ``tls``)."""
        return f"{'wss' if self.tls else 'ws'}://{self._url_host}:{self.port}/v1"

    @property
    def gemini_base_url(self) -> str:
        """``http(s)://HOST:PORT``: the Gemini API root (google-genai's ``base_url``)."""
        return f"{'https' if self.tls else 'http'}://{self._url_host}:{self.port}"

    @property
    def cert_path(self) -> Path:
        """The generated certificate clients trust (``tls=True``, once started)."""
        if self._cert is None:
            raise RuntimeError("no certificate: the emulator serves TLS only with tls=True")
        return self._cert[0]

    def _accepts_gemini_key(self, key: str) -> bool:
        # Google keys start "AIza"; the emulator's OpenAI keys are accepted too.
        if self.keys.is_api_key(key):
            return True
        return self._open_keys and key.startswith("AIza") and not any(c.isspace() for c in key)

    def _tls_options(self) -> dict[str, Any]:
        if not self.tls:
            return {}
        if self._cert is None:
            self._cert_dir = tempfile.TemporaryDirectory(prefix="liveloop-emulator-")
            from .tls import self_signed_certificate  # cryptography: the tls extra

            self._cert = self_signed_certificate(Path(self._cert_dir.name), self._url_host)
        cert, key = self._cert
        return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}

    @property
    def _url_host(self) -> str:
        host = self.host
        if host in ("0.0.0.0", ""):
            return "127.0.0.1"
        if ":" in host and not host.startswith("["):
            return f"[{host}]"
        return host

    # -- lifecycle

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start serving in the current event loop; returns once the socket listens."""
        if self._serve_task is not None:
            raise RuntimeError("the emulator is already running")
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            lifespan="off",
            log_level="warning",
            log_config=None,  # embedded in someone's process: leave their logging alone
            ws=CoalescingWebSocketProtocol,
            ws_max_size=WS_MAX_SIZE,
            ws_per_message_deflate=False,
            timeout_graceful_shutdown=1,
            **self._tls_options(),
        )
        listening = _listen(self.host, self.port)
        server = _EmbeddedServer(config)
        self.state.server = server
        self._serve_task = asyncio.create_task(server.serve(sockets=[listening]))
        while not server.started:
            if self._serve_task.done():
                self._serve_task.result()  # raises the startup error
                raise RuntimeError("the emulator's server stopped during startup")
            await asyncio.sleep(0.005)
        sockets = [sock for srv in server.servers for sock in (srv.sockets or ())]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close every open session and stop the server (bounded: well under a second)."""
        server, task = self.state.server, self._serve_task
        if server is None or task is None:
            return
        open_sessions = list(self.state.open_sessions())
        if open_sessions:
            await asyncio.wait(
                [asyncio.create_task(s.close(1001, "server shutting down")) for s in open_sessions],
                timeout=0.5,
            )
        for pending in list(self.state.tasks):
            pending.cancel()
        await self.sip.aclose()
        server.should_exit = True
        server.force_exit = True
        done, _ = await asyncio.wait({task}, timeout=0.8)
        if not done:
            task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait({task}, timeout=0.1)
        self.state.server = None
        self._serve_task = None
        if self._cert_dir is not None:
            self._cert_dir.cleanup()
            self._cert_dir, self._cert = None, None

    # -- client secrets and calls

    def create_client_secret(
        self, ttl_seconds: float = SECRET_DEFAULT_SECONDS, session: dict[str, Any] | None = None
    ) -> ClientSecret:
        """Mint an ``ek_`` secret (as ``POST /v1/realtime/client_secrets`` does).

        ``session`` is session config applied to sessions opened with the secret; it is
        validated like a ``session.update`` (:class:`ProtocolError` when invalid).
        """
        config = dict(session or {})
        config.setdefault("type", "realtime")
        merge_session(template_session(config), config)
        return self.keys.mint(ttl_seconds, config)

    async def hangup(self, call_id: str) -> None:
        """End a WebRTC call, as ``POST /v1/realtime/calls/{call_id}/hangup`` does.

        Raises KeyError for an unknown call id.
        """
        await self.calls[call_id].hangup()

    async def open_headless_call(self, session: dict[str, Any] | None = None) -> str:
        """Open a call without a WebRTC peer and return its call id.

        The call is a real one (``emu.calls``, a record in ``emu.sessions``, sidebands attach
        with ``/v1/realtime?call_id=``, :meth:`hangup` ends it) whose output audio plays out of
        a server-side playout buffer in real time and is discarded, so
        ``output_audio_buffer.*`` events and truncation on barge-in behave as on WebRTC. The
        user's microphone is :meth:`speak_into_call`. ``session`` is session config, validated
        like a ``session.update`` (:class:`ProtocolError` when invalid); its ``model`` names
        the model.
        """
        config = dict(session or {})
        config.setdefault("type", "realtime")
        merge_session(template_session(config), config)
        model = config.get("model")
        call = new_call(
            self.state, model if isinstance(model, str) else DEFAULT_MODEL, config, headless=True
        )
        register_call(self.state, call)
        call.play_headless()
        return call.id

    async def speak_into_call(self, call_id: str, pcm: bytes, *, pace: float | None = None) -> None:
        """Feed ``pcm`` (PCM16 24 kHz mono) to a call as its caller's microphone would.

        With ``pace`` the 20 ms chunks are spaced at ``pace`` times real time; by default they
        go as fast as the engine takes them. Raises KeyError for an unknown call id.
        """
        await self.calls[call_id].speak(pcm, pace=pace)


def _listen(host: str, port: int) -> socket.socket:
    # Bound here, not by uvicorn (which exits the process on a bind error inside its task):
    # a busy or invalid port is then an OSError from start(), with the address in it.
    if not 0 <= port <= 65535:
        raise OSError(f"cannot listen on {host}:{port}: the port must be 0-65535")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        error = OSError(f"cannot listen on {host}:{port}: {reason}")
        error.errno = exc.errno
        raise error from None
    # No Nagle on the connections (accepted sockets inherit the option): asyncio sets
    # TCP_NODELAY only on sockets made with proto=IPPROTO_TCP, and create_server's are made
    # with proto 0, so a small event after another waited for the client's delayed ACK
    # (about 40 ms on Linux) whenever the client had nothing to send meanwhile.
    listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listening


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the host program owns signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
