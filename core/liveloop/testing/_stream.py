"""The pieces of the simulated Twilio caller that are not the caller: Twilio's playout
buffer, the TwiML it follows, the ids it makes up, what it reports."""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree import ElementTree

__all__ = [
    "FRAME_BYTES",
    "FRAME_MS",
    "RATE",
    "CallRefused",
    "Heard",
    "Playout",
    "follow_twiml",
    "sid",
]

FRAME_MS = 20
FRAME_BYTES = 160  # 20 ms of µ-law at 8 kHz
RATE = 8000


class CallRefused(AssertionError):
    """The server refused the call (the webhook or the stream's WebSocket upgrade)."""

    def __init__(self, stage: str, status: int, body: str = "") -> None:
        super().__init__(f"the {stage} was refused: HTTP {status} {body[:200]}")
        self.stage = stage
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Heard:
    """A piece of audio the caller heard: ``at`` seconds after the stream started, µ-law."""

    at: float
    audio: bytes


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class Playout:
    """Twilio's playout buffer: audio segments and mark names, drained at 8 bytes/ms."""

    queue: deque[bytes | str] = field(default_factory=deque)

    def pending_marks(self) -> list[str]:
        return [entry for entry in self.queue if isinstance(entry, str)]

    @property
    def has_audio(self) -> bool:
        return any(isinstance(entry, bytes) for entry in self.queue)


def follow_twiml(twiml: str) -> tuple[str | None, dict[str, str]]:
    """The stream URL and ``<Parameter>``s of ``<Connect><Stream>`` TwiML (``None``: no
    stream, the TwiML said something and hung up); AssertionError where Twilio refuses."""
    root = ElementTree.fromstring(twiml)
    stream = root.find("./Connect/Stream")
    if stream is None:
        return None, {}
    url = stream.get("url", "")
    parts = urlsplit(url)
    if parts.scheme not in ("wss", "ws") or parts.query:
        raise AssertionError(f"Twilio refuses this stream URL (31922/31923): {url!r}")
    if stream.get("track") not in (None, "inbound_track"):
        raise AssertionError("under <Connect> the track must be inbound_track (31941)")
    params = {p.get("name", ""): p.get("value", "") for p in stream.findall("./Parameter")}
    return url, params
