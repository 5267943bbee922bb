"""Peer-mode WebRTC: track audio is attributed per response, so barge-in works on any reply."""

from __future__ import annotations

import asyncio

import liveloop
from liveloop.testing import Heard, speak
from liveloop_emulator import Emulator


async def test_barge_in_on_a_later_response_interrupts_it() -> None:
    async with Emulator(speed=4.0) as emu:
        options = {"api_key": "sk-test", "base_url": emu.base_url, "auto_respond": False}
        async with liveloop.connect(provider="openai", transport="webrtc", **options) as session:
            heard = Heard(session)
            first = await session.say("first line").wait(10)
            assert not first.interrupted
            long = session.say(" ".join(["this goes on and on"] * 6))
            await heard.wait_for_audio(ms=2500)
            await speak(session, "stop")
            await asyncio.wait_for(long.wait(), 10)
            assert long.interrupted
            interruption = await heard.wait_for_interruption()
            assert interruption.item_id == long.item_id != first.item_id
            assert heard.order[:2] == [first.item_id, long.item_id]
            assert heard.text(heard.order[0]) == "first line"
            assert (await asyncio.wait_for(session.input(), 10)).text == "stop"
