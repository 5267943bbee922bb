"""Structured logging (structlog) with context binding and secret redaction.

Every liveloop log line can carry ``session_id``, ``provider``, ``transport`` and
``call_id`` (bound with :func:`bind_context`). A redaction processor masks API keys,
bearer tokens and client secrets wherever they appear — in field names such as
``api_key`` / ``authorization`` / ``client_secret``, and in any text that looks like
``sk-…``, ``ek_…`` or ``Bearer …`` — at every level, in tracebacks too, and in lines
from other libraries (websockets, uvicorn) once :func:`configure_logging` has run.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import structlog
    from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["bind_context", "configure_logging", "get_logger", "redact"]

LEVEL_ENV = "LIVELOOP_LOG_LEVEL"
FORMAT_ENV = "LIVELOOP_LOG_FORMAT"
MASK = "***"

_SECRET_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "authorization",
        "proxy_authorization",
        "client_secret",
        "secret",
        "password",
        "token",
        "access_token",
        "bearer",
        "x_api_key",
        "key",
    }
)
_SECRET_TEXT = re.compile(
    r"(?P<sk>\bsk-[A-Za-z0-9_\-]{4,})"
    r"|(?P<ek>\bek_[A-Za-z0-9_\-]{4,})"
    r"|(?P<bearer>\b[Bb]earer\s+[^\s'\",}]+)"
    # Keys of the "AIza…" shape, and any key carried as a URL's ``key=`` parameter.
    r"|(?P<aiza>\bAIza[A-Za-z0-9_\-]{4,})"
    r"|(?P<query>[?&]key=)[^\s&'\",#]+"
    # A key carried in a WebSocket subprotocol, as browsers must: "<vendor>-api-key.<key>".
    r"|(?P<subproto>\b[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*-api-key\.)[^\s'\",]+"
)


def _is_secret_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    norm = key.lower().replace("-", "_")
    return norm in _SECRET_KEYS or norm.endswith(("_api_key", "_secret", "_password"))


def _mask_text(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "sk":
        return "sk-" + MASK
    if kind == "ek":
        return "ek_" + MASK
    if kind == "bearer":
        return "Bearer " + MASK
    if kind == "aiza":
        return "AIza" + MASK
    if kind == "query":
        return match.group("query") + MASK
    return match.group("subproto") + MASK


def redact(value: Any, _depth: int = 0) -> Any:
    """Return ``value`` with every secret masked (strings, mappings, sequences, nested).

    Values under secret-looking keys are replaced whole; secret-looking text inside any
    string is masked in place. Other objects are rendered with ``repr`` and masked, so a
    secret cannot slip out through an object's string form.
    """
    if _depth > 12:
        return MASK
    if isinstance(value, str):
        return _SECRET_TEXT.sub(_mask_text, value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, Mapping):
        # Keys are masked too: a mapping keyed by API key must not print the keys.
        return {
            (redact(key) if isinstance(key, str) else key): (
                MASK if _is_secret_key(key) else redact(item, _depth + 1)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item, _depth + 1) for item in value]
    return _SECRET_TEXT.sub(_mask_text, repr(value))


def _redact_processor(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    return {key: MASK if _is_secret_key(key) else redact(item) for key, item in event_dict.items()}


_context: ContextVar[Mapping[str, Any] | None] = ContextVar("liveloop_log_context", default=None)
"""What :func:`bind_context` bound (a contextvar: asyncio tasks inherit it)."""


def _merge_context(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    bound = _context.get()
    return {**bound, **event_dict} if bound else event_dict


def _base_processors() -> list[Processor]:
    import structlog

    return [
        structlog.stdlib.filter_by_level,
        structlog.contextvars.merge_contextvars,
        _merge_context,
        structlog.stdlib.add_logger_name,
        structlog.processors.format_exc_info,
        _redact_processor,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ]


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}


class _LazyLogger:
    """The logger :func:`get_logger` returns: a structlog ``BoundLogger`` made when a line
    passes its level, so that a process which writes no line (most sessions, at the
    default level) never imports structlog. Every other attribute is the real logger's."""

    __slots__ = ("_bound", "_name", "_real")

    def __init__(self, name: str, bound: dict[str, Any]) -> None:
        self._name = name
        self._bound = bound
        self._real: structlog.stdlib.BoundLogger | None = None

    def _logger(self) -> structlog.stdlib.BoundLogger:
        if self._real is None:
            import structlog

            real: structlog.stdlib.BoundLogger = structlog.wrap_logger(
                logging.getLogger(self._name),
                processors=_base_processors(),
                wrapper_class=structlog.stdlib.BoundLogger,
            )
            self._real = real.bind(**self._bound) if self._bound else real
        return self._real

    def __getattr__(self, name: str) -> Any:
        level = _LEVELS.get(name)
        if level is not None and self._real is None:
            return _Method(self, name, level)
        return getattr(self._logger(), name)

    def bind(self, **values: Any) -> Any:
        if self._real is not None:
            return self._real.bind(**values)
        return _LazyLogger(self._name, {**self._bound, **values})

    def __repr__(self) -> str:
        return f"<liveloop logger {self._name!r}>"


