"""``liveloop demo``: the concierge handler, a simulated caller, and the conversation printed.

Against the bundled emulator (default) the caller speaks its lines as tone speech and
the assistant's lines are decoded from the audio the caller receives; with ``live`` the
same handler runs against OpenAI and the caller's lines are sent as typed text.
"""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from ..errors import LiveloopError
from ..matrix import Capability, resolve
from ..session import Session
from ..turns import SessionTurn
from .concierge import CALLER_LINES, Bookings, concierge_app, emulator_script
from .transcript import Follower, Transcript

__all__ = ["DemoError", "DemoResult", "run_demo"]

EMULATOR_SPEED = 4.0
"""The emulator paces its audio at four times real time, so the demo takes seconds."""
DEMO_TIMEOUT = 60.0
REPLY_TIMEOUT = 20.0
DEMO_KEY = "sk-liveloop-demo"


class DemoError(LiveloopError):
    """The demo could not run or did not finish; the message says why in one line."""


@dataclass
class DemoResult:
    """What the demo saw: the transcript entries and the bookings the tool made."""

    entries: list[dict[str, Any]]
    bookings: list[dict[str, Any]]


async def _replies(follower: Follower, count: int) -> None:
    try:
        await follower.wait_for_replies(count, REPLY_TIMEOUT)
    except TimeoutError:
        raise DemoError(f"no reply from the assistant within {REPLY_TIMEOUT:.0f} s") from None


async def _listen(session: Session) -> None:
    async for _ in session.audio_out():
        pass


async def run_demo(
    *,
    transport: str = "websocket",
    live: bool = False,
    as_json: bool = False,
    phone: str | None = None,
    record: str | os.PathLike[str] | None = None,
) -> DemoResult:
    """Run the concierge demo and print it; raises :class:`DemoError` with the cause.

    ``phone`` (``"twilio"`` or ``"sip"``) runs it as a phone call through that path. With
    ``record`` the session is recorded there (see :mod:`liveloop.recording`), and the caller
    and the emulator run in real time so the recording sounds like a real call.
    """
    try:
        if phone is not None:
            if record is not None:
                raise DemoError("--record records the WebSocket or WebRTC demo; drop --phone")
            return await asyncio.wait_for(_run_phone(phone, live, as_json), DEMO_TIMEOUT)
        return await asyncio.wait_for(
            _run(transport, live, as_json, record), DEMO_TIMEOUT * (2 if record else 1)
        )
    except TimeoutError:
        raise DemoError(f"the demo did not finish within {DEMO_TIMEOUT:.0f} s") from None


async def _run_phone(phone: str, live: bool, as_json: bool) -> DemoResult:
    if live:
        raise DemoError("--phone runs offline against the simulators; drop --live")
    from .phone import run_phone_demo, run_sip_demo

    demos = {"twilio": run_phone_demo, "sip": run_sip_demo}
    if phone not in demos:
        raise DemoError(f"no phone path {phone!r} to demonstrate (available: twilio, sip)")
    try:
        entries, bookings = await demos[phone](
            key=DEMO_KEY, speed=EMULATOR_SPEED, as_json=as_json, timeout=REPLY_TIMEOUT
        )
    except LiveloopError as exc:
        raise DemoError(str(exc)) from None
    return DemoResult(entries=entries, bookings=bookings)


_CONNECTING = {
    "track": "a WebRTC call (SDP offer and answer, ICE, DTLS; a few seconds)",
    "events": "a WebSocket session",
}


def _check_pair(transport: str) -> Capability:
    # Before anything starts: a pair that is not installed, or that cannot carry the demo's
    # caller (a sideband controls a call placed elsewhere), is one line of cause.
    capability = resolve("openai", transport)[2]
    if not (capability.features.audio_in and capability.features.audio_out):
        raise DemoError(
            f"openai/{transport} controls a call whose audio flows elsewhere (a browser or a"
            " phone), so the demo's caller cannot speak on it; run a handler on it with"
            " `liveloop serve module:app` and place the call from its page"
        )
    return capability


async def _run(
    transport: str, live: bool, as_json: bool, record: str | os.PathLike[str] | None
) -> DemoResult:
    capability = _check_pair(transport)
    transcript = Transcript(as_json=as_json)
    bookings = Bookings()

    def on_turn(turn: SessionTurn) -> None:
        transcript.add("caller", turn.text, f"({turn.channel})", channel=turn.channel)

    app = concierge_app(bookings, on_turn)
    async with AsyncExitStack() as stack:
        if live:
            if not os.environ.get("OPENAI_API_KEY"):
                raise DemoError(
                    "--live talks to OpenAI and needs OPENAI_API_KEY in the environment"
                )
            options: dict[str, Any] = {"transport": transport}
            transcript.info(f"liveloop demo: openai/{transport} against OpenAI")
        else:
            try:
                from liveloop_emulator import Emulator
            except ImportError:
                raise DemoError(
                    "the demo needs the bundled emulator: pip install liveloop-emulator"
                ) from None
            emulator = await stack.enter_async_context(
                Emulator(script=emulator_script(), speed=1.0 if record else EMULATOR_SPEED)
            )
            options = {"transport": transport, "api_key": DEMO_KEY, "base_url": emulator.base_url}
            transcript.info(
                f"liveloop demo: openai/{transport} against the bundled emulator "
                f"at {emulator.base_url} (the caller speaks in tone speech)"
            )
        transcript.info(f"connecting: {_CONNECTING.get(capability.features.media, 'opening')} ...")
        started = time.monotonic()
        if record is not None:
            options["record"] = record
            transcript.info(f"recording to {record}.wav and .jsonl, in real time")
        run = await stack.enter_async_context(app.start("concierge", **options))
        transcript.info(f"connected in {time.monotonic() - started:.1f} s; the handler runs")
        session = run.session
        follower = Follower(session, transcript, decode_audio=not live)
        watching = asyncio.create_task(follower.run())
        # The caller's ear: it takes the assistant's audio as it comes, so the session knows
        # each reply was heard and a caller speaking after one is not talking over it.
        listening = asyncio.create_task(_listen(session)) if session.features.audio_out else None
        try:
            await _replies(follower, 1)  # the greeting
            for number, line in enumerate(CALLER_LINES, start=2):
                if live:
                    await session.send_text(line)
                else:
                    from ..testing.voice import speak

                    await speak(session, line, pace=1.0 if record else None)
                await _replies(follower, number)
            await run.wait(REPLY_TIMEOUT)
        finally:
            watching.cancel()
            if listening is not None:
                listening.cancel()
        metrics = session.metrics
        latencies = metrics.turn_latencies_ms
        summary: dict[str, Any] = {
            "turns": len(CALLER_LINES),
            "tool_calls": metrics.tool_calls,
            "bookings": bookings.entries,
            "mean_turn_latency_ms": round(sum(latencies) / len(latencies), 1)
            if latencies
            else None,
            "tokens": metrics.total_tokens,
        }
        transcript.info(
            f"done: {summary['turns']} caller turns, {summary['tool_calls']} tool call(s), "
            f"{len(bookings.entries)} booking(s)"
            + (
                f", mean turn latency {summary['mean_turn_latency_ms']:.0f} ms" if latencies else ""
            ),
            summary=summary,
        )
    return DemoResult(entries=transcript.entries, bookings=bookings.entries)
