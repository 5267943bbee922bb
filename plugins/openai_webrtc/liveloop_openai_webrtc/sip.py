"""Phone calls over OpenAI's SIP: ``POST /phone/openai`` receives ``realtime.call.incoming``.

The carrier's SIP trunk points at OpenAI; OpenAI posts a signed webhook for each call. The
signature is verified with ``OPENAI_WEBHOOK_SECRET`` by the ``standardwebhooks`` package
(Standard Webhooks, with its five-minute timestamp tolerance), each delivery is taken once
by its ``webhook-id`` (the server store's de-duplication, shared by every worker), and the
event is dispatched on its ``type``: other types are acknowledged and ignored. The app's
``route_call`` (or the only handler) picks the handler; the call is accepted at
``/realtime/calls/{call_id}/accept`` with the handler's session configuration, or rejected
(603 when no handler takes it, 486 when the server is full). The handler then runs over the
sideband by ``call_id``; the call is hung up when it returns or fails; ``transfer()`` refers
the call (``/refer``). Any failure before the accept is answered by a reject.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import liveloop
from liveloop import LiveloopError, get_logger
from liveloop_openai.session_config import session_update_payload
from liveloop_serve import Server, error

from .browser import SIDEBAND_TRANSPORT, BrowserCalls
from .plugin import SIP_WEBHOOK_PATH

__all__ = ["KIND", "SECRET_ENV", "SipCalls"]

KIND = "openai/sip"
SECRET_ENV = "OPENAI_WEBHOOK_SECRET"
DEDUP_TTL = 72 * 3600.0  # OpenAI retries a delivery for up to 72 hours
INCOMING = "realtime.call.incoming"
_CALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_SIP_USER = re.compile(r"^<?sips?:([^@;>]+)")

_log = get_logger("liveloop.serve")


def _number(value: str | None) -> str | None:
    """``sip:+1555…@host`` (or ``"Name" <sip:…>``) -> ``+1555…``; else the value as is."""
    if value is None:
        return None
    found = _SIP_USER.search(value.split(">", 1)[0].split("<")[-1].strip())
    return found.group(1) if found else value


@dataclass
class SipControl:
    """``session.transfer()`` and ``session.hang_up()`` on an accepted SIP call."""

    calls: SipCalls
    call_id: str

    async def transfer(self, target: str) -> None:
        if not target.startswith(("tel:", "sip:", "sips:")):
            raise LiveloopError(f"transfer() on a SIP call needs a tel: or sip: URI: {target!r}")
        response = await self.calls.post(self.call_id, "refer", {"target_uri": target})
        if response is None or not response.is_success:
            status = "unreachable" if response is None else f"HTTP {response.status_code}"
            raise LiveloopError(f"the provider refused the transfer ({status})")

    async def hang_up(self) -> None:
        await self.calls.provider.provider_hangup(self.call_id)


class SipCalls:
    """The SIP webhook route over one :class:`~liveloop_serve.Server`."""

    def __init__(self, server: Server, secret: str) -> None:
        self.server = server
        self.provider = BrowserCalls(server)  # the key, the endpoint, the hang-up
        self._webhook = Webhook(secret)
        server.registry.register_hangup(KIND, self.provider.provider_hangup)

    def routes(self) -> list[BaseRoute]:
        """The routes, for ``RouteSpec.routes``."""
        return [Route(SIP_WEBHOOK_PATH, self.webhook, methods=["POST"])]

    async def post(
        self, call_id: str, action: str, body: dict[str, Any] | None = None
    ) -> httpx.Response | None:
        """``POST /realtime/calls/{call_id}/{action}`` at the provider (``None``: unreachable)."""
        url = f"{self.provider.calls_url}/{call_id}/{action}"
        try:
            return await self.server.http().post(
                url, json=body or {}, headers=self.provider._headers()
            )
        except httpx.HTTPError as exc:
            _log.warning("the provider could not be reached", action=action, error=str(exc))
            return None

    async def webhook(self, request: Request) -> Response:
        """``POST /phone/openai``: verify, de-duplicate, dispatch."""
        body = await self.server.read_body(request, "application/json", what="the webhook")
        if isinstance(body, Response):
            return body
        try:
            event = self._webhook.verify(body, dict(request.headers))
        except WebhookVerificationError as exc:
            _log.warning("SIP webhook refused: signature or timestamp invalid", error=str(exc))
            return error(400, "invalid_signature", "the webhook signature does not verify")
        delivery = request.headers.get("webhook-id", "")
        if not await self.server.store.first_delivery(f"openai:{delivery}", DEDUP_TTL):
            _log.info("SIP webhook delivered again; already handled", webhook_id=delivery)
            return JSONResponse({"ok": True, "duplicate": True})
        kind = event.get("type") if isinstance(event, dict) else None
        if kind != INCOMING:
            _log.info("SIP webhook of another type acknowledged and ignored", type=str(kind))
            return JSONResponse({"ok": True, "ignored": True})
        await self._incoming(event.get("data"))
        return JSONResponse({"ok": True})

    async def _incoming(self, data: Any) -> None:
        call_id = data.get("call_id") if isinstance(data, dict) else None
        if not isinstance(call_id, str) or not _CALL_ID.match(call_id):
            _log.warning("SIP webhook without a usable call id; ignored")
            return
        headers = tuple(
            (str(h.get("name", "")), str(h.get("value", "")))
            for h in (data.get("sip_headers") or [])
            if isinstance(h, dict)
        )
        call = liveloop.PhoneCall(channel="sip", call_id=call_id, headers=headers)
        call = call.model_copy(
            update={
                "from_": _number(call.header("From")),
                "to": _number(call.header("To")),
                "carrier_ids": {"sip_call_id": call.header("Call-ID") or ""},
            }
        )
        try:
            handler = await self.server.app.route(call)
        except Exception:
            _log.exception("route_call raised; rejecting the call")
            handler = None
        if handler is None:
            await self._reject(call_id, 603, "no handler takes the call")
            return
        slot = await self.server.reserve(f"sip:{call_id}")
        if isinstance(slot, Response):
            await self._reject(call_id, 486, "the server is full or draining")
            return
        started = False
        try:
            payload = {"type": "realtime", **session_update_payload(handler.config())}
            response = await self.post(call_id, "accept", payload)
            if response is None or not response.is_success:
                status = None if response is None else response.status_code
                await self._reject(call_id, 603, f"the accept failed ({status})")
                return
            overrides: dict[str, Any] = {
                "transport": SIDEBAND_TRANSPORT,
                "call_id": call_id,
                "api_key": self.provider._key,
                "base_url": self.provider.base_url,
                "reconnect": None,  # the provider keeps the call; no replay on a new link
                "call": call,
                "call_control": SipControl(self, call_id),
            }
            await self.server.registry.start(
                slot, handler, kind=KIND, provider_call_id=call_id, overrides=overrides
            )
            started = True
        except Exception as exc:
            _log.warning("SIP call setup failed", error=f"{type(exc).__name__}: {exc}")
            await self._reject(call_id, 603, "setup failed")
        finally:
            if not started:
                await self.server.registry.abandon(slot)

    async def _reject(self, call_id: str, status: int, why: str) -> None:
        _log.info("SIP call rejected", call_id=call_id, status=status, reason=why)
        await self.post(call_id, "reject", {"status_code": status})


def sip_routes(server: Server) -> list[BaseRoute]:
    """The SIP webhook route, when ``OPENAI_WEBHOOK_SECRET`` is set (else none, logged)."""
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        _log.warning("POST /phone/openai not offered: set OPENAI_WEBHOOK_SECRET to verify webhooks")
        return []
    return SipCalls(server, secret).routes()
