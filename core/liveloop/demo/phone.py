"""``liveloop demo --phone twilio``: the concierge answers a phone call, offline.

The bundled emulator plays the provider; the concierge runs behind the Twilio routes of
``liveloop serve`` (liveloop-twilio) on 127.0.0.1; the simulated Twilio caller from
``liveloop.testing.phone`` rings the number's webhook (signed), streams its lines as µ-law
tone speech, and hears the assistant's replies, which are decoded from what it heard.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from ..errors import LiveloopError
from ..specs import ProviderSpec
from ..turns import SessionTurn
from .concierge import CALLER_LINES, Bookings, concierge_app, emulator_script
from .transcript import Transcript

__all__ = ["run_phone_demo"]

DEMO_TOKEN = "liveloop-demo-twilio-token"  # a local stand-in for TWILIO_AUTH_TOKEN, not a secret
QUIET_S = 0.8  # a reply has ended when the caller heard nothing more for this long
REPLY_TIMEOUT = 20.0


async def run_phone_demo(
    spec: ProviderSpec, *, speed: float, as_json: bool, timeout: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run the concierge over a bridged Twilio call, on provider ``spec`` (its default
    transport) played by the bundled emulator; returns (transcript, bookings)."""
    if spec.emulator is None:
        raise LiveloopError(f"provider {spec.name} cannot run on the bundled emulator")
    try:
        from starlette.applications import Starlette

        from liveloop_emulator import Emulator
        from liveloop_serve import serving
        from liveloop_twilio.routes import TwilioRoutes

        from ..testing.phone import TwilioCaller
    except ImportError as exc:
        raise LiveloopError(
            "the phone demo needs liveloop-twilio, liveloop-serve and liveloop-emulator: "
            f"pip install liveloop-twilio liveloop-emulator ({exc.name} is missing)"
        ) from None

    transcript = Transcript(as_json=as_json)
    bookings = Bookings()

    def on_turn(turn: SessionTurn) -> None:
        transcript.add("caller", turn.text, f"({turn.channel}, heard by the bridge)")

    app = concierge_app(bookings, on_turn)
    async with AsyncExitStack() as stack:
        emulator = await stack.enter_async_context(Emulator(script=emulator_script(), speed=speed))
        options = spec.emulator.options(emulator)
        routes = TwilioRoutes(app, auth_token=DEMO_TOKEN, session_options=options)
        stack.push_async_callback(routes.aclose)
        url = await stack.enter_async_context(serving(Starlette(routes=routes.routes())))
        webhook = f"{url}/phone/twilio/concierge"
        transcript.info(
            f"liveloop demo --phone twilio: a call to {webhook} (signed), bridged to "
            f"{spec.name}/{spec.defaults.get('transport')} on the bundled emulator with µ-law "
            "passed through"
        )
        caller = await stack.enter_async_context(TwilioCaller(webhook, auth_token=DEMO_TOKEN))
        since = await _reply(caller, transcript, 0.0, timeout)  # the greeting
        shown = 0
        for line in CALLER_LINES:
            await caller.speak(line)
            since = await _reply(caller, transcript, since, timeout)
            for entry in bookings.entries[shown:]:
                transcript.add("tool", f"book_table -> {entry}", "(ran once, on the server)")
            shown = len(bookings.entries)
        try:
            await asyncio.wait_for(caller.closed.wait(), timeout)
        except TimeoutError:
            raise LiveloopError("the concierge did not end the call") from None
        transcript.info(
            f"done: {len(CALLER_LINES)} caller turns, {len(bookings.entries)} booking(s); "
            f"the caller heard {caller.played_ms / 1000:.1f} s of audio, "
            f"{len(caller.echoed)} marks echoed; the handler hung up",
            bookings=bookings.entries,
        )
    return transcript.entries, bookings.entries


