"""Caller tokens: signed, expiring tokens that name a caller, issued by the server itself.

An app whose callers have no login of their own (a public demo, a kiosk) must still not
let a caller choose who they are: an identity from a header the client sets can be rotated
at will, and every limit keyed by it with it. Instead the server issues a token naming an
identity it chose, signed with its secret and valid for ``ttl`` seconds; ``authorize``
verifies it. Workers that share a store must share the secret too.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = ["CallerTokens"]


class CallerTokens:
    """Issues and verifies caller tokens signed with ``secret`` (random when ``None``:
    one process only), valid for ``ttl`` seconds."""

    def __init__(self, secret: str | bytes | None = None, *, ttl: int = 600) -> None:
        self.ttl = ttl
        key = secret if secret is not None else secrets.token_bytes(32)
        self._serializer = URLSafeTimedSerializer(key, salt="liveloop-caller-token")

    def issue(self, identity: str | None = None) -> str:
        """A token naming ``identity`` (a fresh random one when ``None``)."""
        return self._serializer.dumps(identity or f"caller-{secrets.token_hex(8)}")

    def verify(self, token: str) -> str | None:
        """The identity ``token`` names, or ``None`` when it is forged, altered or expired."""
        try:
            identity = self._serializer.loads(token, max_age=self.ttl)
        except BadSignature:  # SignatureExpired is one too
            return None
        return identity if isinstance(identity, str) and identity else None
