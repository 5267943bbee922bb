"""Who may call in over Twilio: signatures on the webhook and on the stream's upgrade, and
the per-call ticket on ``start``; each refusal opens no provider session."""

from __future__ import annotations

import asyncio

import pytest

import liveloop
from liveloop.testing.phone import CallRefused, TwilioCaller
from liveloop_twilio.security import websocket_url

from .conftest import TOKEN, phone_server


def app() -> liveloop.App:
    desk = liveloop.App()

    @desk.session("desk")
    async def handler(session: liveloop.Session) -> None:
        await session.say("hello")
        await session.input()

    return desk


@pytest.mark.parametrize("signature", ["wrong", "none"])
async def test_an_unsigned_or_badly_signed_webhook_is_refused(signature: str) -> None:
    async with phone_server(app()) as server:
        caller = TwilioCaller(server.webhook("desk"), auth_token=TOKEN, signature=signature)  # type: ignore[arg-type]
        with pytest.raises(CallRefused) as refused:
            await caller.ring()
        assert refused.value.status == 403
        assert server.emulator.sessions == []
        assert server.routes.store._tickets == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize("signature", ["wrong", "none"])
async def test_a_bad_signature_on_the_upgrade_is_refused(signature: str) -> None:
    async with phone_server(app()) as server:
        caller = TwilioCaller(
            server.webhook("desk"),
            auth_token=TOKEN,
            stream_signature=signature,  # type: ignore[arg-type]
        )
        await caller.ring()
        with pytest.raises(CallRefused) as refused:
            await caller.connect()
        assert refused.value.status == 403
        assert server.emulator.sessions == []


async def test_a_missing_ticket_is_refused_before_any_audio() -> None:
    async with phone_server(app()) as server:
        caller = TwilioCaller(server.webhook("desk"), auth_token=TOKEN, parameters={})
        await caller.ring()
        await caller.connect()
        await asyncio.wait_for(caller.closed.wait(), 5)
        assert caller.close_code == 1008
        assert server.emulator.sessions == []
        await caller.close()


async def test_a_reused_ticket_is_refused() -> None:
    async with phone_server(app()) as server:
        first = TwilioCaller(server.webhook("desk"), auth_token=TOKEN)
        async with first:
            await first.wait_heard("hello")
            await first.hang_up()
        sessions = len(server.emulator.sessions)
        again = TwilioCaller(server.webhook("desk"), auth_token=TOKEN, parameters=first.parameters)
        again.call_sid, again.stream_url = first.call_sid, first.stream_url
        await again.connect()
        await asyncio.wait_for(again.closed.wait(), 5)
        assert again.close_code == 1008
        assert len(server.emulator.sessions) == sessions
        await again.close()


async def test_a_ticket_for_another_call_is_refused() -> None:
    async with phone_server(app()) as server:
        first = TwilioCaller(server.webhook("desk"), auth_token=TOKEN)
        await first.ring()
        other = TwilioCaller(server.webhook("desk"), auth_token=TOKEN, parameters=first.parameters)
        other.stream_url = first.stream_url  # a different CallSid presents first's ticket
        await other.connect()
        await asyncio.wait_for(other.closed.wait(), 5)
        assert other.close_code == 1008
        assert server.emulator.sessions == []
        await other.close()


async def test_insecure_dev_admits_unsigned_calls_without_a_ticket() -> None:
    async with phone_server(app(), insecure_dev=True) as server:
        caller = TwilioCaller(server.webhook("desk"), auth_token=TOKEN, signature="none")
        caller.parameters_override = {}
        async with caller:
            await caller.wait_heard("hello")
            await caller.hang_up()


async def test_a_webhook_that_is_not_a_form_is_refused() -> None:
    import httpx

    async with phone_server(app()) as server, httpx.AsyncClient() as client:
        response = await client.post(server.webhook("desk"), json={"CallSid": "x"})
        assert response.status_code == 415
        response = await client.post(
            server.webhook("desk"),
            content=b"a=" + b"x" * 20000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 413


def test_the_stream_url_follows_the_public_urls_scheme() -> None:
    assert websocket_url("https://voice.example.com/phone/twilio/desk/stream") == (
        "wss://voice.example.com/phone/twilio/desk/stream"
    )
    assert websocket_url("http://127.0.0.1:8000/phone/twilio/desk/stream") == (
        "ws://127.0.0.1:8000/phone/twilio/desk/stream"
    )
