"""Caller tokens: the browser example's identity is issued (signed, expiring) by the server,
so rotating the headers a client controls does not escape its limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import liveloop
from liveloop_serve import CallerTokens, create_app

from .conftest import KEY, FakeProvider, real_offer
from .test_browser import load_example


def test_caller_tokens_are_signed_and_expire() -> None:
    tokens = CallerTokens("secret-one")
    token = tokens.issue("alice")
    assert tokens.verify(token) == "alice"
    assert tokens.issue() != tokens.issue()  # fresh identities
    assert tokens.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None
    assert CallerTokens("another-secret").verify(token) is None
    assert CallerTokens("secret-one", ttl=-1).verify(token) is None  # expired
    assert tokens.verify("") is None and tokens.verify("not.a.token") is None


@pytest.fixture
async def example() -> AsyncIterator[Any]:
    module = load_example()
    yield module
    liveloop.plugin.unregister(module.ROUTES_PLUGIN)


async def test_rotating_headers_does_not_escape_the_rate_limit(
    example: Any, fake_provider: FakeProvider
) -> None:
    app = liveloop.App(authorize=example.authorize, auto_respond=False)

    @app.session("echo")
    async def echo(session: liveloop.Session) -> None:
        await session.input()

    asgi = create_app(
        app,
        api_key=KEY,
        provider_base_url="http://127.0.0.1:9/v1",
        http_client=fake_provider.client(),
        rate="2/minute",
    )
    transport = httpx.ASGITransport(app=asgi, client=("203.0.113.5", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
        issued = await client.post("/caller_token", headers={"Authorization": "Bearer page-token"})
        assert issued.status_code == 200 and issued.json()["expires_in"] == 600
        wrong = {"Authorization": "Bearer not-the-demo-token"}
        assert (await client.post("/caller_token", headers=wrong)).status_code == 401
        caller = {"Authorization": f"Bearer {issued.json()['token']}"}
        statuses = []
        for n in range(3):  # a new client id each time: the identity is the token's
            headers = {**caller, "Content-Type": "application/sdp", "X-Liveloop-Client": f"tab-{n}"}
            response = await client.post(
                "/sessions/echo/offer", content=await real_offer(), headers=headers
            )
            statuses.append(response.status_code)
        assert statuses == [201, 201, 429]
        # A client-chosen identity is refused outright; so is a token with a changed byte.
        forged = {"Authorization": "Bearer caller-123", "Content-Type": "application/sdp"}
        assert (await client.post("/sessions/echo/offer", headers=forged)).status_code == 401
        # Tokens (and guesses at the demo token) are limited per address too, so rotating
        # tokens does not help either.
        demo = {"Authorization": "Bearer page-token"}
        assert (await client.post("/caller_token", headers=demo)).status_code == 429
    await asgi.state.liveloop.aclose()
