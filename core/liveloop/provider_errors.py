"""How a provider's errors and close codes classify, declared by its plugin.

The session runtime acts on the *kind* of an error, never on a provider's code: a
provider plugin lists its codes in a :class:`ProviderErrors` on its
:class:`~liveloop.plugin.ProviderSpec` (for example, the code OpenAI sends when a response is
requested while another is active is a ``response_active`` code).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["STANDARD_CLOSE_CODES", "ErrorKind", "ProviderErrors"]

ErrorKind = Literal[
    "retryable",
    "response_active",
    "nothing_to_cancel",
    "session_expired",
    "authentication",
    "fatal",
]
"""What an error means to the runtime:

- ``retryable``: a passing failure; reconnecting (or asking again) may work.
- ``response_active``: a response was requested while another is active; ask again after it.
- ``nothing_to_cancel``: a cancel found nothing to cancel (the wanted outcome anyway).
- ``session_expired``: the provider ended the session at its length limit; reconnect.
- ``authentication``: the key or token was refused; trying again cannot help.
- ``fatal``: the provider will not serve this session; trying again cannot help.
"""

STANDARD_CLOSE_CODES: Mapping[int, ErrorKind] = {
    1001: "retryable",  # going away
    1003: "fatal",  # unsupported data
    1006: "retryable",  # abnormal closure (no close frame)
    1008: "fatal",  # policy violation
    1011: "retryable",  # internal error
    1012: "retryable",  # service restart
    1013: "retryable",  # try again later
}
"""What WebSocket close codes (RFC 6455 and the IANA registry) mean, whatever the provider."""

_REFUSED = {"http_401": "authentication", "http_403": "authentication"}


@dataclass(frozen=True)
class ProviderErrors:
    """A provider's error codes and close codes, by what they mean (see :data:`ErrorKind`).

    - ``codes``: the provider's error codes (``ProviderError.code`` / ``ErrorEvent.code``).
      ``http_401`` and ``http_403`` (a transport's handshake refused with that status)
      count as ``authentication`` unless listed.
    - ``close_codes``: WebSocket close codes, over :data:`STANDARD_CLOSE_CODES`.
    - ``close_reasons``: words in a close reason (case-insensitive), which win over the
      code: a provider that closes expired sessions with 1001 and a reason saying so
      lists that reason as ``session_expired``.

    A link lost with a code or reason nobody classified is reconnected: losing a session
    to an unknown code is worse than one reconnect too many.
    """

    codes: Mapping[str, ErrorKind] = field(default_factory=dict)
    close_codes: Mapping[int, ErrorKind] = field(default_factory=dict)
    close_reasons: Mapping[str, ErrorKind] = field(default_factory=dict)

    def classify(self, code: str | None) -> ErrorKind | None:
        """The kind of an error code (``None``: not classified)."""
        if code is None:
            return None
        kind = self.codes.get(code)
        if kind is None and code in _REFUSED:
            return "authentication"
        return kind

    def classify_close(self, code: int | None, reason: str | None) -> ErrorKind | None:
        """The kind of a closed link: its close reason first, then its code."""
        if reason:
            folded = reason.casefold()
            for words, kind in self.close_reasons.items():
                if words.casefold() in folded:
                    return kind
        if code is None:
            return None
        return self.close_codes.get(code) or STANDARD_CLOSE_CODES.get(code)

    @staticmethod
    def ends_session(kind: ErrorKind | None) -> bool:
        """Whether a link lost for this reason must not be reconnected."""
        return kind in ("authentication", "fatal")
