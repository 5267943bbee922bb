"""OpenAI SIP through a real ``liveloop serve`` process: the emulator (in this process)
signs and posts ``realtime.call.incoming`` over a real socket to ``POST /phone/openai``;
the server verifies it with ``OPENAI_WEBHOOK_SECRET``, accepts the call at the emulator and
runs the handler over the sideband. A forged delivery and a replayed one accept nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveloop_emulator import Emulator

from ..serve.procs import ServeProcess, app_module

pytestmark = pytest.mark.timeout(180)

KEY = "sk-sip-serve-tests"
SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

APP = """
import liveloop

app = liveloop.App(authorize=lambda request: None)  # browsers refused; SIP is signed


@app.session("desk")
async def desk(session: liveloop.Session) -> None:
    await session.say("front desk")
    while True:
        turn = await session.input()
        if turn.text == "transfer me":
            await session.transfer("tel:+15550009999")
        else:
            await session.say("heard " + turn.text)
"""


async def test_liveloop_serve_takes_a_signed_sip_call(tmp_path: Path) -> None:
    async with Emulator(api_keys=[KEY], speed=4.0) as emu:
        server = ServeProcess(
            app_module(tmp_path, APP),
            *("--base-url", emu.base_url),
            cwd=tmp_path,
            env={"OPENAI_WEBHOOK_SECRET": SECRET, "OPENAI_API_KEY": KEY},
        )
        try:
            await server.ready()
            url = f"{server.url}/phone/openai"
            forged = await emu.sip.place_call(url, secret="whsec_" + "QUFB" * 8)
            assert forged.webhook_status == 400 and forged.state == "pending"

            call = await emu.sip.place_call(url, secret=SECRET, webhook_id="wh_once")
            assert call.webhook_status == 200 and call.state == "active"
            replay = emu.sip.incoming_body(call)
            again = await emu.sip.deliver(url, secret=SECRET, body=replay, webhook_id="wh_once")
            assert again == 200  # acknowledged, not accepted twice
            await call.wait_heard("front desk", timeout=40)
            await call.speak("hello there")
            await call.wait_heard("heard hello there", timeout=40)
            await call.speak("transfer me")
            assert await call.wait_state("referred", timeout=30) == "referred"
            assert call.refer_target == "tel:+15550009999"
            assert len([s for s in emu.sessions if s.call_id == call.id]) == 1
            assert not [s for s in emu.sessions if s.call_id == forged.id]
        finally:
            await server.stop()
    assert "Traceback" not in server.output(), server.output()
