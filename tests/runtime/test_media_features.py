"""send_audio() and audio_out() refuse clearly on a pair whose audio does not flow through
this process (a sideband to a browser's call), and work as before where it does."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

import liveloop
from liveloop.events import ResponseStarted, ToolCall
from liveloop.session import Session

from .conftest import CAPABILITY, FakeConnection, PassThroughCodec

SIDEBAND = dataclasses.replace(
    CAPABILITY,
    transport="sideband",
    features=dataclasses.replace(
        CAPABILITY.features, audio_in=False, audio_out=False, sideband=True, media="direct"
    ),
)


async def test_sideband_pair_refuses_audio_methods() -> None:
    connection = FakeConnection()
    session = Session(
        config=liveloop.SessionConfig(provider="fake", transport="sideband"),
        codec=PassThroughCodec(),
        connection=connection,
        capability=SIDEBAND,
    )
    await session._start()
    try:
        with pytest.raises(liveloop.LiveloopError, match=r"send_audio\(\) is not available"):
            await session.send_audio(b"\x00\x00" * 480)
        with pytest.raises(liveloop.LiveloopError, match=r"audio_out\(\) is not available"):
            session.audio_out()  # raises at the call, before any iteration
        assert not connection.sent_kinds("append_audio")
        await session.send_text("typed turns still work")
        for _ in range(50):
            if connection.sent_kinds("send_text"):
                break
            await asyncio.sleep(0.01)
        assert connection.sent_kinds("send_text")
    finally:
        await session.close()


async def test_audio_pair_keeps_audio_methods(runtime: tuple[Session, FakeConnection]) -> None:
    session, connection = runtime
    await session.send_audio(b"\x01\x00" * 480)
    assert connection.sent_kinds("append_audio")
    chunks = session.audio_out()
    assert hasattr(chunks, "__anext__")
    await chunks.aclose()  # type: ignore[attr-defined]


async def test_sideband_session_answers_tool_calls() -> None:
    # A sideband session's log context carries the WebRTC call_id; the function call's
    # own id must not clash with it.
    def add(a: int, b: int) -> int:
        return a + b

    connection = FakeConnection()
    session = Session(
        config=liveloop.SessionConfig(provider="fake", transport="sideband", call_id="rtc_1"),
        codec=PassThroughCodec(),
        connection=connection,
        capability=SIDEBAND,
        tools=[liveloop.Tool(add)],
    )
    await session._start()
    try:
        connection.push(ResponseStarted(response_id="r1"))
        connection.push(ToolCall(call_id="c1", name="add", arguments='{"a": 2, "b": 3}'))
        for _ in range(50):
            if connection.sent_kinds("send_tool_output"):
                break
            await asyncio.sleep(0.01)
        [output] = connection.sent_kinds("send_tool_output")
        assert output["call_id"] == "c1" and output["output"] == "5"
    finally:
        await session.close()
