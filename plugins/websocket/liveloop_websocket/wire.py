"""What the WebSocket transports share besides the link: their endpoint URLs and the
masking of credentials in websockets' own log lines."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

from liveloop import ConfigError
from liveloop.log import MASK, redact

__all__ = ["websocket_url", "wire_logger"]

_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}

# The headers the transports put credentials in: a bearer key, an API key, a token.
_CREDENTIAL_HEADER = re.compile(r"(?im)^([<>]?\s*(?:x-goog-api-key|authorization):\s*)\S.*$")


def websocket_url(base_url: str, path: str, query: str = "") -> str:
    """``base_url`` (``http``->``ws``, ``https``->``wss``) with ``path`` appended."""
    parts = urlsplit(base_url)
    scheme = _SCHEMES.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ConfigError(f"base_url: expected an http(s) URL (got {base_url!r})")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, query, ""))


class _RedactSecrets(logging.Filter):
    """Masks credentials in the websockets library's own lines (at DEBUG it logs the
    handshake's headers, ``Authorization`` and ``x-goog-api-key`` included), whatever
    formatter the application uses."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args or not isinstance(record.msg, str):
            record.msg = record.getMessage()
            record.args = None
        record.msg = redact(_CREDENTIAL_HEADER.sub(rf"\g<1>{MASK}", record.msg))
        return True


def wire_logger(name: str) -> logging.Logger:
    """The logger to hand websockets for one transport, with credentials masked."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _RedactSecrets) for f in logger.filters):
        logger.addFilter(_RedactSecrets())
    return logger
