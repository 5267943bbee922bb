"""Phone calls: who called and how (``session.call``), and what a handler can do with them.

A server that answers phone calls (the SIP webhook, a carrier's media-streams bridge)
attaches a :class:`PhoneCall` and a :class:`CallControl` to the session before the handler
runs; ``session.transfer()`` and ``session.hang_up()`` act through the control. DTMF digits
arrive as :class:`~liveloop.events.Dtmf` events and, with ``dtmf_turns=True``, are collected
into turns (``channel="dtmf"``) ended by ``#`` or a pause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DTMF_DIGITS", "CallControl", "PhoneCall"]

DTMF_DIGITS = frozenset("0123456789*#ABCD")
"""The keys of a phone keypad (A-D exist on some)."""


class PhoneCall(BaseModel):
    """A phone call a session serves.

    - ``channel``: ``"sip"`` (the provider answered the SIP call; media goes between the
      caller and the provider) or ``"twilio"`` (a carrier media stream bridged through this
      server).
    - ``from_`` / ``to``: the caller's and the called number or SIP URI, as the carrier or
      the SIP headers tell them (``None`` when not given). Untrusted: callers can spoof them.
    - ``call_id``: the provider's id of the call (SIP: ``rtc_…``), ``None`` when the provider
      sees no call (a bridged stream).
    - ``carrier_ids``: the carrier's ids (Twilio: ``call_sid``, ``stream_sid``,
      ``account_sid``; SIP: the ``Call-ID`` header as ``sip_call_id``).
    - ``headers``: the SIP INVITE's headers (name, value) in order, duplicates kept;
      ``parameters``: the stream's custom parameters. Both untrusted metadata, never proof
      of identity.
    """

    # defer_build: built for the first phone call, not at import (every session imports it).
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    channel: Literal["sip", "twilio"]
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    call_id: str | None = None
    carrier_ids: dict[str, str] = Field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()
    parameters: dict[str, str] = Field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """The first SIP header called ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@runtime_checkable
class CallControl(Protocol):
    """What a phone path does for ``session.transfer()`` and ``session.hang_up()``.

    Both raise :class:`~liveloop.LiveloopError` with the cause when the carrier or the
    provider refuses; ``hang_up`` on a call that already ended does nothing.
    """

    async def transfer(self, target: str) -> None:
        """Hand the call to ``target`` (a ``tel:`` or ``sip:`` URI, or a phone number)."""
        ...

    async def hang_up(self) -> None:
        """End the call."""
        ...


class DtmfTurns:
    """Collects digits into turns: a turn ends at ``#`` (not part of the text) or after
    ``pause_ms`` without a key. ``deliver`` gets each turn's digits."""

    def __init__(self, pause_ms: int, deliver: Callable[[str], None]) -> None:
        self._pause = pause_ms / 1000
        self._deliver = deliver
        self._digits: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, digit: str) -> None:
        """One key press."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if digit == "#":
            self.flush()
            return
        self._digits.append(digit)
        self._timer = asyncio.get_running_loop().call_later(self._pause, self.flush)

    def flush(self) -> None:
        """End the turn now (if any digits were pressed)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        digits, self._digits = "".join(self._digits), []
        if digits:
            self._deliver(digits)

    def cancel(self) -> None:
        """Forget pending digits (the session closed)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._digits = []
