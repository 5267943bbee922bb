"""``liveloop serve --record DIR``: every call it serves is recorded; over the sideband
(the browser's audio goes to the provider directly) that is the call's events and
transcript."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import liveloop
from liveloop_emulator import Emulator
from liveloop_serve import create_app

from .conftest import KEY, Browser

pytestmark = pytest.mark.timeout(60)


async def test_a_served_call_is_recorded(browser: Browser, tmp_path: Path) -> None:
    answered = asyncio.Event()
    app = liveloop.App(auto_respond=False)

    @app.session("echo")
    async def echo(session: liveloop.Session) -> None:
        turn = await session.input()
        await session.say(f"you said {turn.text}").wait(15)
        answered.set()
        await session.input()

    app.record_to(tmp_path / "calls")  # what --record DIR does
    async with Emulator(speed=4.0) as emu:
        asgi = create_app(app, provider_base_url=emu.base_url, api_key=KEY, insecure_dev=True)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi), base_url="http://serve"
        ) as client:
            response = await client.post(
                "/sessions/echo/offer",
                content=await browser.offer(),
                headers={"Content-Type": "application/sdp"},
            )
            assert response.status_code == 201, response.text
            await browser.accept(response.text)
            browser.speak("book a table for two")
            await asyncio.wait_for(answered.wait(), 30)
            await asyncio.wait_for(browser.close(), 10)
        await asyncio.wait_for(asgi.state.liveloop.aclose(), 10)
    [transcript] = (tmp_path / "calls").glob("*-echo-*.jsonl")
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert lines[0]["pair"] == "openai/webrtc_sideband"
    assert "outside this process" in lines[0]["audio"]
    assert [line["text"] for line in lines if line["type"] == "user.turn"] == [
        "book a table for two"
    ]
    said = [line["text"].lower() for line in lines if line["type"] == "assistant.said"]
    assert said == ["you said book a table for two"]


def test_serve_offers_record() -> None:
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "liveloop"), "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "--record DIR" in shown.stdout
