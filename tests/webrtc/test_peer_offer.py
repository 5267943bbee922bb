"""Peer mode sends OpenAI's server-side offer shape: the SDP and the session, multipart."""

from __future__ import annotations

import liveloop
from liveloop_emulator import Emulator


async def test_the_offer_carries_the_session_config() -> None:
    async with Emulator(speed=4.0) as emu:
        options = {"api_key": "sk-test", "base_url": emu.base_url}
        async with liveloop.connect(
            provider="openai", transport="webrtc", instructions="Be brief.", **options
        ):
            pass
        [record] = emu.sessions
        created = next(e for e in record.server_events if e["type"] == "session.created")
        # Applied from the offer's session part, before any session.update arrived.
        assert created["session"]["instructions"] == "Be brief."
        assert created["session"]["model"] == "gpt-realtime"