class _Method:
    __slots__ = ("_level", "_logger", "_name")

    def __init__(self, logger: _LazyLogger, name: str, level: int) -> None:
        self._logger, self._name, self._level = logger, name, level

    def __call__(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        # The same test structlog's filter_by_level makes, before paying for structlog.
        if not logging.getLogger(self._logger._name).isEnabledFor(self._level):
            return None
        return getattr(self._logger._logger(), self._name)(event, *args, **kw)


def get_logger(name: str = "liveloop", **bound: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger over the stdlib logger ``name``; secrets are masked at source.

    Lines go through the stdlib ``logging`` machinery, so they appear wherever the
    application sends logs; :func:`configure_logging` sets up a console or JSON renderer.
    """
    _configure_from_env_once()
    # Behaves as the BoundLogger it becomes on the first line that passes its level.
    return cast("structlog.stdlib.BoundLogger", _LazyLogger(name, dict(bound)))


@contextmanager
def bind_context(**values: Any) -> Iterator[None]:
    """Bind ``session_id``, ``provider``, ``transport``, ``call_id``… to every log line
    made in this context (asyncio tasks started inside inherit it)."""
    token = _context.set({**(_context.get() or {}), **values})
    try:
        if "structlog" not in sys.modules:  # lines can only come through liveloop's chain
            yield
            return
        # An application using structlog sees them in its own contextvars too.
        import structlog

        with structlog.contextvars.bound_contextvars(**values):
            yield
    finally:
        _context.reset(token)


class _LiveloopHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installed (a second call replaces it). Its structlog
    formatter is made for the first line it writes: a command that logs nothing (most,
    at the default level) never imports structlog."""

    def __init__(self, stream: IO[str], json: bool) -> None:
        super().__init__(stream)
        self._json = json

    def format(self, record: logging.LogRecord) -> str:
        if self.formatter is None:
            self.setFormatter(_formatter(self._json))
        return super().format(record)


def _formatter(json: bool) -> logging.Formatter:
    import structlog

    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            _merge_context,
            structlog.stdlib.add_logger_name,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            _redact_processor,
            renderer,
        ],
    )


def configure_logging(
    level: str | int | None = None,
    json: bool | None = None,
    stream: IO[str] | None = None,
) -> None:
    """Send log lines (liveloop's and other libraries') to ``stream`` (stderr), redacted.

    ``level`` defaults to ``LIVELOOP_LOG_LEVEL`` or ``INFO``; ``json`` to
    ``LIVELOOP_LOG_FORMAT == "json"``. Calling it again replaces the previous set-up.
    """
    if level is None:
        level = os.environ.get(LEVEL_ENV, "INFO")
    if isinstance(level, str):
        level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    if json is None:
        json = os.environ.get(FORMAT_ENV, "console").lower() == "json"
    handler = _LiveloopHandler(stream or sys.stderr, json)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LiveloopHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


_env_checked = False


def _configure_from_env_once() -> None:
    global _env_checked
    if _env_checked:
        return
    _env_checked = True
    if os.environ.get(LEVEL_ENV) or os.environ.get(FORMAT_ENV):
        configure_logging()
