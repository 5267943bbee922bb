"""Phone tests: the Twilio routes served by uvicorn on 127.0.0.1 over the emulator, a
carrier REST double, and the simulated caller from ``liveloop.testing.phone``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import liveloop
from liveloop_emulator import Emulator
from liveloop_twilio.routes import TwilioRoutes

TOKEN = "twilio-test-auth-token"
ACCOUNT = "AC" + "0" * 32
KEY = "sk-phone-tests"


@contextlib.asynccontextmanager
async def serve(asgi: Any) -> AsyncIterator[str]:
    """Serve ``asgi`` on a free port of 127.0.0.1; yields ``http://127.0.0.1:PORT``."""
    config = uvicorn.Config(
        asgi, host="127.0.0.1", port=0, log_config=None, ws="websockets-sansio", lifespan="off"
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait({task}, timeout=3)


@dataclass
class CarrierDouble:
    """Twilio's calls API on 127.0.0.1: records each call update (form and basic auth)."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def update(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        if auth != expected or request.path_params["account"] != ACCOUNT:
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        form = dict(await request.form())
        self.updates.append({"call_sid": request.path_params["call"], **form})
        self.changed.set()
        return JSONResponse({"sid": request.path_params["call"], "status": "in-progress"})

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.updates) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.updates

    def asgi(self) -> Starlette:
        path = "/2010-04-01/Accounts/{account}/Calls/{call}.json"
        return Starlette(routes=[Route(path, self.update, methods=["POST"])])


@dataclass
class PhoneServer:
    url: str
    emulator: Emulator
    routes: TwilioRoutes
    carrier: CarrierDouble

    def webhook(self, name: str) -> str:
        return f"{self.url}/phone/twilio/{name}"


@contextlib.asynccontextmanager
async def phone_server(
    app: liveloop.App,
    *,
    credentials: bool = True,
    insecure_dev: bool = False,
    provider: str = "openai",
    **emulator: Any,
) -> AsyncIterator[PhoneServer]:
    """The Twilio routes for ``app`` over a fresh emulator (its ``provider`` front end),
    with a carrier double."""
    carrier = CarrierDouble()
    emulator.setdefault("speed", 4.0)
    async with Emulator(api_keys=[KEY], **emulator) as emu, serve(carrier.asgi()) as carrier_url:
        routes = TwilioRoutes(
            app,
            auth_token=TOKEN,
            account_sid=ACCOUNT if credentials else None,
            api_base=carrier_url,
            insecure_dev=insecure_dev,
            session_options=(
                {"provider": "gemini", "api_key": KEY, "base_url": emu.gemini_base_url}
                if provider == "gemini"
                else {"api_key": KEY, "base_url": emu.base_url}
            ),
        )
        async with serve(Starlette(routes=routes.routes())) as url:
            try:
                yield PhoneServer(url, emu, routes, carrier)
            finally:
                await routes.aclose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
