"""``liveloop serve`` in a real process offers the Twilio routes (from liveloop-twilio's
``register_routes``): a call placed by the simulated caller runs the handler, with
signatures checked against ``--public-url``, and transfer reaching the carrier double."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from liveloop.testing.phone import CallRefused, TwilioCaller

from .conftest import ACCOUNT, TOKEN, CarrierDouble, serve

APP = """
import liveloop

app = liveloop.App(authorize=lambda request: None)  # browsers refused; phones are signed


@app.session("desk")
async def desk(session: liveloop.Session) -> None:
    await session.say("front desk")
    turn = await session.input()
    await session.say("heard " + turn.text)
    if turn.text == "transfer me":
        await session.transfer("sip:agent@example.com")
    await session.input()
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _healthy(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url, timeout=1.0)).status_code == 200
    except httpx.HTTPError:
        await asyncio.sleep(0.1)  # not listening yet
        return False


async def test_liveloop_serve_bridges_a_twilio_call(tmp_path: Path) -> None:
    (tmp_path / "phone_app.py").write_text(APP)
    carrier = CarrierDouble()
    async with serve(carrier.asgi()) as carrier_url:
        port = _free_port()
        public = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_API_BASE": carrier_url,
        }
        command = [sys.executable, "-c", "import liveloop.cli; liveloop.cli.main()", "serve"]
        options = ["phone_app:app", "--emulator", "--public-url", public]
        log = tmp_path / "serve.log"
        with log.open("w") as out:
            proc = await asyncio.create_subprocess_exec(
                *command,
                *options,
                "--port",
                str(port),
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            async with httpx.AsyncClient() as client:
                deadline = time.monotonic() + 30
                while not await _healthy(client, f"{public}/healthz"):
                    if time.monotonic() > deadline or proc.returncode is not None:
                        raise AssertionError(log.read_text())
            async with TwilioCaller(f"{public}/phone/twilio/desk", auth_token=TOKEN) as caller:
                await caller.wait_heard("front desk")
                await caller.speak("transfer me")
                await caller.wait_heard("heard transfer me")
                updates = await carrier.wait_for(1, timeout=10)
                assert "<Sip>sip:agent@example.com</Sip>" in updates[0]["Twiml"]
                await caller.hang_up()
            forged = TwilioCaller(f"{public}/phone/twilio/desk", auth_token=TOKEN + "x")
            with pytest.raises(CallRefused) as refused:
                await forged.ring()
            assert refused.value.status == 403
            unknown = TwilioCaller(f"{public}/phone/twilio/nope", auth_token=TOKEN)
            assert "<Hangup" in await unknown.ring()  # no handler "nope": refused in TwiML
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()
