"""The browser routes of ``liveloop serve`` (contributed through ``register_routes``).

The browser posts its SDP offer to ``POST /sessions/{name}/offer``. After the server's
checks (the caller, the rate, the body, the caps) this adds handler ``name``'s session
configuration and forwards both to the provider's ``POST /v1/realtime/calls`` with the
server's key. The SDP answer goes back to the browser (``201``,
``Location: /sessions/{name}/calls/{id}``), and the handler runs on the server over a
sideband WebSocket attached to the call (``openai/webrtc_sideband``): ``input()`` gets the
browser user's turns, ``say()`` speaks into the browser's audio, tools run on the server.
The browser never sees the key.

Also ``POST /sessions/{name}/calls/{id}/connected`` (the caller's peer connection is up;
unconfirmed calls are hung up after ``connect_timeout``),
``POST /sessions/{name}/calls/{id}/hangup`` (only by the caller that opened the call)
and ``POST /client_secrets/{name}`` (a short-lived ``ek_`` secret for apps whose browser
talks to the provider directly; the handler does not run then).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from liveloop import LiveloopError, get_logger
from liveloop.plugin import get_plugin_manager
from liveloop_openai.session_config import session_update_payload
from liveloop_serve import SECURITY_HEADERS, ServeError, Server, env_key, error

__all__ = ["KIND", "SIDEBAND_TRANSPORT", "BrowserCalls", "browser_routes", "check_offer"]

_log = get_logger("liveloop.serve")

PROVIDER = "openai"
SIDEBAND_TRANSPORT = "webrtc_sideband"
KIND = "openai/webrtc"
"""The kind of the calls these routes open (how the registry hangs them up)."""
_CALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def check_offer(sdp: str) -> str | None:
    """Why ``sdp`` is not a usable WebRTC audio offer, or ``None`` when it looks like one."""
    if not sdp.startswith("v=0"):
        return "the offer is not SDP (it must start with v=0)"
    lines = sdp.replace("\r\n", "\n").split("\n")
    if not any(line.startswith("m=audio ") for line in lines):
        return "the offer has no audio section (m=audio)"
    if any("\x00" in line for line in lines):
        return "the offer holds a NUL byte"
    return None


def _provider_message(response: httpx.Response) -> str:
    # For the log only (it is redacted there): providers may echo part of a key back.
    try:
        found = response.json().get("error") or {}
        return str(found.get("message") or found)[:300]
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"


class BrowserCalls:
    """The offer, hang-up and client-secret routes over one :class:`~liveloop_serve.Server`."""

    def __init__(self, server: Server) -> None:
        spec = get_plugin_manager().providers()[PROVIDER].spec
        key = server.api_key or env_key(spec.api_key_env)
        if key is None:
            raise ServeError(f"no provider key: set {spec.api_key_env} (or use --emulator)")
        base = (
            server.provider_base_url
            or (os.environ.get(spec.base_url_env) if spec.base_url_env else None)
            or spec.default_base_url
        )
        if base is None or urlsplit(base).scheme not in ("http", "https"):
            raise ServeError(f"the provider endpoint must be an http(s) URL (got {base!r})")
        self.server = server
        self.base_url = base.rstrip("/")
        # Not peer.calls_url: importing the peer loads aiortc, which a server never needs.
        self.calls_url = f"{self.base_url}/realtime/calls"
        self._key: SecretStr = key
        server.registry.register_hangup(KIND, self.provider_hangup)

    def routes(self) -> list[BaseRoute]:
        """The routes, for ``RouteSpec.routes``."""
        return [
            Route("/sessions/{name}/offer", self.offer, methods=["POST"]),
            Route("/sessions/{name}/calls/{id}/hangup", self.hangup, methods=["POST"]),
            Route("/sessions/{name}/calls/{id}/connected", self.connected, methods=["POST"]),
            Route("/client_secrets/{name}", self.client_secret, methods=["POST"]),
        ]

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._key.get_secret_value()}",
            "User-Agent": "liveloop-serve",
            **(extra or {}),
        }

    async def offer(self, request: Request) -> Response:
        """``POST /sessions/{name}/offer``: an SDP offer in, the provider's answer out."""
        server = self.server
        identity = await server.identify(request)
        if isinstance(identity, Response):
            return identity
        name = request.path_params["name"]
        handler = server.handler(name)
        if handler is None:
            return error(404, "not_found", "no such session handler")
        refused = await server.limit(identity)
        if refused is not None:
            return refused
        body = await server.read_body(request, "application/sdp", what="the offer")
        if isinstance(body, Response):
            return body
        try:
            sdp = body.decode("utf-8")
        except UnicodeDecodeError:
            return error(400, "invalid_offer", "the offer is not UTF-8 text")
        problem = check_offer(sdp)
        if problem is not None:
            return error(400, "invalid_offer", problem)
        slot = await server.reserve(identity)
        if isinstance(slot, Response):
            return slot
        started = False
        try:
            try:
                session_json = json.dumps(session_update_payload(handler.config()))
            except LiveloopError as exc:
                _log.error("the handler's session config cannot be sent", error=str(exc))
                return error(500, "bad_handler_config", "the session handler is misconfigured")
            answer = await self._post_offer(sdp, session_json)
            if isinstance(answer, Response):
                return answer
            content, call_id = answer
            overrides: dict[str, Any] = {
                "transport": SIDEBAND_TRANSPORT,
                "call_id": call_id,
                "api_key": self._key,
                "base_url": self.base_url,
                # A sideband attaches to a call the provider keeps: replaying the
                # conversation on a new link would duplicate it, so no reconnects.
                "reconnect": None,
            }
            await server.registry.start(
                slot,
                handler,
                kind=KIND,
                provider_call_id=call_id,
                overrides=overrides,
                connect_within=server.connect_timeout,
            )
            started = True
            return Response(
                content,
                status_code=201,
                media_type="application/sdp",
                headers={**SECURITY_HEADERS, "Location": f"/sessions/{name}/calls/{slot}"},
            )
        finally:
            if not started:
                await server.registry.abandon(slot)

    async def _post_offer(self, sdp: str, session_json: str) -> tuple[bytes, str] | Response:
        url = self.calls_url
        files = {
            "sdp": (None, sdp.encode(), "application/sdp"),
            "session": (None, session_json.encode(), "application/json"),
        }
        try:
            response = await self.server.http().post(
                url, files=files, headers=self._headers({"Accept": "application/sdp"})
            )
        except httpx.HTTPError as exc:
            _log.warning("the provider could not be reached", url=url, error=str(exc))
            return error(502, "provider_unreachable", "the provider could not be reached")
        location = response.headers.get("location", "")
        call_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not response.is_success or not response.text.startswith("v=0"):
            _log.warning(
                "the provider refused the call",
                status=response.status_code,
                detail=_provider_message(response),
            )
            if response.status_code == 400:
                return error(400, "offer_rejected", "the provider rejected the offer")
            return error(502, "provider_refused", "the provider did not accept the call")
        if not _CALL_ID.match(call_id):
            _log.warning("the provider's answer had no usable call id", location=location)
            return error(502, "provider_refused", "the provider did not accept the call")
        return response.content, call_id

    async def provider_hangup(self, call_id: str) -> None:
        """Hang up ``call_id`` at the provider (any worker can; failures are logged)."""
        url = f"{self.calls_url}/{call_id}/hangup"
        try:
            response = await self.server.http().post(url, headers=self._headers())
            if not response.is_success and response.status_code != 404:
                _log.warning("the provider refused the hangup", status=response.status_code)
        except httpx.HTTPError as exc:
            _log.warning("the hangup did not reach the provider", error=str(exc))

    async def hangup(self, request: Request) -> Response:
        """``POST /sessions/{name}/calls/{id}/hangup``: end a call this caller opened."""
        identity = await self.server.identify(request)
        if isinstance(identity, Response):
            return identity
        params = request.path_params
        # Someone else's call and no call at all look the same: no probing for ids.
        if not await self.server.registry.end(params["id"], identity, params["name"]):
            return error(404, "not_found", "no such call")
        return Response(status_code=204, headers=SECURITY_HEADERS)

    async def connected(self, request: Request) -> Response:
        """``POST /sessions/{name}/calls/{id}/connected``: the caller's peer connection is
        up. A call not confirmed within ``connect_timeout`` is hung up: an offer whose
        peer never connects must not hold a slot."""
        identity = await self.server.identify(request)
        if isinstance(identity, Response):
            return identity
        params = request.path_params
        if not await self.server.registry.confirm(params["id"], identity, params["name"]):
            return error(404, "not_found", "no such call")
        return Response(status_code=204, headers=SECURITY_HEADERS)

    async def client_secret(self, request: Request) -> Response:
        """``POST /client_secrets/{name}``: a short-lived ``ek_`` secret for a browser
        that talks to the provider directly (with handler ``name``'s session config)."""
        server = self.server
        identity = await server.identify(request)
        if isinstance(identity, Response):
            return identity
        handler = server.handler(request.path_params["name"])
        if handler is None:
            return error(404, "not_found", "no such session handler")
        refused = await server.limit(identity)
        if refused is not None:
            return refused
        payload = {
            "expires_after": {"anchor": "created_at", "seconds": server.secret_ttl},
            "session": session_update_payload(handler.config()),
        }
        url = f"{self.base_url}/realtime/client_secrets"
        try:
            response = await server.http().post(url, json=payload, headers=self._headers())
        except httpx.HTTPError as exc:
            _log.warning("the provider could not be reached", url=url, error=str(exc))
            return error(502, "provider_unreachable", "the provider could not be reached")
        try:
            body: Any = response.json() if response.is_success else {}
            value, expires_at = body["value"], int(body["expires_at"])
            if not isinstance(value, str) or not value.startswith("ek_"):
                raise ValueError("not an ek_ secret")
        except (ValueError, KeyError, TypeError):
            _log.warning(
                "the provider did not mint a client secret",
                status=response.status_code,
                detail=_provider_message(response),
            )
            return error(502, "provider_refused", "the provider did not mint a secret")
        return JSONResponse({"value": value, "expires_at": expires_at}, headers=SECURITY_HEADERS)


def browser_routes(server: Server) -> list[BaseRoute]:
    """``RouteSpec.routes`` of the browser calls: build them over ``server``."""
    return BrowserCalls(server).routes()
