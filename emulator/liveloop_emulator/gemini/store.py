"""What outlives one Gemini connection: session resumption handles and ephemeral tokens."""

from __future__ import annotations

import copy
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["EphemeralToken", "HandleStore", "Snapshot", "TokenStore"]

HANDLE_TTL_S = 2 * 3600.0
"""How long a handle resumes its session (Gemini documents two hours)."""


@dataclass(frozen=True)
class Snapshot:
    """A resumable point of a session: its conversation, instructions and start time."""

    items: list[dict[str, Any]]
    instructions: str
    started: float


class HandleStore:
    """Resumption handles, each naming a snapshot of a session's conversation.

    A handle is issued whenever a session is at a resumable point (idle); resuming with
    it restores the conversation as it was then. Bounded: the oldest handles go first.
    """

    def __init__(self, limit: int = 4096, ttl: float = HANDLE_TTL_S) -> None:
        self._limit = limit
        self._ttl = ttl
        self._snapshots: OrderedDict[str, tuple[float, Snapshot]] = OrderedDict()

    def issue(self, items: list[dict[str, Any]], instructions: str, started: float) -> str:
        """A new handle for the conversation ``items`` (copied) of a session that began
        at ``started`` (``time.monotonic()``)."""
        handle = f"emu-resume-{secrets.token_urlsafe(18)}"
        snapshot = Snapshot(copy.deepcopy(items), instructions, started)
        self._snapshots[handle] = (time.monotonic(), snapshot)
        while len(self._snapshots) > self._limit:
            self._snapshots.popitem(last=False)
        return handle

    def restore(self, handle: str) -> Snapshot | None:
        """The session ``handle`` names (a copy), or None if unknown or expired."""
        found = self._snapshots.get(handle)
        if found is None or time.monotonic() - found[0] > self._ttl:
            return None
        snapshot = found[1]
        return Snapshot(copy.deepcopy(snapshot.items), snapshot.instructions, snapshot.started)


@dataclass
class EphemeralToken:
    """A minted ``auth_tokens/…`` credential for the constrained endpoint."""

    name: str
    uses: int
    expires: datetime
    new_session_until: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "uses": self.uses,
            "expireTime": self.expires.isoformat().replace("+00:00", "Z"),
            "newSessionExpireTime": self.new_session_until.isoformat().replace("+00:00", "Z"),
        }


class TokenStore:
    """Ephemeral tokens as ``POST /v1alpha/auth_tokens`` mints them: a number of uses (each
    new session spends one), an expiry, and a window for starting new sessions."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._tokens: OrderedDict[str, EphemeralToken] = OrderedDict()

    def mint(
        self, *, uses: int = 1, expire_s: float = 1800.0, new_session_s: float = 60.0
    ) -> EphemeralToken:
        now = datetime.now(UTC)
        token = EphemeralToken(
            name=f"auth_tokens/{secrets.token_urlsafe(24)}",
            uses=uses,
            expires=now + timedelta(seconds=expire_s),
            new_session_until=now + timedelta(seconds=new_session_s),
        )
        self._tokens[token.name] = token
        while len(self._tokens) > self._limit:
            self._tokens.popitem(last=False)
        return token

    def redeem(self, name: str) -> str | None:
        """Spend one use of token ``name`` on a new session; None if it may, else why not."""
        token = self._tokens.get(name)
        now = datetime.now(UTC)
        if token is None or now >= token.expires:
            return "The ephemeral token is invalid or has expired."
        if now >= token.new_session_until:
            return "The ephemeral token can no longer start new sessions."
        if token.uses < 1:
            return "The ephemeral token has no uses left."
        token.uses -= 1
        return None
