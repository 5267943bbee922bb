"""``liveloop demo``: the concierge handler, a simulated caller, and the conversation printed.

Against the bundled emulator (default) the caller speaks its lines as tone speech and
the assistant's lines are decoded from the audio the caller receives; with ``live`` the
same handler runs against the provider's public endpoint (for OpenAI, with
``OPENAI_API_KEY``) and the caller's lines are sent as typed text. What is specific to a
provider (its key variable, how a session reaches the emulator) comes from its plugin.
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
from ..specs import ProviderSpec
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
    provider: str | None = None,
    transport: str | None = None,
    live: bool = False,
    as_json: bool = False,
    phone: str | None = None,
    record: str | os.PathLike[str] | None = None,
) -> DemoResult:
    """Run the concierge demo and print it; raises :class:`DemoError` with the cause.

    ``provider`` ``None`` is the provider a session naming none gets; ``transport``
    ``None`` is the provider's default transport. ``phone`` (``"twilio"`` or ``"sip"``) runs
    it as a phone call through that path. With ``record`` the session is recorded there
    (see :mod:`liveloop.recording`), and the caller and the emulator run in real time so
    the recording sounds like a real call.
    """
    try:
        if phone is not None:
            if record is not None:
                raise DemoError("--record records the WebSocket or WebRTC demo; drop --phone")
            spec, _, _ = _where(provider, transport)
            return await asyncio.wait_for(_run_phone(spec, phone, live, as_json), DEMO_TIMEOUT)
        return await asyncio.wait_for(
            _run(provider, transport, live, as_json, record), DEMO_TIMEOUT * (2 if record else 1)
        )
    except TimeoutError:
        raise DemoError(f"the demo did not finish within {DEMO_TIMEOUT:.0f} s") from None


async def _run_phone(spec: ProviderSpec, phone: str, live: bool, as_json: bool) -> DemoResult:
    if live:
        raise DemoError("--phone runs offline against the simulators; drop --live")
    from .phone import run_phone_demo, run_sip_demo

    if phone not in ("twilio", "sip"):
        raise DemoError(f"no phone path {phone!r} to demonstrate (available: twilio, sip)")
    try:
        if phone == "twilio":
            entries, bookings = await run_phone_demo(
                spec, speed=EMULATOR_SPEED, as_json=as_json, timeout=REPLY_TIMEOUT
            )
        else:
            entries, bookings = await run_sip_demo(
                spec, key=DEMO_KEY, speed=EMULATOR_SPEED, as_json=as_json, timeout=REPLY_TIMEOUT
            )
    except LiveloopError as exc:
        raise DemoError(str(exc)) from None
    return DemoResult(entries=entries, bookings=bookings)


_CONNECTING = {
    "track": "a WebRTC call (SDP offer and answer, ICE, DTLS; a few seconds)",
    "events": "a WebSocket session",
}


def _where(provider: str | None, transport: str | None) -> tuple[ProviderSpec, str, Capability]:
    # Before anything starts: a pair that is not installed, or that cannot carry the demo's
    # caller (a sideband controls a call placed elsewhere), is one line of cause.
    from ..matrix import default_provider
    from ..plugins import get_plugin_manager

    manager = get_plugin_manager()
    name = provider or default_provider(manager)
    registered = manager.providers().get(name)
    if registered is None:
        raise DemoError(f"provider {name} is not installed (see `liveloop plugins`)")
    spec = registered.spec
    chosen = transport or spec.defaults.get("transport")
    if not isinstance(chosen, str):
        raise DemoError(f"name a transport: provider {name} declares no default")
    capability = resolve(name, chosen, manager)[2]
    if not (capability.features.audio_in and capability.features.audio_out):
        raise DemoError(
            f"{name}/{chosen} controls a call whose audio flows elsewhere (a browser or a"
            " phone), so the demo's caller cannot speak on it; run a handler on it with"
            " `liveloop serve module:app` and place the call from its page"
        )
    return spec, chosen, capability


async def _run(
    provider: str | None,
    transport: str | None,
    live: bool,
    as_json: bool,
    record: str | os.PathLike[str] | None,
) -> DemoResult:
    spec, transport, capability = _where(provider, transport)
    pair = f"{spec.name}/{transport}"
    transcript = Transcript(as_json=as_json)
    bookings = Bookings()

    def on_turn(turn: SessionTurn) -> None:
        transcript.add("caller", turn.text, f"({turn.channel})", channel=turn.channel)

    app = concierge_app(bookings, on_turn)
    async with AsyncExitStack() as stack:
        options: dict[str, Any] = {"provider": spec.name, "transport": transport}
        if live:
            key = spec.api_key_env
            if key and not os.environ.get(key):
                raise DemoError(f"--live talks to {spec.name} and needs {key} in the environment")
            transcript.info(f"liveloop demo: {pair} against {spec.name}'s public endpoint")
        else:
            if spec.emulator is None:
                raise DemoError(f"provider {spec.name} cannot run on the bundled emulator")
            try:
                from liveloop_emulator import Emulator
            except ImportError:
                raise DemoError(
                    "the demo needs the bundled emulator: pip install liveloop-emulator"
                ) from None
            emulator = await stack.enter_async_context(
                Emulator(script=emulator_script(), speed=1.0 if record else EMULATOR_SPEED)
            )
            options = {**spec.emulator.options(emulator), **options}
            transcript.info(
                f"liveloop demo: {pair} against the bundled emulator "
                f"at {options.get('base_url')} (the caller speaks in tone speech)"
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
