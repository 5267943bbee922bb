"""The routes ``liveloop serve`` offers for Twilio: a number's voice webhook, and its stream.

``POST /phone/twilio/{name}`` answers with TwiML that connects a bidirectional media stream
to ``/phone/twilio/{name}/stream`` on the public URL, carrying a single-use ticket as a
stream ``<Parameter>``. The stream's WebSocket runs handler ``name`` (or the one the app's
``route_call`` picks) on a provider session through a :class:`~liveloop_twilio.bridge.Bridge`.
Signatures are checked on the webhook and on the upgrade, and the ticket on ``start``,
before any provider session is opened; ``insecure_dev`` turns the checks off.

Under ``liveloop serve`` the state workers share goes through the server's store: tickets
(the webhook and the stream may reach different workers), one stream per call (a retried
webhook or a replayed ``start`` never runs a handler twice), and each live call, so any
worker can hang it up: the stream's status callback (``/phone/twilio/{name}/status``,
``stream-stopped`` or ``stream-error``) ends the call on the worker that holds its stream,
and the calls of a worker that died are hung up through Twilio's REST API by the others.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from twilio.twiml.voice_response import Connect, VoiceResponse

import liveloop
from liveloop import get_logger
from liveloop.log import bind_context

from .audio import CALL_FORMAT, Transcoder
from .bridge import Bridge, run_until_first
from .rest import CarrierError, TwilioRest
from .security import TICKET_PARAMETER, Signatures, Ticket, Tickets, websocket_url

if TYPE_CHECKING:
    from liveloop_serve.registry import Call
    from liveloop_serve.store import Store

__all__ = ["TwilioCall", "TwilioRoutes"]

MAX_WEBHOOK_BYTES = 16 * 1024
START_TIMEOUT = 10.0
HANGUP_TIMEOUT = 3.0
HANDLER_GRACE = 1.0  # after a hang-up, for the handler to see SessionClosed and end
STREAM_ONCE_TTL = 24 * 3600.0  # a call's stream starts once; calls are shorter than a day
KIND = "twilio"
"""The kind of call ``liveloop serve``'s registry knows these calls by (hang-ups by kind)."""
_ENDED = {"stream-stopped", "stream-error"}
_SID = re.compile(r"^(AC|CA|MZ)[0-9a-f]{32}$")
_REJECTED = "Sorry, this number cannot take your call right now. Goodbye."
_XML = "application/xml"

_log = get_logger("liveloop.twilio")


@dataclass
class TwilioCall:
    """The call control behind ``session.transfer()`` / ``session.hang_up()`` on a stream."""

    call_sid: str
    bridge: Bridge
    rest: TwilioRest | None
    http: httpx.AsyncClient
    hung_up: bool = False
    transfers: list[str] = field(default_factory=list)

    async def transfer(self, target: str) -> None:
        if self.rest is None:
            raise liveloop.LiveloopError(
                "transfer() on a Twilio call needs the account's REST credentials: set "
                "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN on the server"
            )
        await self.rest.redirect(self.http, self.call_sid, target)
        self.transfers.append(target)

    async def hang_up(self) -> None:
        if self.hung_up:
            return
        self.hung_up = True
        if self.rest is not None:
            try:
                await self.rest.hang_up(self.http, self.call_sid)
            except CarrierError as exc:
                _log.warning("hanging up through Twilio failed; closing the stream", error=str(exc))
        await self.bridge.close()


