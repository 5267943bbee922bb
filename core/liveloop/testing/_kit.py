"""The conformance kit's helpers: its bounds and phrases, the options of a session on the
target, the user speaking, polling the provider's side, and the truncation check."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ..matrix import Capability
from ..session import Session
from .target import ConformanceTarget, ProviderSide
from .voice import speak, utterance

TEST_TIMEOUT = 30.0
CONNECT_BOUND = 5.0
CLOSE_BOUND = 1.0
PROVIDER_CLOSED_BOUND = 1.0
CLOSED_BOUND = 2.0
SAID = "your table for two is booked for eight"
LONG = " ".join(["this is a long answer that goes on"] * 12)
FORMATS = ("pcm16", "g711_ulaw", "g711_alaw")


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(test(), TEST_TIMEOUT)

    asyncio.run(bounded())


def lookup_weather(city: str) -> dict[str, str]:
    """Look up today's weather in a city."""
    return {"city": city, "sky": "sunny"}


def options(capability: Capability, target: ConformanceTarget, **extra: Any) -> dict[str, Any]:
    return {
        **target.options(),
        "provider": capability.provider,
        "transport": capability.transport,
        **extra,
    }


@contextlib.asynccontextmanager
async def session_options(
    capability: Capability, target: ConformanceTarget, **extra: Any
) -> AsyncIterator[dict[str, Any]]:
    """``_options`` for one session; a sideband pair's attach to a call of their own (its
    ``call_id``), hung up afterwards."""
    if not capability.features.sideband:
        yield options(capability, target, **extra)
        return
    call_id = await target.side.open_call()
    try:
        yield options(capability, target, call_id=call_id, **extra)
    finally:
        await target.side.hang_up(call_id)


def require(capability: Capability, *flags: str) -> None:
    missing = [flag for flag in flags if not getattr(capability.features, flag)]
    if missing:
        pytest.skip(f"{capability.provider}/{capability.transport} does not claim {missing}")


def require_voice(capability: Capability) -> None:
    """Skip unless the user can speak: into the session (audio_in) or into its call (sideband)."""
    if not (capability.features.audio_in or capability.features.sideband):
        pytest.skip(
            f"{capability.provider}/{capability.transport} claims neither audio_in nor sideband"
        )


async def user_says(target: ConformanceTarget, session: Session, text: str) -> None:
    """The user speaks ``text``: into the session, or into the call a sideband controls (the
    user's device sends its audio to the provider directly)."""
    if session.features.audio_in:
        await speak(session, text)
        return
    call_id = session.config.call_id
    assert call_id is not None, "a sideband session without a call_id"
    await target.side.speak_into_call(call_id, utterance(text))


async def poll(
    check: Callable[[], Any], timeout: float, interval: float = 0.02
) -> Any:  # the provider's records live on another thread: poll them, briefly
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if found := check():
            return found
        if loop.time() >= deadline:
            return check()
        await asyncio.sleep(interval)


def _provider_truncated(side: ProviderSide, item_id: str | None) -> bool:
    if not side.names_items:  # ids the session never saw: the one cut item is the one
        return len([cut for cut in side.truncations() if cut.by == "provider"]) == 1
    return any(
        cut.by == "provider" and (item_id is None or cut.item_id == item_id)
        for cut in side.truncations()
    )


async def check_truncation(
    capability: Capability, target: ConformanceTarget, item_id: str | None, played_ms: int | None
) -> None:
    """The interrupted item was cut to what was heard, by whoever the pair says cuts it."""
    side = target.side
    if capability.features.interruption == "client_truncates":
        cuts = await poll(lambda: [c for c in side.truncations() if c.by == "client"], 2.0)
        assert len(cuts) == 1, f"expected one truncation from this process, got {cuts}"
        if item_id is not None:
            assert cuts[0].item_id == item_id
        if played_ms is not None:
            assert cuts[0].audio_end_ms == played_ms
    elif capability.features.interruption == "server_truncates":
        truncated = await poll(lambda: _provider_truncated(side, item_id), 2.0)
        assert truncated, (
            f"{capability.provider}/{capability.transport} claims the server truncates on "
            f"barge-in, but the provider truncated no item (truncations: {side.truncations()})"
        )
