"""``liveloop serve`` security: who may start sessions, what reaches the provider, what
never leaves the server (the key), and the limits (rate, cap, sizes)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

import liveloop
from liveloop_emulator import Emulator
from liveloop_openai_webrtc.browser import check_offer
from liveloop_serve import ServeError, Server, create_app

from .conftest import KEY, FakeProvider, real_offer

TOKENS = {"alice-token": "alice", "bob-token": "bob"}
UNREACHABLE = "http://127.0.0.1:9/v1"  # the fake provider answers HTTP; sidebands fail fast


def authorize(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header == "Bearer banned-token":
        raise PermissionError("banned")
    scheme, _, token = header.partition(" ")
    return TOKENS.get(token) if scheme == "Bearer" else None


def as_(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {who}-token"}


SDP = {"Content-Type": "application/sdp"}


def make_app(*, with_authorize: bool = True) -> liveloop.App:
    app = liveloop.App(authorize=authorize if with_authorize else None, auto_respond=False)

    @app.session("echo", instructions="Repeat what you hear.")
    async def echo(session: liveloop.Session) -> None:
        async for turn in session.turns():
            await session.say(f"you said {turn.text}")

    return app


@pytest.fixture
async def sdp() -> str:
    return await real_offer()


@pytest.fixture
async def serve(fake_provider: FakeProvider) -> AsyncIterator[Callable[..., Any]]:
    """``serve(**options) -> (httpx client, Server)`` over the fake provider."""
    servers: list[Server] = []
    clients: list[httpx.AsyncClient] = []

    def make(**options: Any) -> tuple[httpx.AsyncClient, Server]:
        options.setdefault("provider_base_url", UNREACHABLE)
        options.setdefault("api_key", KEY)
        options.setdefault("http_client", fake_provider.client())
        asgi = create_app(options.pop("app", None) or make_app(), **options)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://serve")
        servers.append(asgi.state.liveloop)
        clients.append(client)
        return client, asgi.state.liveloop

    yield make
    for server in servers:
        await server.aclose()
    for client in clients:
        await client.aclose()


# -- refused before any provider call -----------------------------------------------------------


async def test_no_or_bad_authorization_is_refused_without_a_provider_call(
    serve: Callable[..., Any], fake_provider: FakeProvider, sdp: str
) -> None:
    client, _ = serve()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "alice-token"}):
        response = await client.post(
            "/sessions/echo/offer", content=sdp, headers={**SDP, **headers}
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    response = await client.post(
        "/sessions/echo/offer", content=sdp, headers={**SDP, "Authorization": "Bearer banned-token"}
    )
    assert response.status_code == 403
    for path in ("/client_secrets/echo", "/sessions/echo/calls/whatever/hangup"):
        assert (await client.post(path)).status_code == 401
    assert fake_provider.calls_made == 0


async def test_wrong_content_type_is_415(
    serve: Callable[..., Any], fake_provider: FakeProvider, sdp: str
) -> None:
    client, _ = serve()
    for kind in ("text/plain", "application/json", "multipart/form-data; boundary=x", ""):
        headers = {**as_("alice"), **({"Content-Type": kind} if kind else {})}
        response = await client.post("/sessions/echo/offer", content=sdp, headers=headers)
        assert response.status_code == 415, kind
    assert fake_provider.calls_made == 0


async def test_oversized_offer_is_413_with_or_without_a_length(
    serve: Callable[..., Any], fake_provider: FakeProvider, sdp: str
) -> None:
    client, _ = serve(max_body_bytes=8 * 1024)
    big = sdp + "a=x-padding:" + "x" * 9000 + "\r\n"
    response = await client.post(
        "/sessions/echo/offer", content=big, headers={**SDP, **as_("alice")}
    )
    assert response.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to trust
        for _ in range(20):
            yield b"v=0\r\n" + b"a=x:" + b"y" * 1000 + b"\r\n"

    response = await client.post(
        "/sessions/echo/offer", content=chunks(), headers={**SDP, **as_("alice")}
    )
    assert response.status_code == 413
    assert fake_provider.calls_made == 0


@pytest.mark.parametrize(
    "body",
    [
        b"hello",
        b"",
        b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",  # no audio section
        b"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",  # not starting with v=0
        b"v=0\r\nm=audio 9 RTP 0\r\n\xff\xfe",  # not UTF-8
        b"<html>v=0 m=audio</html>",
    ],
)
async def test_malformed_offer_is_400(
    serve: Callable[..., Any], fake_provider: FakeProvider, body: bytes
) -> None:
    client, _ = serve()
    response = await client.post(
        "/sessions/echo/offer", content=body, headers={**SDP, **as_("alice")}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_offer"
    assert fake_provider.calls_made == 0


async def test_unknown_handler_is_404(
    serve: Callable[..., Any], fake_provider: FakeProvider, sdp: str
) -> None:
    client, _ = serve()
    response = await client.post(
        "/sessions/nope/offer", content=sdp, headers={**SDP, **as_("alice")}
    )
    assert response.status_code == 404
    assert (await client.post("/client_secrets/nope", headers=as_("alice"))).status_code == 404
    assert fake_provider.calls_made == 0


def test_check_offer() -> None:
    assert check_offer("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n") is None
    assert check_offer("v=0\nm=application 9 DTLS/SCTP 5000\n") is not None


# -- what reaches the provider ----------------------------------------------------------------


async def test_offer_is_forwarded_as_multipart_with_the_handler_config(
    serve: Callable[..., Any], fake_provider: FakeProvider, sdp: str
) -> None:
    client, _ = serve()
    response = await client.post(
        "/sessions/echo/offer", content=sdp, headers={**SDP, **as_("alice")}
    )
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/sdp")
    assert response.text.startswith("v=0")
    location = response.headers["location"]
    assert location.startswith("/sessions/echo/calls/")
    assert "rtc_fake" not in location  # the provider's call id stays on the server
    body = fake_provider.bodies[0]
    assert b'name="sdp"' in body and b"Content-Type: application/sdp" in body
    assert sdp.encode() in body
    session_part = body.split(b'name="session"')[1].split(b"\r\n\r\n", 1)[1].split(b"\r\n--")[0]
    session = json.loads(session_part)
    assert session["type"] == "realtime"
    assert session["instructions"] == "Repeat what you hear."
    assert session["audio"]["input"]["turn_detection"]["create_response"] is False


async def test_rate_limit_is_429_with_retry_after_per_caller(
    serve: Callable[..., Any], fake_provider: FakeProvider, sdp: str
) -> None:
    client, _ = serve(rate="2/minute")
    statuses = []
    for _ in range(3):
        response = await client.post(
            "/sessions/echo/offer", content=sdp, headers={**SDP, **as_("alice")}
        )
        statuses.append(response.status_code)
    assert statuses == [201, 201, 429]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    calls = sum(1 for _, path in fake_provider.requests if path == "/v1/realtime/calls")
    assert calls == 2
    # Client secrets are session starts too; another caller has a window of their own.
    assert (await client.post("/client_secrets/echo", headers=as_("alice"))).status_code == 429
    response = await client.post("/sessions/echo/offer", content=sdp, headers={**SDP, **as_("bob")})
    assert response.status_code == 201


async def test_provider_errors_never_echo_the_key(
    serve: Callable[..., Any], fake_provider: FakeProvider, sdp: str
) -> None:
    fake_provider.calls_status = 401  # its error message quotes the key, as OpenAI's do
    client, server = serve()
    response = await client.post(
        "/sessions/echo/offer", content=sdp, headers={**SDP, **as_("alice")}
    )
    assert response.status_code == 502
    assert KEY not in response.text and "sk-" not in response.text
    assert server.active == 0  # the slot was given back


async def test_client_secret_returns_only_an_ek_and_its_expiry(
    serve: Callable[..., Any], fake_provider: FakeProvider
) -> None:
    client, _ = serve(secret_ttl=30)
    response = await client.post("/client_secrets/echo", headers=as_("alice"))
    assert response.status_code == 200
    assert response.json() == {"value": "ek_fake_secret_1234", "expires_at": 1_900_000_000}
    assert response.headers["cache-control"] == "no-store"
    request = json.loads(fake_provider.bodies[-1])
    assert request["expires_after"] == {"anchor": "created_at", "seconds": 30}
    assert request["session"]["instructions"] == "Repeat what you hear."


async def test_static_files_are_limited_to_the_directory(
    serve: Callable[..., Any], tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><p>hi</p>")
    (tmp_path / "app.js").write_text("console.log(1)")
    (tmp_path / "app.py").write_text("SECRET = 1")
    client, _ = serve(static_dir=tmp_path)
    page = await client.get("/")
    assert page.status_code == 200 and "hi" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert (await client.get("/app.js")).status_code == 200
    for path in ("/app.py", "/..%2Fapp.js", "/%2e%2e/etc/passwd", "/.env", "/missing.js"):
        assert (await client.get(path)).status_code == 404, path
    bare, _ = serve()
    assert (await bare.get("/")).status_code == 404


# -- the serve command and create_app refuse to run open ----------------------------------------


def test_create_app_needs_authorize_or_insecure_dev() -> None:
    with pytest.raises(ServeError, match="authorize"):
        create_app(make_app(with_authorize=False), api_key=KEY)
    create_app(make_app(with_authorize=False), api_key=KEY, insecure_dev=True)
    with pytest.raises(ServeError, match="OPENAI_API_KEY"):
        os.environ.pop("OPENAI_API_KEY", None)
        create_app(make_app(), api_key=None)


def test_serve_command_refuses_to_start_without_authorize(tmp_path: Path) -> None:
    (tmp_path / "open_app.py").write_text(
        "import liveloop\n"
        "app = liveloop.App()\n"
        "@app.session('x')\n"
        "async def x(session):\n"
        "    pass\n"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", "import liveloop.cli; liveloop.cli.main()", "serve", "open_app:app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "OPENAI_API_KEY": KEY},
    )
    assert result.returncode == 1
    assert "authorize" in result.stderr and "--insecure-dev" in result.stderr
    assert KEY not in result.stderr + result.stdout
    assert time.perf_counter() - started < 30


# -- against the emulator: the cap, ownership, and no key in any log line -------------------------


@pytest.fixture
async def emulator_serve() -> AsyncIterator[Callable[..., Any]]:
    emus: list[Emulator] = []
    servers: list[Server] = []
    clients: list[httpx.AsyncClient] = []

    async def make(**options: Any) -> tuple[httpx.AsyncClient, Server, Emulator]:
        emu = Emulator(speed=4.0)
        await emu.start()
        emus.append(emu)
        asgi = create_app(
            options.pop("app", None) or make_app(),
            provider_base_url=emu.base_url,
            api_key=KEY,
            **options,
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://serve")
        servers.append(asgi.state.liveloop)
        clients.append(client)
        return client, asgi.state.liveloop, emu

    yield make
    for server in servers:
        await server.aclose()
    for client in clients:
        await client.aclose()
    for emu in emus:
        await emu.stop()


async def _attached(server: Server, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if server.calls and all(call.session is not None for call in server.calls.values()):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the sideband did not attach")


async def test_cap_is_503_and_calls_belong_to_their_caller(
    emulator_serve: Callable[..., Any],
) -> None:
    client, server, emu = await emulator_serve(max_sessions=1)
    sdp = await real_offer()
    first = await client.post("/sessions/echo/offer", content=sdp, headers={**SDP, **as_("alice")})
    assert first.status_code == 201
    await _attached(server)
    [call] = server.calls.values()
    assert call.call_id in emu.calls and not emu.calls[call.call_id].session.closed

    full = await client.post(
        "/sessions/echo/offer", content=await real_offer(), headers={**SDP, **as_("bob")}
    )
    assert full.status_code == 503
    assert int(full.headers["retry-after"]) > 0
    assert len(emu.calls) == 1  # no provider call for a refused offer

    hangup = first.headers["location"] + "/hangup"
    assert (await client.post(hangup, headers=as_("bob"))).status_code == 404
    assert (await client.post(hangup)).status_code == 401
    other_name = hangup.replace("/sessions/echo/", "/sessions/other/")
    assert (await client.post(other_name, headers=as_("alice"))).status_code == 404
    assert not emu.calls[call.call_id].session.closed

    started = time.perf_counter()
    assert (await client.post(hangup, headers=as_("alice"))).status_code == 204
    assert time.perf_counter() - started < 3
    assert emu.calls[call.call_id].session.closed
    assert server.active == 0 and not server.calls
    assert (await client.post(hangup, headers=as_("alice"))).status_code == 404

    again = await client.post(
        "/sessions/echo/offer", content=await real_offer(), headers={**SDP, **as_("bob")}
    )
    assert again.status_code == 201


async def test_key_appears_in_no_response_and_no_log_line(
    emulator_serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    said = asyncio.Event()
    app = liveloop.App(authorize=authorize, auto_respond=False)

    @app.session("greeter")
    async def greeter(session: liveloop.Session) -> None:
        await session.say("hello there").wait(10)
        said.set()
        await session.input()

    buf = io.StringIO()
    liveloop.configure_logging("DEBUG", stream=buf)
    caplog.set_level("DEBUG")
    try:
        client, _, _ = await emulator_serve(app=app)
        responses = [
            await client.post(
                "/sessions/greeter/offer",
                content=await real_offer(),
                headers={**SDP, **as_("alice")},
            )
        ]
        assert responses[0].status_code == 201
        await asyncio.wait_for(said.wait(), 10)
        responses.append(await client.post("/client_secrets/greeter", headers=as_("alice")))
        responses.append(
            await client.post(responses[0].headers["location"] + "/hangup", headers=as_("alice"))
        )
        responses.append(
            await client.post(
                "/sessions/greeter/offer", content="x", headers={**SDP, **as_("alice")}
            )
        )
        assert [r.status_code for r in responses] == [201, 200, 204, 400]
        assert responses[1].json()["value"].startswith("ek_")
    finally:
        liveloop.configure_logging("WARNING", stream=sys.stderr)
    output = buf.getvalue()
    assert "call started" in output and "session started" in output  # the lines were there
    assert "Authorization" in output  # websockets' handshake header lines, masked
    for response in responses:
        text = response.text + json.dumps(dict(response.headers))
        assert KEY not in text and "sk-" not in text
    assert KEY not in output
    ours = [r for r in caplog.records if r.name.startswith("liveloop")]
    assert ours and all(KEY not in str(r.msg) for r in ours)


async def test_an_offer_whose_peer_never_connects_frees_its_slot(
    emulator_serve: Callable[..., Any],
) -> None:
    deadline = 2.0  # liveloop serve's default is 15 s
    client, server, emu = await emulator_serve(max_sessions=2, connect_timeout=deadline)
    headers = {**SDP, **as_("alice")}
    silent = await client.post("/sessions/echo/offer", content=await real_offer(), headers=headers)
    kept = await client.post("/sessions/echo/offer", content=await real_offer(), headers=headers)
    assert (silent.status_code, kept.status_code) == (201, 201)
    confirm = kept.headers["location"] + "/connected"
    assert (await client.post(confirm, headers=as_("bob"))).status_code == 404  # not bob's
    assert (await client.post(confirm, headers=as_("alice"))).status_code == 204
    silent_call = server.calls[silent.headers["location"].rsplit("/", 1)[1]]
    kept_call = server.calls[kept.headers["location"].rsplit("/", 1)[1]]
    started = time.perf_counter()
    await asyncio.wait_for(silent_call.ended.wait(), deadline + 5)
    assert time.perf_counter() - started <= deadline + 5
    assert emu.calls[silent_call.call_id].closed.is_set()  # hung up at the provider
    assert server.active == 1 and not kept_call.ended.is_set()  # the confirmed call runs on