async def _reply(caller: Any, transcript: Transcript, since: float, timeout: float) -> float:
    """Wait for the assistant's next reply to be heard in full; print it; return its end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        heard = [h for h in caller.heard if h.at > since]
        if heard and caller.now() - heard[-1].at >= QUIET_S:
            break
        if caller.closed.is_set() and heard:
            break
        if loop.time() > deadline:
            raise LiveloopError(f"no reply heard within {timeout:.0f} s")
        await asyncio.sleep(0.05)
    end: float = heard[-1].at
    transcript.add("assistant", caller.heard_text(since + 0.001), "(heard on the phone)")
    return end


DEMO_SECRET = "whsec_bGl2ZWxvb3AtZGVtby1zaXAtd2ViaG9vay1zZWNyZXQ="  # local stand-in, not a secret
_PCM_RATE = 48000  # what the emulator's SIP caller hears: PCM16 at 48 kHz


async def run_sip_demo(
    spec: ProviderSpec, *, key: str, speed: float, as_json: bool, timeout: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run the concierge on a SIP call the emulator places for provider ``spec``, through
    the routes of the plugin that answers its SIP webhook; returns (transcript, bookings)."""
    from ..plugins import get_plugin_manager

    webhooks = [
        route.spec.sip
        for route in get_plugin_manager().routes()
        if route.spec.sip is not None and route.spec.sip.provider == spec.name
    ]
    if not webhooks:
        raise LiveloopError(
            f"no installed plugin answers {spec.name}'s SIP calls (see `liveloop plugins`)"
        )
    webhook = webhooks[0]
    try:
        from liveloop_emulator import Emulator
        from liveloop_serve import create_app, serving

        from ..specs import RouteSpec
    except ImportError as exc:
        raise LiveloopError(
            f"the SIP demo needs liveloop-serve and liveloop-emulator ({exc.name} is missing)"
        ) from None

    transcript = Transcript(as_json=as_json)
    bookings = Bookings()

    def on_turn(turn: SessionTurn) -> None:
        transcript.add("caller", turn.text, f"({turn.channel}, transcribed by the provider)")

    app = concierge_app(bookings, on_turn)
    routes = RouteSpec(
        name=f"{spec.name}-sip-demo", routes=lambda server: webhook.routes(server, DEMO_SECRET)
    )
    async with AsyncExitStack() as stack:
        emulator = await stack.enter_async_context(
            Emulator(script=emulator_script(), speed=speed, api_keys=[key])
        )
        asgi = create_app(
            app,
            routes=[routes],
            api_key=key,
            provider_base_url=emulator.base_url,
            insecure_dev=True,
        )
        url = await stack.enter_async_context(serving(asgi))
        transcript.info(
            f"liveloop demo --phone sip: the emulator rings {url}{webhook.path} with a "
            f"signed {spec.name} call webhook; the handler runs over the sideband by call id"
        )
        call = await emulator.sip.place_call(f"{url}{webhook.path}", secret=DEMO_SECRET)
        if call.state != "active":
            raise LiveloopError(f"the call was not accepted (it is {call.state})")
        since = await _sip_reply(call, transcript, 0, timeout)  # the greeting
        shown = 0
        for line in CALLER_LINES:
            await call.speak(line)
            since = await _sip_reply(call, transcript, since, timeout)
            for entry in bookings.entries[shown:]:
                transcript.add("tool", f"book_table -> {entry}", "(ran once, on the server)")
            shown = len(bookings.entries)
        try:
            await call.wait_state("ended", timeout=timeout)
        except TimeoutError:
            raise LiveloopError("the concierge did not end the call") from None
        transcript.info(
            f"done: {len(CALLER_LINES)} caller turns, {len(bookings.entries)} booking(s); "
            "the handler hung up the call",
            bookings=bookings.entries,
        )
    return transcript.entries, bookings.entries


async def _sip_reply(call: Any, transcript: Transcript, since: int, timeout: float) -> int:
    """Wait until the caller heard a reply and then quiet; print it; return where it ended."""
    from liveloop_emulator import tones

    quiet = int(QUIET_S * _PCM_RATE) * 2
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        heard = bytes(call.heard[since:])
        spoke = heard.count(0) < len(heard)
        if spoke and len(heard) > quiet and heard[-quiet:].count(0) == quiet:
            break
        if spoke and call.state != "active":
            break  # the call ended right after the reply
        if loop.time() > deadline:
            raise LiveloopError(f"no reply heard within {timeout:.0f} s")
        await asyncio.sleep(0.05)
    transcript.add("assistant", tones.decode(heard, _PCM_RATE), "(heard on the phone)")
    return since + len(heard)
