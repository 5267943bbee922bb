"""Twilio calls across the workers of one deployment: two real ``liveloop serve`` processes
sharing a real ``redis-server``. The voice webhook reaches one worker and the media stream
another (the ticket travels through Redis, once); the stream's status callback, posted to
the worker that does not hold the stream, hangs the call up where it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from liveloop.testing.phone import TwilioCaller
from liveloop_emulator import Emulator
from liveloop_serve import RedisStore

from ..serve.procs import HAS_REDIS, app_module, redis_server, serve_processes
from .conftest import ACCOUNT, KEY, TOKEN, CarrierDouble, serve

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not HAS_REDIS, reason="redis-server is not installed"),
]

APP = """
import liveloop

app = liveloop.App(authorize=lambda request: None)  # browsers refused; phones are signed


@app.session("desk")
async def desk(session: liveloop.Session) -> None:
    await session.say("front desk")
    while True:
        await session.input()
"""


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


async def test_a_call_set_up_on_one_worker_runs_and_hangs_up_through_another(
    redis_url: str, tmp_path: Path
) -> None:
    carrier = CarrierDouble()
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT}
    async with (
        Emulator(api_keys=[KEY]) as emu,
        serve(carrier.asgi()) as carrier_url,
        serve_processes(
            app_module(tmp_path, APP),
            *("--store", redis_url, "--base-url", emu.base_url),
            cwd=tmp_path,
            env={**env, "TWILIO_API_BASE": carrier_url, "OPENAI_API_KEY": KEY},
            count=2,
        ) as (first, second),
    ):
        caller = TwilioCaller(f"{first.url}/phone/twilio/desk", auth_token=TOKEN)
        await caller.ring()  # the ticket is issued by the first worker...
        assert caller.stream_url is not None
        caller.stream_url = caller.stream_url.replace(str(first.port), str(second.port))
        async with caller:  # ...and taken by the second, which runs the call
            await caller.wait_heard("front desk")

            # The same ticket again, at the first worker: refused, no second session.
            again = TwilioCaller(caller.webhook_url, auth_token=TOKEN, parameters=caller.parameters)
            again.call_sid = caller.call_sid
            again.stream_url = caller.stream_url.replace(str(second.port), str(first.port))
            await again.connect()
            await asyncio.wait_for(again.closed.wait(), 5)
            assert again.close_code == 1008
            await again.close()
            assert len(emu.sessions) == 1

            # Twilio says the stream stopped, to the worker that does not hold it.
            status_url = f"{first.url}/phone/twilio/desk/status"
            form = {
                "AccountSid": caller.account_sid,
                "CallSid": caller.call_sid,
                "StreamSid": caller.stream_sid,
                "StreamEvent": "stream-stopped",
            }
            signature = RequestValidator(TOKEN).compute_signature(status_url, form)
            async with httpx.AsyncClient() as client:
                forged = await client.post(
                    status_url, data=form, headers={"X-Twilio-Signature": "x"}
                )
                assert forged.status_code == 403
                answer = await client.post(
                    status_url, data=form, headers={"X-Twilio-Signature": signature}
                )
            assert answer.status_code == 204
            updates = await carrier.wait_for(1, timeout=15)  # hung up at Twilio...
            await asyncio.wait_for(caller.closed.wait(), 10)  # ...and the stream closed
        assert updates[0]["call_sid"] == caller.call_sid
        assert updates[0]["Status"] == "completed"
        assert len(carrier.updates) == 1  # by the worker holding the stream, once

        store = RedisStore(redis_url)
        try:
            for _ in range(100):  # the record goes as the call's worker finishes it
                if await store.get_call(f"twilio-{caller.call_sid}") is None:
                    break
                await asyncio.sleep(0.05)
            assert await store.get_call(f"twilio-{caller.call_sid}") is None
        finally:
            await store.aclose()
    for server in (first, second):
        assert "Traceback" not in server.output(), server.output()
