"""Which event loop liveloop's own entry points run on: uvloop where it is installed and
the platform supports it, else asyncio's default loop.

The entry points that create a loop (``liveloop.run(...)``, the ``liveloop`` commands and
``liveloop serve`` through uvicorn's ``loop`` setting) ask :func:`choice`. The environment
variable ``LIVELOOP_LOOP`` turns uvloop off (``asyncio``), requires it (``uvloop``: an
error if it cannot be used) or leaves the choice to liveloop (``auto``, the default).
Code that runs its own loop (``asyncio.run(...)``) keeps that loop: liveloop works on both.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from .errors import ConfigError

__all__ = ["LOOP_ENV", "LoopName", "choice", "loop_factory", "run", "running_loop_name"]

LOOP_ENV = "LIVELOOP_LOOP"
LoopName = Literal["uvloop", "asyncio"]
_SETTINGS = ("auto", "uvloop", "asyncio")

T = TypeVar("T")


def _uvloop_supported() -> str | None:
    """None if uvloop can run here, else why not."""
    if sys.platform == "win32":
        return "uvloop does not run on Windows"
    if sys.implementation.name != "cpython":
        return f"uvloop needs CPython (this is {sys.implementation.name})"
    if importlib.util.find_spec("uvloop") is None:
        return "uvloop is not installed (pip install 'liveloop[uvloop]')"
    return None


def choice(setting: str | None = None) -> LoopName:
    """The loop to use for ``setting`` (default: ``$LIVELOOP_LOOP``, else ``auto``).

    ``auto`` picks uvloop when it can run here; ``uvloop`` raises :class:`ConfigError`
    naming why it cannot; ``asyncio`` always picks asyncio's own loop.
    """
    value = (setting or os.environ.get(LOOP_ENV) or "auto").strip().lower()
    if value not in _SETTINGS:
        raise ConfigError(
            f"{LOOP_ENV}={value!r} is not a loop: expected one of {', '.join(_SETTINGS)}"
        )
    if value == "asyncio":
        return "asyncio"
    why_not = _uvloop_supported()
    if why_not is None:
        return "uvloop"
    if value == "uvloop":
        raise ConfigError(f"{LOOP_ENV}=uvloop, but {why_not}")
    return "asyncio"


def loop_factory(setting: str | None = None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """A factory for ``asyncio.Runner(loop_factory=...)``; None means asyncio's default."""
    if choice(setting) == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


def run(main: Coroutine[Any, Any, T], *, loop: str | None = None) -> T:
    """Run ``main`` to completion in a new event loop of :func:`choice` (``loop`` as the
    setting) and close the loop, as ``asyncio.run`` does: ``liveloop.run(app.run())``."""
    try:
        factory = loop_factory(loop)
    except ConfigError:
        main.close()  # never awaited: close it so no "was never awaited" warning follows
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def running_loop_name() -> str:
    """``uvloop`` or ``asyncio`` for the running loop (``"none"`` outside a loop)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return "none"
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
