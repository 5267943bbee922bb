"""The browser example's server side: ``liveloop serve app:app`` (run in this directory).

The page (``index.html`` + ``app.js`` here) sends its microphone to the model over WebRTC;
this handler runs on the server over the call's sideband: it greets the caller, follows
every turn, and answers weather questions with a tool. Nothing here ever reaches the
browser except what the model says.

Callers are admitted by a shared demo token (``LIVELOOP_DEMO_TOKEN``; a random one is made
and printed when it is not set), sent by the page as ``Authorization: Bearer <token>``.
Each browser tab also sends a random client id, so one tab cannot hang up another's call.
For a real deployment, replace :func:`authorize` with your own login check.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys

from starlette.requests import Request

import liveloop

DEMO_TOKEN = os.environ.get("LIVELOOP_DEMO_TOKEN") or secrets.token_urlsafe(12)
if "LIVELOOP_DEMO_TOKEN" not in os.environ:
    print(
        f"demo token (set LIVELOOP_DEMO_TOKEN to choose one): open /#token={DEMO_TOKEN}",
        file=sys.stderr,
    )


def authorize(request: Request) -> str | None:
    """Admit callers that present the demo token; their identity is their tab's client id."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), DEMO_TOKEN.encode()):
        return None
    client = request.headers.get("x-liveloop-client", "")[:64]
    return f"demo:{client or 'anonymous'}"


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
