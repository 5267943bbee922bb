"""Twilio's REST API for a live call: hang it up, or redirect it (a transfer).

Both update the call resource (``POST /2010-04-01/Accounts/{AC}/Calls/{CA}.json``), with
the account's credentials as HTTP basic auth. The API base is configurable so tests and
the offline demo point it at a local double.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from pydantic import SecretStr
from twilio.twiml.voice_response import Dial, VoiceResponse

from liveloop import LiveloopError, get_logger

__all__ = ["DEFAULT_API_BASE", "CarrierError", "TwilioRest", "transfer_twiml"]

DEFAULT_API_BASE = "https://api.twilio.com"
TIMEOUT = 5.0
_CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")
_TARGET = re.compile(r"^(tel:)?\+?[0-9*#]{2,32}$|^sips?:[^\s<>\"']{3,256}$")

_log = get_logger("liveloop.twilio")


class CarrierError(LiveloopError):
    """Twilio refused (or could not be reached for) a call update."""


def transfer_twiml(target: str) -> str:
    """TwiML that dials ``target`` (``tel:+1…``, ``+1…`` or ``sip:…``)."""
    if not _TARGET.match(target):
        raise LiveloopError(f"not a phone number or sip: URI to transfer to: {target!r}")
    response = VoiceResponse()
    if target.startswith(("sip:", "sips:")):
        dial = Dial()
        dial.sip(target)
        response.append(dial)
    else:
        response.dial(target.removeprefix("tel:"))
    return str(response)


@dataclass(frozen=True)
class TwilioRest:
    """The calls API of one Twilio account."""

    account_sid: str
    auth_token: SecretStr
    api_base: str = DEFAULT_API_BASE

    async def update(self, client: httpx.AsyncClient, call_sid: str, form: dict[str, str]) -> bool:
        """Update call ``call_sid``; ``False`` when the call is already over (404)."""
        if not _CALL_SID.match(call_sid):
            raise CarrierError(f"not a Twilio call SID: {call_sid!r}")
        base = self.api_base.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}.json"
        auth = (self.account_sid, self.auth_token.get_secret_value())
        try:
            response = await client.post(url, data=form, auth=auth, timeout=TIMEOUT)
        except httpx.HTTPError as exc:
            raise CarrierError(f"Twilio could not be reached: {type(exc).__name__}") from None
        if response.status_code == 404:
            return False
        if not response.is_success:
            raise CarrierError(f"Twilio refused the call update: HTTP {response.status_code}")
        return True

    async def hang_up(self, client: httpx.AsyncClient, call_sid: str) -> None:
        """End the call (a call already over is not an error)."""
        if not await self.update(client, call_sid, {"Status": "completed"}):
            _log.debug("the call was already over", call_sid=call_sid)

    async def redirect(self, client: httpx.AsyncClient, call_sid: str, target: str) -> None:
        """Move the call to ``target`` (the media stream ends; the caller is dialled on)."""
        if not await self.update(client, call_sid, {"Twiml": transfer_twiml(target)}):
            raise CarrierError("the call is already over; there is nothing to transfer")
