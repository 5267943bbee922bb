"""The routes of ``liveloop serve`` come from plugins (``register_routes``): without the
plugin that contributes a route, the server does not offer it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import liveloop
from liveloop_serve import ServeError, Server, create_app

from .conftest import KEY
from .procs import app_module, serve_process

APP = """
import liveloop

app = liveloop.App()

@app.session("echo")
async def echo(session):
    async for turn in session.turns():
        pass
"""

OFFER = {"Content-Type": "text/plain"}  # refused with 415 by the offer route, if it exists


def _hello(server: Server) -> list[Route]:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"hello from {len(server.app.handlers)} handlers")

    return [Route("/hello", hello, methods=["GET"])]


def test_serve_offers_only_what_the_installed_plugins_contribute(tmp_path: Path) -> None:
    target = app_module(tmp_path, APP)
    env = {"OPENAI_API_KEY": KEY}
    only_serve = {**env, "LIVELOOP_PLUGINS": "serve,openai,openai_websocket"}
    with serve_process(target, "--insecure-dev", cwd=tmp_path, env=only_serve) as bare:
        offer = httpx.post(f"{bare.url}/sessions/echo/offer", content="x", headers=OFFER)
        secret = httpx.post(f"{bare.url}/client_secrets/echo")
        assert (offer.status_code, secret.status_code) == (404, 404)
        assert httpx.get(f"{bare.url}/healthz").status_code == 200
    with serve_process(target, "--insecure-dev", cwd=tmp_path, env=env) as full:
        offer = httpx.post(f"{full.url}/sessions/echo/offer", content="x", headers=OFFER)
        assert offer.status_code == 415


async def test_given_routes_are_served_and_a_clash_is_refused() -> None:
    app = liveloop.App(authorize=lambda request: "someone")

    @app.session("echo")
    async def echo(session: liveloop.Session) -> None:
        pass

    spec = liveloop.plugin.RouteSpec(name="hello", routes=_hello)
    asgi = create_app(app, routes=[spec], api_key=KEY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=asgi), base_url="http://serve"
    ) as client:
        assert (await client.get("/hello")).text == "hello from 1 handlers"
        assert (await client.post("/sessions/echo/offer")).status_code == 404
    twice = liveloop.plugin.RouteSpec(name="hello-again", routes=_hello)
    with pytest.raises(ServeError, match=r"GET /hello is served twice.*'hello'.*'hello-again'"):
        create_app(app, routes=[spec, twice], api_key=KEY)
