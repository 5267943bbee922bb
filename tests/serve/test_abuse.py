"""``liveloop serve`` under abuse: slow clients, clients that vanish mid-body, guessed
credentials. Real processes and real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import os
import resource
import socket
import sys
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

import liveloop
from liveloop_emulator import Emulator
from liveloop_serve import create_app, serving
from liveloop_serve.running import _listen

from .conftest import KEY, real_offer
from .procs import ServeProcess, app_module

pytestmark = pytest.mark.timeout(120)

APP = """
import liveloop

app = liveloop.App(auto_respond=False)


@app.session("echo")
async def echo(session):
    async for turn in session.turns():
        pass
"""

SLOW_CLIENTS = 1500
SERVER_FILES = 1024


def _common_file_limit() -> None:
    # In the server process, before it starts: the usual 1,024-descriptor limit.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (SERVER_FILES, hard))


def _open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
async def test_slow_header_clients_do_not_stop_a_good_client(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = SLOW_CLIENTS + 512  # this process holds the slow clients' sockets
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"this process may open only {hard} files")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    target = app_module(tmp_path, APP)
    async with Emulator() as emu:
        server = ServeProcess(
            target,
            "--insecure-dev",
            "--base-url",
            emu.base_url,
            cwd=tmp_path,
            env={"OPENAI_API_KEY": KEY},
            preexec=_common_file_limit,
        )
        slow: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        try:
            await server.ready()
            for _ in range(SLOW_CLIENTS):  # each sends half a request, then nothing
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(b"POST /sessions/echo/offer HTTP/1.1\r\nHost: serve\r\n")
                slow.append((reader, writer))
            assert _open_files(server.proc.pid) < SERVER_FILES

            async with httpx.AsyncClient(timeout=20) as client:
                response = await client.post(
                    f"{server.url}/sessions/echo/offer",
                    content=await real_offer(),
                    headers={"Content-Type": "application/sdp"},
                )
                assert response.status_code == 201, response.text
                hangup = await client.post(f"{server.url}{response.headers['location']}/hangup")
                assert hangup.status_code == 204
            closed = sum(1 for reader, _ in slow if reader.at_eof())
            assert closed >= SLOW_CLIENTS - SERVER_FILES  # the server shed the slow ones
            assert server.proc.poll() is None
            assert "Too many open files" not in server.output()
        finally:
            for _, writer in slow:
                writer.close()
            await server.stop()


def _authorize(request: Request) -> str | None:
    return "alice" if request.headers.get("authorization") == "Bearer good" else None


def _app() -> liveloop.App:
    app = liveloop.App(authorize=_authorize, auto_respond=False)

    @app.session("echo")
    async def echo(session: liveloop.Session) -> None:
        await session.input()

    return app


async def test_failed_authorizations_are_rate_limited_per_address() -> None:
    asgi = create_app(_app(), api_key=KEY, auth_failures="3/minute")
    guesser = httpx.ASGITransport(app=asgi, client=("203.0.113.7", 5000))
    other = httpx.ASGITransport(app=asgi, client=("198.51.100.9", 5000))
    async with (
        httpx.AsyncClient(transport=guesser, base_url="http://serve") as client,
        httpx.AsyncClient(transport=other, base_url="http://serve") as bystander,
    ):
        for guess in ("a", "b", "c"):
            headers = {"Authorization": f"Bearer {guess}"}
            assert (await client.post("/client_secrets/echo", headers=headers)).status_code == 401
        refused = await client.post("/client_secrets/echo", headers={"Authorization": "Bearer d"})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        # Another address is unaffected (its caller is admitted and reaches the route).
        response = await bystander.post(
            "/sessions/echo/offer", headers={"Authorization": "Bearer good"}
        )
        assert response.status_code == 415
    await asgi.state.liveloop.aclose()


async def test_a_client_that_vanishes_mid_body_is_answered_quietly() -> None:
    buf = io.StringIO()
    liveloop.configure_logging("DEBUG", stream=buf)
    try:
        asgi = create_app(_app(), api_key=KEY)
        async with serving(asgi) as url:
            port = int(url.rsplit(":", 1)[1])
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /sessions/echo/offer HTTP/1.1\r\nHost: serve\r\n"
                b"Authorization: Bearer good\r\nContent-Type: application/sdp\r\n"
                b"Content-Length: 5000\r\n\r\nv=0\r\n"
            )
            await writer.drain()
            writer.close()  # gone, 4,995 bytes short
            for _ in range(200):
                if "went away while sending the body" in buf.getvalue():
                    break
                await asyncio.sleep(0.02)
    finally:
        liveloop.configure_logging("WARNING", stream=sys.stderr)
    output = buf.getvalue()
    assert "went away while sending the body" in output
    assert "Traceback" not in output and "[error" not in output


def test_the_listening_socket_turns_nagle_off_for_its_connections() -> None:
    # `liveloop serve` binds its socket itself; asyncio sets TCP_NODELAY only on sockets
    # made with proto=IPPROTO_TCP, so on the asyncio loop its connections kept Nagle on: a
    # small frame right after another (a Twilio media message after a mark, an event after
    # an event) waited for the peer's delayed ACK, about 40 ms. Connections inherit it.
    with _listen("127.0.0.1", 0) as listening:
        client = socket.create_connection(listening.getsockname())
        accepted, _ = listening.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
