"""The parts of a simulated Twilio call that are Twilio's rules, not the caller's behaviour:
the voice webhook's parameters, the TwiML ``<Connect><Stream>`` it must answer, ids, and
the playout buffer."""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree import ElementTree

__all__ = ["CallRefused", "Playout", "connected_stream", "new_sid", "webhook_params"]


class CallRefused(AssertionError):
    """The server refused the call (the webhook or the stream's WebSocket upgrade)."""

    def __init__(self, stage: str, status: int, body: str = "") -> None:
        super().__init__(f"the {stage} was refused: HTTP {status} {body[:200]}")
        self.stage = stage
        self.status = status
        self.body = body


def new_sid(prefix: str) -> str:
    """A Twilio-shaped id: ``prefix`` (``AC``, ``CA``, ``MZ``) and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def webhook_params(account_sid: str, call_sid: str, from_: str, to: str) -> dict[str, str]:
    """The form Twilio posts to a number's voice webhook for an incoming call."""
    return {
        "AccountSid": account_sid,
        "CallSid": call_sid,
        "From": from_,
        "To": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


def connected_stream(twiml: str) -> tuple[str, dict[str, str]] | None:
    """The stream URL and ``<Parameter>``s of the TwiML's ``<Connect><Stream>`` (``None``
    when it connects no stream); raises AssertionError where Twilio would refuse it."""
    root = ElementTree.fromstring(twiml)
    stream = root.find("./Connect/Stream")
    if stream is None:
        return None
    url = stream.get("url", "")
    parts = urlsplit(url)
    if parts.scheme not in ("wss", "ws") or parts.query:
        raise AssertionError(f"Twilio refuses this stream URL (31922/31923): {url!r}")
    if stream.get("track") not in (None, "inbound_track"):
        raise AssertionError("under <Connect> the track must be inbound_track (31941)")
    parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("./Parameter")}
    return url, parameters


@dataclass
class Playout:
    """Twilio's playout buffer: audio segments and mark names, drained at 8 bytes/ms."""

    queue: deque[bytes | str] = field(default_factory=deque)

    def pending_marks(self) -> list[str]:
        return [entry for entry in self.queue if isinstance(entry, str)]

    @property
    def has_audio(self) -> bool:
        return any(isinstance(entry, bytes) for entry in self.queue)
