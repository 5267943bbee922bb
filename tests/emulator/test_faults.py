"""The emulator's fault injection (``emu.faults``): cuts, stalls, raw frames, close codes,
expiry and refusals, observed from a plain WebSocket client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from liveloop_emulator import Emulator

KEY = "sk-test-faults"


@asynccontextmanager
async def client(emu: Emulator, **options: Any) -> AsyncIterator[ClientConnection]:
    async with ws_connect(
        f"{emu.ws_base_url}/realtime?model=gpt-realtime",
        additional_headers={"Authorization": f"Bearer {KEY}"},
        **options,
    ) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["type"] == "session.created"
        yield ws


async def next_event(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return data


async def update(ws: ClientConnection) -> None:
    await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))


async def test_drop_all_cuts_every_connection_without_a_close_frame(emulator: Emulator) -> None:
    async with client(emulator) as one, client(emulator) as two:
        cut = await emulator.faults.drop_all()
        assert cut >= 2
        for ws in (one, two):
            with pytest.raises(ConnectionClosed) as caught:
                await asyncio.wait_for(ws.recv(), 2)
            assert caught.value.rcvd is None  # no close frame: a network cut
    assert [(s.closed, s.close_code) for s in emulator.sessions] == [(True, 1006)] * 2
    async with client(emulator) as again:  # the server itself keeps serving
        await update(again)
        assert (await next_event(again))["type"] == "session.updated"


async def test_a_stall_stops_answers_pings_and_handshakes_until_resumed(
    emulator: Emulator,
) -> None:
    async with client(emulator, ping_interval=None) as ws:
        emulator.faults.stall(True)
        await update(ws)
        pong = await ws.ping()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
        assert not pong.done()
        with pytest.raises(TimeoutError):  # a new connection gets no handshake answer
            async with client(emulator, open_timeout=0.3):
                pass
        emulator.faults.stall(False)
        await asyncio.wait_for(pong, 2)
        assert (await next_event(ws))["type"] == "session.updated"


async def test_send_raw_and_send_event_reach_the_client_as_given(emulator: Emulator) -> None:
    async with client(emulator) as ws:
        assert await emulator.faults.send_raw("{not json") == 1
        assert await ws.recv() == "{not json"
        await emulator.faults.send_raw(b"\x00\xffbinary")
        assert await ws.recv() == b"\x00\xffbinary"
        await emulator.faults.send_event({"type": "response.done"}, emulator.sessions[0])
        assert await next_event(ws) == {"type": "response.done"}
        await emulator.faults.send_event({"type": "brand.new.event", "x": [1]})
        assert (await next_event(ws))["type"] == "brand.new.event"
        # The session still works, and injected frames are kept apart from the engine's own.
        await update(ws)
        assert (await next_event(ws))["type"] == "session.updated"
    assert [f.frame for f in emulator.faults.injected][:2] == ["{not json", b"\x00\xffbinary"]
    types = {e["type"] for e in emulator.sessions[0].server_events}
    assert types == {"session.created", "session.updated"}


@pytest.mark.parametrize(("code", "reason"), [(1011, "internal error"), (4000, "go away")])
async def test_close_sessions_uses_the_chosen_close_code(
    emulator: Emulator, code: int, reason: str
) -> None:
    async with client(emulator) as ws:
        assert await emulator.faults.close_sessions(code, reason) == 1
        with pytest.raises(ConnectionClosed) as caught:
            await asyncio.wait_for(ws.recv(), 2)
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (code, reason)
    assert emulator.sessions[0].close_code == code


async def test_expire_after_for_new_sessions_and_for_one_open_session(
    emulator: Emulator,
) -> None:
    async with client(emulator) as old:
        emulator.faults.expire_after(0.3)
        async with client(emulator) as new:
            started = time.monotonic()
            error = await next_event(new, 2)
            assert error["type"] == "error" and error["error"]["code"] == "session_expired"
            with pytest.raises(ConnectionClosed) as caught:
                await asyncio.wait_for(new.recv(), 2)
            assert caught.value.rcvd is not None and caught.value.rcvd.code == 1001
            assert time.monotonic() - started < 1.0
        # The session opened before keeps going until it is expired on its own.
        await update(old)
        assert (await next_event(old))["type"] == "session.updated"
        emulator.faults.expire_after(0.1, emulator.sessions[0])
        assert (await next_event(old, 2))["error"]["code"] == "session_expired"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(old.recv(), 2)


async def test_refused_connections_get_the_status_until_accepted_again(
    emulator: Emulator,
) -> None:
    async with client(emulator) as open_one:
        emulator.faults.refuse_connections(503)
        with pytest.raises(InvalidStatus) as caught:
            async with client(emulator):
                pass
        assert caught.value.response.status_code == 503
        assert json.loads(caught.value.response.body or b"{}")["error"]["type"] == "server_error"
        assert len(emulator.faults.refused_at) == 1
        await update(open_one)  # open sessions are not affected
        assert (await next_event(open_one))["type"] == "session.updated"
    emulator.faults.refuse_connections(None)
    async with client(emulator) as ws:
        await update(ws)
        assert (await next_event(ws))["type"] == "session.updated"
    with pytest.raises(ValueError):
        emulator.faults.refuse_connections(200)
