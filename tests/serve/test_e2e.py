"""``liveloop serve`` end to end over real WebRTC on 127.0.0.1: an aiortc peer plays the
browser (microphone track of tone speech, ``oai-events`` channel, remote audio), the
bundled emulator is the provider, and the handler runs on the server over the sideband."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.requests import Request

import liveloop
from liveloop_emulator import Emulator, Rule
from liveloop_serve import create_app

from .conftest import KEY, Browser

pytestmark = pytest.mark.timeout(120)


def authorize(request: Request) -> str | None:
    return "alice" if request.headers.get("authorization") == "Bearer alice-token" else None


def lookup_weather(city: str) -> dict[str, str]:
    """Look up today's weather in a city."""
    tool_runs.append(city)
    return {"city": city, "sky": "sunny"}


tool_runs: list[str] = []


async def _until(predicate: Any, timeout: float, what: str, every: float = 0.05) -> None:
    # Counted in polls, not wall-clock time: on a loaded machine each poll takes longer and
    # the wait stretches with it. The bounds only keep a broken test from hanging.
    for _ in range(int(timeout / every)):
        if predicate():
            return
        await asyncio.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


async def test_browser_turn_reaches_the_handler_and_say_is_heard(browser: Browser) -> None:
    turns: list[liveloop.SessionTurn] = []
    said = asyncio.Event()
    replied = asyncio.Event()
    ended = asyncio.Event()
    app = liveloop.App(authorize=authorize, auto_respond=False)

    @app.session("echo", tools=[lookup_weather])
    async def echo(session: liveloop.Session) -> None:
        try:
            turn = await session.input()
            turns.append(turn)
            with pytest.raises(liveloop.LiveloopError, match="not available"):
                await session.send_audio(b"\x00\x00" * 480)
            await session.say(f"you said {turn.text}").wait(15)
            said.set()
            turns.append(await session.input())  # a spoken question that needs a tool
            await session.respond().wait(15)
            replied.set()
            await session.input()
        finally:
            ended.set()

    tool_runs.clear()
    script = [Rule(match="weather", tool="lookup_weather", arguments={"city": "Paris"})]
    async with Emulator(speed=4.0, script=script) as emu:
        asgi = create_app(app, provider_base_url=emu.base_url, api_key=KEY)
        server = asgi.state.liveloop
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi), base_url="http://serve"
        ) as client:
            response = await client.post(
                "/sessions/echo/offer",
                content=await browser.offer(),
                headers={"Content-Type": "application/sdp", "Authorization": "Bearer alice-token"},
            )
            assert response.status_code == 201, response.text
            await browser.accept(response.text)
            await _until(lambda: browser.channel.readyState == "open", 10, "the data channel")
            connected = await client.post(  # as the page does, once its peer is up
                response.headers["location"] + "/connected",
                headers={"Authorization": "Bearer alice-token"},
            )
            assert connected.status_code == 204

            browser.speak("book a table for two")
            await _until(lambda: turns, 20, "the spoken turn")
            assert turns[0].text == "book a table for two"
            assert turns[0].channel == "audio"
            await asyncio.wait_for(said.wait(), 20)
            await _until(  # decoding is costly: not too often while audio is flowing
                lambda: browser.heard_text() == "you said book a table for two",
                20,
                "the speech",
                every=0.5,
            )

            # A tool call: runs once, here on the server, answered over the sideband.
            browser.speak("what is the weather")
            await asyncio.wait_for(replied.wait(), 30)
            assert turns[1].text == "what is the weather"
            assert tool_runs == ["Paris"]

            # The call ends at the provider (the user closed the tab, the provider hung
            # up): the sideband closes, the handler's input() ends, the slot is released.
            # The bounds are far below the connect and idle timeouts that would also free it.
            [call] = server.calls.values()
            await emu.hangup(call.call_id)
            await asyncio.wait_for(ended.wait(), 10)
            await _until(lambda: server.active == 0, 10, "the slot")
        await server.aclose()
    # The data channel of the browser saw the transcript of what the server said.
    transcripts = [e for e in browser.events if e.get("type", "").endswith("transcript.done")]
    assert any("you said book a table for two" in str(e.get("transcript")) for e in transcripts)
