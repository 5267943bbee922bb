"""The exceptions liveloop raises. Every one derives from :class:`LiveloopError`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "ConfigError",
    "ConnectionLost",
    "LiveloopError",
    "PluginError",
    "ProviderError",
    "SessionClosed",
    "ToolError",
    "UnsupportedTransport",
]


class LiveloopError(Exception):
    """Base class of every error liveloop raises on purpose."""


class ConfigError(LiveloopError, ValueError):
    """A configuration value is invalid.

    The message names each offending field (dotted path) and the value it was given.
    ``errors`` holds one ``(field, message, value)`` tuple per problem.
    """

    def __init__(self, message: str, errors: Sequence[tuple[str, str, Any]] = ()) -> None:
        super().__init__(message)
        self.errors: list[tuple[str, str, Any]] = list(errors)

    @classmethod
    def from_validation(cls, exc: ValidationError, *, prefix: str = "") -> ConfigError:
        """Build a ConfigError from a pydantic ValidationError, one line per field."""
        found: list[tuple[str, str, Any]] = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(part) for part in err["loc"] if not _is_union_tag(part))
            field = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "<config>"
            found.append((field, err["msg"], err.get("input")))
        lines = [f"{field}: {msg} (got {_short_repr(value)})" for field, msg, value in found]
        return cls("invalid configuration: " + "; ".join(lines), found)


class UnsupportedTransport(LiveloopError):
    """The provider/transport pair asked for is not in the capability matrix.

    ``available`` lists the pairs that are installed (``"provider/transport"``);
    ``install_hint`` names the package that would add the pair, where the installed
    plugins declare it; ``reason`` replaces it when something else explains the miss
    (a misspelled ``LIVELOOP_PLUGINS``). An empty ``provider`` means no pair is
    installed at all.
    """

    def __init__(
        self,
        provider: str,
        transport: str,
        available: Sequence[str],
        install_hint: str | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        self.provider = provider
        self.transport = transport
        self.available = list(available)
        self.install_hint = install_hint
        pairs = ", ".join(self.available) if self.available else "none"
        if provider:
            message = f"{provider}/{transport} is not available (installed pairs: {pairs})"
        else:
            message = "no provider/transport pair is installed"
        if reason:
            message += f"; {reason}"
        elif install_hint:
            message += f"; install {install_hint} to add it"
        super().__init__(message)


class SessionClosed(LiveloopError):
    """The session is closed; ``cause`` says why (``None`` for a normal close)."""

    def __init__(self, reason: str = "session closed", cause: BaseException | None = None) -> None:
        self.reason = reason
        self.cause = cause
        text = reason if cause is None else f"{reason}: {cause}"
        super().__init__(text)


class ProviderError(LiveloopError):
    """An error reported by the provider.

    ``code`` is the provider's error code, ``event_id`` the id of the client event it
    correlates to (when the provider says), ``raw`` the provider's error event.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        event_id: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.event_id = event_id
        self.raw = raw
        super().__init__(f"{code}: {message}" if code else message)


class PluginError(LiveloopError):
    """A plugin is broken: it failed to import, misnamed a hook, or clashes with another."""


class ToolError(LiveloopError):
    """A tool could not be built from a Python function (e.g. untyped parameters)."""


# pydantic puts union members' tags in error locations: "server_vad" for a tagged
# union, generated labels such as "literal['auto','none']" or "constrained-str" otherwise.
_UNION_TAG = re.compile(
    r"server_vad|semantic_vad|function-(?:after|before|plain|wrap)(?:\[.*\])?"
    r"|literal\[.*\]|constrained-\w+"
)


def _is_union_tag(part: object) -> bool:
    # The tag is noise to users: the field path alone names the field.
    return isinstance(part, str) and _UNION_TAG.fullmatch(part) is not None


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class ConnectionLost(LiveloopError):
    """A transport's link to the provider is gone; ``cause`` is the underlying error.

    ``close_code`` / ``close_reason`` are the close frame's code and reason when the link
    was closed by one (a WebSocket); the runtime decides from them (through the
    provider's :class:`~liveloop.provider_errors.ProviderErrors`) whether to reconnect.
    """

    def __init__(
        self,
        reason: str,
        cause: BaseException | None = None,
        *,
        close_code: int | None = None,
        close_reason: str | None = None,
    ) -> None:
        self.reason = reason
        self.cause = cause
        self.close_code = close_code
        self.close_reason = close_reason
        super().__init__(reason if cause is None else f"{reason}: {cause}")
