"""Who may call in: Twilio's request signatures, and a short-lived ticket per call.

``X-Twilio-Signature`` is checked with the ``twilio`` package's validator, over the URL as
Twilio requested it: the configured public URL (never the ``Host`` a proxy passes on), and
for the WebSocket upgrade its ``wss://`` (or ``ws://``) form with no parameters. The voice
webhook then issues a ticket that rides in the TwiML as a stream ``<Parameter>``; the
stream's ``start`` must present it (once, before it expires) before any audio is forwarded.
Tickets live in the server's store, so the webhook and the stream may reach different
workers: the one that takes a ticket first gets it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from liveloop_serve.store import Store

__all__ = ["TICKET_PARAMETER", "TICKET_TTL", "Signatures", "Ticket", "Tickets", "websocket_url"]

TICKET_PARAMETER = "liveloop_ticket"
TICKET_TTL = 30.0
"""Seconds between the voice webhook and the stream's ``start`` (Twilio connects at once)."""
_TOKEN = 24  # random bytes of a ticket (32 URL-safe characters)


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


class Tickets:
    """Single-use, short-lived tickets, kept in ``store`` (shared by the workers)."""

    def __init__(self, store: Store, ttl: float = TICKET_TTL) -> None:
        self.store = store
        self.ttl = ttl

    async def issue(
        self, handler: str, call_sid: str, account_sid: str, from_: str | None, to: str | None
    ) -> str:
        """A fresh ticket for the call."""
        token = secrets.token_urlsafe(_TOKEN)
        ticket = Ticket(handler, call_sid, account_sid, from_, to)
        await self.store.put_ticket(f"twilio:{token}", json.dumps(asdict(ticket)), self.ttl)
        return token

    async def redeem(self, token: object, call_sid: object) -> Ticket | None:
        """The ticket for ``token`` if it is live and for this call; it is used up either way."""
        if not isinstance(token, str) or not 0 < len(token) <= 2 * _TOKEN:
            return None
        data = await self.store.take_ticket(f"twilio:{token}")
        if data is None:
            return None
        ticket = Ticket(**json.loads(data))
        return ticket if ticket.call_sid == call_sid else None
