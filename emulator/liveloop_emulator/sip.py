"""SIP calls, as OpenAI Realtime answers them: a signed ``realtime.call.incoming`` webhook,
then ``accept`` / ``reject`` / ``refer`` / ``hangup`` on the call id.

``emu.sip.place_call(url, secret=...)`` plays the carrier and OpenAI's webhook sender: it
creates a pending ``rtc_…`` call and posts the webhook, signed the Standard Webhooks way
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``). An accepted call becomes a
headless call of the emulator (the sideband attaches with ``/v1/realtime?call_id=``) whose
caller is simulated: :meth:`SipCall.speak` feeds it tone speech in real time,
:meth:`SipCall.heard_text` decodes what the provider played to it, :meth:`SipCall.press`
sends keys (``input_audio_buffer.dtmf_event_received``), :meth:`SipCall.hang_up` ends it,
and ``refer_target`` says where ``/refer`` sent it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import tones
from .auth import bearer_token, openai_error_body
from .realtime import ProtocolError, merge_session
from .server import (
    DEFAULT_MODEL,
    ServerState,
    new_call,
    register_call,
    template_session,
)
from .server.state import state_of

if TYPE_CHECKING:
    from .webrtc import WebRTCCall

__all__ = ["SipCall", "SipCalls", "sip_routes"]

State = Literal["pending", "active", "rejected", "ended", "referred"]
_RATE = 48000  # the playout buffer plays PCM16 at 48 kHz (the WebRTC track rate)
_SPEECH_RATE = 24000  # what a call's microphone feeds the engine
_FRAME_MS = 20
_REFER_END_S = 0.2  # the OpenAI leg ends shortly after a refer


@dataclass
class SipCall:
    """One simulated SIP call (see the module docstring)."""

    id: str
    from_: str
    to: str
    headers: list[dict[str, str]]
    state: State = "pending"
    reject_status: int | None = None
    refer_target: str | None = None
    accepted_session: dict[str, Any] | None = None
    webhook_status: int | None = None
    heard: bytearray = field(default_factory=bytearray)
    """PCM16 48 kHz the caller heard (silence included), in real time."""
    live: WebRTCCall | None = field(default=None, repr=False)
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    async def speak(self, text: str, *, silence_ms: int = 1000) -> None:
        """The caller says ``text`` (tone speech, then silence), at real-time pace."""
        if self.live is None:
            raise RuntimeError(f"call {self.id} is {self.state}, not active")
        pcm = tones.encode(text, _SPEECH_RATE) + b"\x00\x00" * (_SPEECH_RATE * silence_ms // 1000)
        await self.live.speak(pcm, pace=1.0)

    async def press(self, digits: str) -> None:
        """The caller presses keys (one ``dtmf_event_received`` event each)."""
        if self.live is None:
            raise RuntimeError(f"call {self.id} is {self.state}, not active")
        for digit in digits:
            event = {
                "type": "input_audio_buffer.dtmf_event_received",
                "event": digit,
                "received_at": int(time.time()),
            }
            await self.live.send(event)
            await asyncio.sleep(0.05)

    async def hang_up(self) -> None:
        """The caller hangs up: the call ends, its sidebands close at once."""
        if self.live is not None:
            await self.live.hangup()
        self._set("ended")

    def heard_text(self) -> str:
        """The tone speech the caller heard, decoded."""
        return tones.decode(bytes(self.heard), _RATE)

    async def wait_heard(self, text: str, timeout: float = 15.0) -> str:
        """Wait until the caller heard ``text`` (sanitized); returns all it heard."""
        want = tones.sanitize(text)
        async with asyncio.timeout(timeout):
            while want not in (heard := self.heard_text()):
                self.changed.clear()
                await self.changed.wait()
                await asyncio.sleep(0.1)
        return heard

    async def wait_state(self, *states: State, timeout: float = 10.0) -> State:
        """Wait until the call is in one of ``states``."""
        async with asyncio.timeout(timeout):
            while self.state not in states:
                self.changed.clear()
                await self.changed.wait()
        return self.state

    def _set(self, state: State) -> None:
        self.state = state
        self.changed.set()


class SipCalls:
    """The SIP calls of one emulator, by call id."""

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self.calls: dict[str, SipCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def place_call(
        self,
        url: str,
        *,
        secret: str,
        from_: str = "+15550001111",
        to: str = "+15550002222",
        headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
        webhook_id: str | None = None,
        timestamp: datetime | None = None,
        signature: str | None = None,
        event_type: str = "realtime.call.incoming",
    ) -> SipCall:
        """A call rings: post its signed webhook to ``url``; returns the pending call
        (``webhook_status`` is the answer's status). ``webhook_id`` repeats a delivery,
        ``timestamp`` signs another time, ``signature`` replaces the signature header."""
        call_id = "rtc_" + secrets.token_hex(12)
        sip_headers = [
            {"name": "From", "value": f"sip:{from_}@sip.example.com"},
            {"name": "To", "value": f"sip:{to}@sip.example.com"},
            {"name": "Call-ID", "value": f"{secrets.token_hex(8)}@sip.example.com"},
            *({"name": name, "value": value} for name, value in headers),
        ]
        call = SipCall(call_id, from_, to, sip_headers)
        self.calls[call_id] = call
        call.webhook_status = await self.deliver(
            url,
            secret=secret,
            body=self.incoming_body(call, event_type),
            webhook_id=webhook_id,
            timestamp=timestamp,
            signature=signature,
        )
        return call

    @staticmethod
    def incoming_body(call: SipCall, event_type: str = "realtime.call.incoming") -> str:
        """The webhook's JSON body for ``call``."""
        event = {
            "object": "event",
            "id": "evt_" + secrets.token_hex(12),
            "type": event_type,
            "created_at": int(time.time()),
            "data": {"call_id": call.id, "sip_headers": call.headers},
        }
        return json.dumps(event)

    async def deliver(
        self,
        url: str,
        *,
        secret: str,
        body: str,
        webhook_id: str | None = None,
        timestamp: datetime | None = None,
        signature: str | None = None,
    ) -> int:
        """Post one signed delivery of ``body``; returns the HTTP status."""
        try:  # the `sip` extra: a plain emulator (the demo's) does without them
            import httpx
            from standardwebhooks.webhooks import Webhook
        except ImportError as exc:
            raise RuntimeError(
                f"SIP calls need {exc.name}: pip install 'liveloop-emulator[sip]'"
            ) from None
        msg_id = webhook_id or "wh_" + secrets.token_hex(12)
        when = timestamp or datetime.now(tz=UTC)
        signed = Webhook(secret).sign(msg_id, when, body)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": signature if signature is not None else signed,
            "content-type": "application/json",
            "user-agent": "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)",
        }
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(url, content=body.encode(), headers=headers)
        return response.status_code

    # -- what the REST routes do ------------------------------------------------------------

    async def accept(self, call: SipCall, session: dict[str, Any]) -> None:
        """``pending`` -> ``active``: the call becomes a headless call with ``session``."""
        model = session.get("model")
        live = new_call(
            self._state,
            model if isinstance(model, str) else DEFAULT_MODEL,
            {k: v for k, v in session.items() if k != "type"},
            headless=True,
        )
        # The SIP call's id is the call's id: sidebands attach with it.
        live.id = call.id
        live.session.call_id = call.id
        register_call(self._state, live)
        call.live = live
        call.accepted_session = session
        live.spawn(self._earpiece(call, live))
        call._set("active")

    async def _earpiece(self, call: SipCall, live: WebRTCCall) -> None:
        # The caller's side of the line: the playout buffer drained in real time, recorded.
        start = time.monotonic()
        frames = 0
        try:
            while not live.session.closed:
                await live.buffer.wait_fed()
                frame = live.buffer.next_frame()
                call.heard += frame
                frames += 1
                if frames % 5 == 0:
                    call.changed.set()
                wait = start + frames * _FRAME_MS / 1000 - time.monotonic()
                await asyncio.sleep(max(0.0, wait))
        finally:  # the call ended (its teardown cancels this task)
            if call.state == "active":
                call._set("ended")

    async def refer(self, call: SipCall, target: str) -> None:
        """Record the transfer; the OpenAI leg ends shortly after."""
        call.refer_target = target
        call._set("referred")
        await asyncio.sleep(_REFER_END_S)
        if call.live is not None:
            await call.live.hangup()

    def refer_later(self, call: SipCall, target: str) -> None:
        """Start :meth:`refer` in a task this registry owns (the answer does not wait)."""
        task = asyncio.ensure_future(self.refer(call, target))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Cancel the refers still pending."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)