class TwilioRoutes:
    """State and handlers of the Twilio routes for ``app``.

    ``public_url`` is the server's URL as Twilio reaches it (``https://…``); signatures are
    checked against it, and the TwiML points the stream at its ``wss://`` form. Without it,
    the request's own URL is used (only right without a proxy in front). ``auth_token``
    (``TWILIO_AUTH_TOKEN``) checks signatures; with ``account_sid`` it also enables REST
    hang-up and transfer. ``session_options`` go to every call's session (provider key,
    base URL). ``insecure_dev`` admits unsigned requests and streams without a ticket.
    """

    def __init__(
        self,
        app: liveloop.App,
        *,
        public_url: str | None = None,
        auth_token: str | SecretStr | None = None,
        account_sid: str | None = None,
        api_base: str | None = None,
        insecure_dev: bool = False,
        session_options: dict[str, Any] | None = None,
        http_client: httpx.AsyncClient | None = None,
        server: Any = None,
        store: Store | None = None,
    ) -> None:
        token = SecretStr(auth_token) if isinstance(auth_token, str) else auth_token
        if token is None and not insecure_dev:
            raise liveloop.LiveloopError(
                "the Twilio routes need TWILIO_AUTH_TOKEN to check Twilio's signatures "
                "(or --insecure-dev for local use)"
            )
        self.app = app
        self.public_url = public_url.rstrip("/") if public_url else None
        self.insecure_dev = insecure_dev
        self.signatures = Signatures(token) if token is not None else None
        self.rest = (
            TwilioRest(account_sid, token, api_base or "https://api.twilio.com")
            if account_sid and token is not None
            else None
        )
        self.session_options = dict(session_options or {})
        self.server = server  # liveloop serve's Server: caps, registry, store (None: alone)
        if store is None:
            from liveloop_serve.store import MemoryStore

            store = server.store if server is not None else MemoryStore()
        self.store = store
        self.tickets = Tickets(store)
        self.calls: dict[str, TwilioCall] = {}
        """This worker's bridged calls by call SID."""
        self._http = http_client or httpx.AsyncClient()
        self._own_http = http_client is None
        if server is not None:
            server.registry.register_hangup(KIND, self.hang_up)

    @classmethod
    def from_server(cls, server: Any) -> TwilioRoutes:
        """The routes for ``liveloop serve``'s ``server``: its app, public URL, provider
        settings and caps, with Twilio's credentials from the environment
        (``TWILIO_AUTH_TOKEN``; ``TWILIO_ACCOUNT_SID`` for REST hang-up and transfer;
        ``TWILIO_API_BASE`` to point REST at another endpoint)."""
        options: dict[str, Any] = {}
        if server.api_key is not None:
            options["api_key"] = server.api_key
        if server.provider_base_url is not None:
            options["base_url"] = server.provider_base_url
        return cls(
            server.app,
            public_url=server.public_url,
            auth_token=os.environ.get("TWILIO_AUTH_TOKEN") or None,
            account_sid=os.environ.get("TWILIO_ACCOUNT_SID") or None,
            api_base=os.environ.get("TWILIO_API_BASE") or None,
            insecure_dev=server.insecure_dev,
            session_options=options,
            http_client=server.http(),
            server=server,
        )

    def routes(self) -> list[BaseRoute]:
        """The routes to mount on ``liveloop serve``."""
        return [
            Route("/phone/twilio/{name}", self.webhook, methods=["POST"]),
            WebSocketRoute("/phone/twilio/{name}/stream", self.stream),
            Route("/phone/twilio/{name}/status", self.status, methods=["POST"]),
        ]

    async def hang_up(self, call_sid: str) -> None:
        """End call ``call_sid``: here when this worker holds its stream, else through
        Twilio's REST API (when credentials are configured)."""
        local = self.calls.get(call_sid)
        if local is not None:
            await local.hang_up()
        elif self.rest is not None:
            try:
                await self.rest.hang_up(self._http, call_sid)
            except CarrierError as exc:
                _log.warning("hanging up through Twilio failed", error=str(exc))
        else:
            _log.warning("cannot hang up a call held elsewhere without TWILIO_ACCOUNT_SID")

    async def aclose(self) -> None:
        """Hang up every bridged call and release the HTTP client."""
        for call in list(self.calls.values()):
            await call.hang_up()
        if self._own_http:
            await self._http.aclose()

    def _base(self, url: Any) -> str:
        return self.public_url or f"{url.scheme}://{url.netloc}"

    # -- the voice webhook ------------------------------------------------------------------

    async def _signed_form(self, request: Request, what: str) -> dict[str, str] | Response:
        """The form Twilio posted, once its size, type and signature are checked."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            return Response("expected a form", status_code=415)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_WEBHOOK_BYTES:
                return Response("request too large", status_code=413)
        params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if self.signatures is not None and not self.insecure_dev:
            url = self._base(request.url) + request.url.path
            if request.url.query:
                url += "?" + request.url.query
            if not self.signatures.valid(url, params, request.headers.get("x-twilio-signature")):
                name = request.path_params["name"]
                _log.warning(f"{what} refused: bad X-Twilio-Signature", handler=name)
                return Response("invalid signature", status_code=403)
        return params

    async def webhook(self, request: Request) -> Response:
        """``POST /phone/twilio/{name}``: TwiML connecting the call's stream, or a refusal."""
        params = await self._signed_form(request, "voice webhook")
        if isinstance(params, Response):
            return params
        name = request.path_params["name"]
        call_sid, account_sid = params.get("CallSid", ""), params.get("AccountSid", "")
        if not _SID.match(call_sid) or not _SID.match(account_sid):
            return Response("missing CallSid/AccountSid", status_code=400)
        call = liveloop.PhoneCall(
            channel="twilio",
            from_=params.get("From"),
            to=params.get("To"),
            carrier_ids={"call_sid": call_sid, "account_sid": account_sid},
        )
        handler = await self.app.route(call, name)
        if handler is None:
            _log.info("call rejected: no handler for it", handler=name, call_sid=call_sid)
            refusal = VoiceResponse()
            refusal.say(_REJECTED)
            refusal.hangup()
            return Response(str(refusal), media_type=_XML)
        ticket = await self.tickets.issue(handler.name, call_sid, account_sid, call.from_, call.to)
        base = f"{self._base(request.url)}/phone/twilio/{name}"
        connect = Connect()
        stream = connect.stream(
            url=websocket_url(f"{base}/stream"), status_callback=f"{base}/status"
        )
        stream.parameter(name=TICKET_PARAMETER, value=ticket)
        twiml = VoiceResponse()
        twiml.append(connect)
        return Response(str(twiml), media_type=_XML)

    async def status(self, request: Request) -> Response:
        """``POST /phone/twilio/{name}/status``: the stream's status callback. A stopped or
        failed stream ends its call wherever it runs (routed through the store)."""
        params = await self._signed_form(request, "stream status callback")
        if isinstance(params, Response):
            return params
        call_sid, event = params.get("CallSid", ""), params.get("StreamEvent", "")
        if not _SID.match(call_sid):
            return Response("missing CallSid", status_code=400)
        if event in _ENDED:
            if event == "stream-error":
                _log.warning("Twilio reports a stream error", error=params.get("StreamError"))
            if call_sid in self.calls:
                await self.calls[call_sid].hang_up()
            elif self.server is not None:
                record = await self.store.get_call(_slot(call_sid))
                if record is not None:
                    await self.server.registry.end(record.id, record.owner, record.name)
        return Response(status_code=204)

    # -- the media stream -------------------------------------------------------------------

    async def stream(self, websocket: WebSocket) -> None:
        """``/phone/twilio/{name}/stream``: the call's media stream, bridged to a session."""
        name = websocket.path_params["name"]
        if self.signatures is not None and not self.insecure_dev:
            url = websocket_url(self._base(websocket.url) + websocket.url.path)
            if not self.signatures.valid(url, {}, websocket.headers.get("x-twilio-signature")):
                _log.warning("stream refused: bad X-Twilio-Signature on the upgrade", handler=name)
                await websocket.close(code=1008)  # before accept: HTTP 403
                return
        await websocket.accept()
        start = await _read_start(websocket)
        if start is None:
            await websocket.close(code=1008)
            return
        ticket = await self._ticket(start, name)
        if ticket is None:
            _log.warning("stream refused: missing, expired or reused call ticket", handler=name)
            await websocket.close(code=1008)
            return
        if not await self.store.first_delivery(f"twilio:stream:{ticket.call_sid}", STREAM_ONCE_TTL):
            _log.warning("stream refused: this call's stream started before", handler=name)
            await websocket.close(code=1008)
            return
        stream_sid = str(start.get("streamSid", ""))
        tracked = None
        if self.server is not None:
            slot = await self.server.reserve(f"twilio:{ticket.call_sid}", _slot(ticket.call_sid))
            if not isinstance(slot, str):
                _log.warning("stream refused: the server is full or draining", handler=name)
                await websocket.close(code=1013)  # try again later
                return
            registry = self.server.registry
            try:
                tracked = await registry.track(
                    slot, ticket.handler, kind=KIND, provider_call_id=ticket.call_sid
                )
            except BaseException:
                await registry.abandon(slot)
                raise
        try:
            with bind_context(call_sid=ticket.call_sid, handler=ticket.handler):
                await self._bridge(websocket, stream_sid, start, ticket, tracked)
        finally:
            if tracked is not None:
                await self.server.registry.untrack(tracked)

    async def _ticket(self, start: dict[str, Any], name: str) -> Ticket | None:
        params = start.get("customParameters")
        params = params if isinstance(params, dict) else {}
        ticket = await self.tickets.redeem(params.get(TICKET_PARAMETER), start.get("callSid"))
        if ticket is None and self.insecure_dev and name in self.app.handlers:
            call_sid = str(start.get("callSid", ""))
            ticket = Ticket(name, call_sid, str(start.get("accountSid", "")), None, None)
        return ticket

    async def _bridge(
        self,
        websocket: WebSocket,
        stream_sid: str,
        start: dict[str, Any],
        ticket: Ticket,
        tracked: Call | None,
    ) -> None:
        params = start.get("customParameters")
        parameters = {
            str(k): str(v)
            for k, v in (params.items() if isinstance(params, dict) else ())
            if k != TICKET_PARAMETER
        }
        call = liveloop.PhoneCall(
            channel="twilio",
            from_=ticket.from_,
            to=ticket.to,
            carrier_ids={
                "call_sid": ticket.call_sid,
                "account_sid": ticket.account_sid,
                "stream_sid": stream_sid,
            },
            parameters=parameters,
        )
        handler = self.app.handler(ticket.handler)
        options = {**handler.options, **self.session_options}
        formats = _formats(options)
        bridge = Bridge(websocket, stream_sid, Transcoder(*formats))
        control = TwilioCall(ticket.call_sid, bridge, self.rest, self._http)
        self.calls[ticket.call_sid] = control
        reader = asyncio.ensure_future(bridge.read_stream())
        try:
            overrides = {**self.session_options, "input_audio": formats[0]}
            overrides["output_audio"] = formats[1]
            async with self.app.start(
                handler.name, call=call, call_control=control, **overrides
            ) as run:
                if tracked is not None:
                    tracked.session = run.session  # a drain or a routed hang-up closes it
                await bridge.start(run.session)
                pump = bridge.pump(run.session.events)
                done = await run_until_first(run.wait(), asyncio.shield(reader), pump)
                if reader.done():
                    await run.session.close("the caller hung up")  # input() ends now
                    await asyncio.wait({run.task}, timeout=HANDLER_GRACE)
                elif not control.hung_up:
                    await control.hang_up()  # the handler returned (or failed)
                for task in done:
                    if not task.cancelled() and task.exception() is not None:
                        _log.warning("call ended by an error", error=str(task.exception()))
        except Exception as exc:
            _log.warning("call failed", error=f"{type(exc).__name__}: {exc}")
            await bridge.close(1011)
        finally:
            reader.cancel()
            await asyncio.wait({reader}, timeout=1.0)
            self.calls.pop(ticket.call_sid, None)
            _log.info("call ended", ended_by=bridge.ended_by or "server")


