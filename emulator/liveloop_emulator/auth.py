"""API keys and ephemeral client secrets, checked the way OpenAI's endpoints check them."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ClientSecret",
    "Credential",
    "KeyStore",
    "bearer_token",
    "openai_error_body",
]

SECRET_MIN_SECONDS = 10
SECRET_MAX_SECONDS = 7200
SECRET_DEFAULT_SECONDS = 600


def openai_error_body(
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """OpenAI's HTTP error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None


@dataclass
class ClientSecret:
    """An ephemeral ``ek_`` key minted by ``POST /v1/realtime/client_secrets``."""

    value: str
    expires_at: float
    session: dict[str, Any] = field(default_factory=dict)
    """The session configuration the client asked for (applied to sessions opened with it)."""

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at


@dataclass(frozen=True)
class Credential:
    """Who opened a session: a standard key, or a client secret with its session config."""

    kind: str  # "api_key" | "client_secret"
    secret: ClientSecret | None = None


class KeyStore:
    """The keys an emulator accepts.

    With ``api_keys=None`` any key of OpenAI's form (``sk-`` followed by at least one
    character) is accepted; otherwise only the listed keys. Client secrets minted here are
    accepted until they expire.
    """

    def __init__(
        self, api_keys: Iterable[str] | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys: frozenset[str] | None = None if api_keys is None else frozenset(api_keys)
        self._secrets: dict[str, ClientSecret] = {}
        self._clock = clock

    def is_api_key(self, token: str | None) -> bool:
        if not token:
            return False
        if self._keys is None:
            return (
                token.startswith("sk-") and len(token) > 3 and not any(c.isspace() for c in token)
            )
        return token in self._keys

    def mint(self, ttl_seconds: float, session: dict[str, Any] | None = None) -> ClientSecret:
        """Create a client secret valid for ``ttl_seconds``."""
        secret = ClientSecret(
            value="ek_" + secrets.token_hex(16),
            expires_at=self._clock() + ttl_seconds,
            session=dict(session or {}),
        )
        self._secrets[secret.value] = secret
        return secret

    def lookup_secret(self, token: str) -> ClientSecret | None:
        return self._secrets.get(token)

    def authenticate(self, token: str | None) -> Credential | None:
        """The credential for a bearer token, or None if it is missing, unknown or expired."""
        if not token:
            return None
        if token.startswith("ek_"):
            secret = self._secrets.get(token)
            if secret is None or secret.expired(self._clock()):
                return None
            return Credential(kind="client_secret", secret=secret)
        if self.is_api_key(token):
            return Credential(kind="api_key")
        return None

    def describe_failure(self, token: str | None) -> str:
        """OpenAI-like message for a refused token (never echoing the whole key)."""
        if not token:
            return (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        if token.startswith("ek_"):
            secret = self._secrets.get(token)
            if secret is not None and secret.expired(self._clock()):
                return "The client secret has expired."
            return "Invalid client secret provided."
        shown = token[:3] + "*" * 4 + token[-4:] if len(token) > 8 else "*" * len(token)
        return (
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        )
