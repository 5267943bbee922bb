"""The browser example's server side: ``liveloop serve app:app`` (run in this directory).

The page (``index.html`` + ``app.js`` here) sends its microphone to the model over WebRTC;
this handler runs on the server over the call's sideband: it greets the caller, follows
every turn, and answers weather questions with a tool. Nothing here ever reaches the
browser except what the model says.

Who is calling: the page holds a shared demo token (``LIVELOOP_DEMO_TOKEN``; a random one
is made and printed when it is not set) and trades it at ``POST /caller_token`` for a
**caller token** the server signs (``liveloop_serve.CallerTokens``): it names a caller the
server chose and expires in 10 minutes. Offers and hang-ups carry that token, so the
caller's rate limit and call cap hold whatever headers the client sends, and one tab
cannot hang up another's call. Trading is rate-limited per client address. Several
workers must share ``LIVELOOP_TOKEN_SECRET``. For a real deployment, replace this with
your own login check in :func:`authorize`.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import liveloop
from liveloop_serve import SECURITY_HEADERS, CallerTokens, Server, client_address, error

DEMO_TOKEN = os.environ.get("LIVELOOP_DEMO_TOKEN") or secrets.token_urlsafe(12)
if "LIVELOOP_DEMO_TOKEN" not in os.environ:
    print(
        f"demo token (set LIVELOOP_DEMO_TOKEN to choose one): open /#token={DEMO_TOKEN}",
        file=sys.stderr,
    )
tokens = CallerTokens(os.environ.get("LIVELOOP_TOKEN_SECRET"), ttl=600)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else ""


def authorize(request: Request) -> str | None:
    """Admit callers that present a caller token this server issued; it names them."""
    return tokens.verify(_bearer(request))


def caller_token_routes(server: Server) -> list[Route]:
    """``POST /caller_token``: the demo token in, a signed caller token out."""

    async def caller_token(request: Request) -> Response:
        refused = await server.limit(f"token-for:{client_address(request)}")
        if refused is not None:
            return refused
        if not hmac.compare_digest(_bearer(request).encode(), DEMO_TOKEN.encode()):
            return error(401, "unauthorized", "the demo token is required")
        body = {"token": tokens.issue(), "expires_in": int(tokens.ttl)}
        return JSONResponse(body, headers=SECURITY_HEADERS)

    return [Route("/caller_token", caller_token, methods=["POST"])]


class CallerTokenRoutes:
    """Contributes ``/caller_token`` to ``liveloop serve`` (the ``register_routes`` hook)."""

    @liveloop.plugin.hookimpl
    def register_routes(self, register: Any) -> None:
        register(
            liveloop.plugin.RouteSpec(name="browser-example-tokens", routes=caller_token_routes)
        )


ROUTES_PLUGIN = "browser-example-tokens"
if ROUTES_PLUGIN not in {info.name for info in liveloop.plugin.get_plugin_manager().plugins()}:
    liveloop.plugin.register(CallerTokenRoutes(), name=ROUTES_PLUGIN)

app = liveloop.App(
    authorize=authorize,
    instructions=(
        "You are a friendly, brief voice assistant. When asked about the weather, "
        "call lookup_weather."
    ),
    voice="marin",
)


def lookup_weather(city: str) -> dict[str, str]:
    """Look up today's weather in a city."""
    return {"city": city, "sky": "sunny", "temperature_c": "21"}


@app.session("assistant", tools=[lookup_weather])
async def assistant(session: liveloop.Session) -> None:
    """Greet, then follow the conversation; the model answers each turn on its own and
    calls ``lookup_weather`` (run here, on the server) when it needs it."""
    await session.say("Hello! Ask me anything, or about the weather somewhere.")
    async for turn in session.turns():
        print(f"user said: {turn.text}", file=sys.stderr)
        if "goodbye" in turn.text.lower():
            await session.say("Goodbye!").wait(30)
            return  # returning ends the call