def _error(status: int, message: str, code: str, param: str | None = None) -> Response:
    return JSONResponse(openai_error_body(message, code=code, param=param), status_code=status)


def sip_routes() -> list[Route]:
    """``accept``, ``reject`` and ``refer`` for SIP calls (``hangup`` is shared with
    WebRTC calls). They find the calls at ``app.state.sip``."""

    async def decide(request: Request) -> Response:
        state = state_of(request)
        sip: SipCalls = request.app.state.sip
        token = bearer_token(request.headers.get("authorization"))
        if state.keys.authenticate(token) is None:
            return _error(401, state.keys.describe_failure(token), "invalid_api_key")
        action = request.url.path.rsplit("/", 1)[-1]
        call = sip.calls.get(request.path_params["call_id"])
        if call is None or call.state in ("ended", "referred", "rejected"):
            return _error(
                404, "No call found with the given call_id.", "call_id_not_found", "call_id"
            )
        try:
            body: Any = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_json")
        if not isinstance(body, dict):
            return _error(400, "Invalid type for body: expected an object.", "invalid_type")
        if action in ("accept", "reject") and call.state != "pending":
            return _error(
                409, "A decision was already made for this call.", "decision_already_made"
            )
        if action == "accept":
            if body.get("type") != "realtime":
                return _error(
                    400, "Missing required parameter: 'type'.", "missing_required_parameter", "type"
                )
            try:
                merge_session(template_session(body), dict(body))
            except ProtocolError as exc:
                return _error(400, exc.message, exc.code or "invalid_value", exc.param)
            await sip.accept(call, body)
        elif action == "reject":
            status = body.get("status_code", 603)
            if not isinstance(status, int) or not 400 <= status <= 699:
                return _error(400, "Invalid 'status_code'.", "invalid_value", "status_code")
            call.reject_status = status
            call._set("rejected")
        else:
            target = body.get("target_uri")
            if call.state != "active":
                return _error(409, "The call is not active.", "call_not_active")
            if not isinstance(target, str) or not target.startswith(("tel:", "sip:", "sips:")):
                return _error(400, "Invalid 'target_uri'.", "invalid_value", "target_uri")
            sip.refer_later(call, target)
        return Response(status_code=200)

    path = "/v1/realtime/calls/{call_id}/"
    return [
        Route(path + action, decide, methods=["POST"]) for action in ("accept", "reject", "refer")
    ]
