"""Who may call in: Twilio's request signatures, and a short-lived ticket per call.

``X-Twilio-Signature`` is checked with the ``twilio`` package's validator, over the URL as
Twilio requested it: the configured public URL (never the ``Host`` a proxy passes on), and
for the WebSocket upgrade its ``wss://`` (or ``ws://``) form with no parameters. The voice
webhook then issues a ticket that rides in the TwiML as a stream ``<Parameter>``; the
stream's ``start`` must present it (once, before it expires) before any audio is forwarded.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from twilio.request_validator import RequestValidator

__all__ = ["TICKET_PARAMETER", "TICKET_TTL", "Signatures", "Ticket", "Tickets", "websocket_url"]

TICKET_PARAMETER = "liveloop_ticket"
TICKET_TTL = 30.0
"""Seconds between the voice webhook and the stream's ``start`` (Twilio connects at once)."""
_MAX_TICKETS = 10_000


def websocket_url(url: str) -> str:
    """``https://…`` as ``wss://…`` and ``http://…`` as ``ws://…``."""
    parts = urlsplit(url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


class Signatures:
    """Checks ``X-Twilio-Signature`` with the account's auth token."""

    def __init__(self, auth_token: SecretStr) -> None:
        self._validator = RequestValidator(auth_token.get_secret_value())

    def valid(self, url: str, params: dict[str, str], signature: str | None) -> bool:
        """Whether ``signature`` signs ``url`` and ``params`` (a missing one never does)."""
        if not signature:
            return False
        return bool(self._validator.validate(url, params, signature))


@dataclass(frozen=True)
class Ticket:
    """What the voice webhook learnt about a call, for its stream to pick up."""

    handler: str
    call_sid: str
    account_sid: str
    from_: str | None
    to: str | None
    expires: float


class Tickets:
    """Single-use, short-lived tickets, kept in this process."""

    def __init__(self, ttl: float = TICKET_TTL) -> None:
        self.ttl = ttl
        self._tickets: dict[str, Ticket] = {}

    def issue(
        self, handler: str, call_sid: str, account_sid: str, from_: str | None, to: str | None
    ) -> str:
        """A fresh ticket for the call."""
        now = time.monotonic()
        self._tickets = {k: t for k, t in self._tickets.items() if t.expires > now}
        if len(self._tickets) >= _MAX_TICKETS:
            raise OverflowError("too many calls waiting for their stream")
        token = secrets.token_urlsafe(24)
        self._tickets[token] = Ticket(handler, call_sid, account_sid, from_, to, now + self.ttl)
        return token

    def redeem(self, token: object, call_sid: object) -> Ticket | None:
        """The ticket for ``token`` if it is live and for this call; it is used up either way."""
        if not isinstance(token, str):
            return None
        ticket = self._tickets.pop(token, None)
        if ticket is None or ticket.expires <= time.monotonic() or ticket.call_sid != call_sid:
            return None
        return ticket