def _slot(call_sid: str) -> str:
    """The registry slot (and store record) of call ``call_sid``: any worker finds it."""
    return f"twilio-{call_sid}"


def _formats(options: dict[str, Any]) -> tuple[liveloop.AudioFormat, liveloop.AudioFormat]:
    """µ-law both ways when the pair takes it, else the handler's own formats."""
    provider = options.get("provider", "openai")
    transport = options.get("transport", "websocket")
    _, _, row = liveloop.plugin.resolve(provider, transport)
    if "g711_ulaw" in row.features.audio_formats:
        return CALL_FORMAT, CALL_FORMAT
    config = liveloop.SessionConfig.model_validate(
        {k: v for k, v in options.items() if k in ("input_audio", "output_audio")}
    )
    return config.input_audio, config.output_audio


async def _read_start(websocket: WebSocket) -> dict[str, Any] | None:
    """Twilio's ``start`` message (after ``connected``), or ``None``."""
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                text = await websocket.receive_text()
                message = json.loads(text)
                if not isinstance(message, dict):
                    return None
                if message.get("event") == "start":
                    start = message.get("start")
                    return start if isinstance(start, dict) else None
                if message.get("event") != "connected":
                    return None
    except (TimeoutError, ValueError, WebSocketDisconnect, RuntimeError):
        return None
