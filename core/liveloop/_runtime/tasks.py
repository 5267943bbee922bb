"""The owner of a session's background tasks: tracked, cancelled and awaited on close."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..log import get_logger

_log = get_logger("liveloop.session")

T = TypeVar("T")


class Tasks:
    """Every task a session starts goes through :meth:`spawn`; :meth:`close` ends them.

    A task is referenced until it finishes (the event loop alone would let the garbage
    collector take it mid-flight); an exception nobody awaited is logged, not lost.
    """

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._running: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Start ``coro`` as a tracked task (closed at once if the owner is closed)."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self._prefix}-{name}")
        if self._closed:
            task.cancel()
        self._running.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("session task failed", task=task.get_name(), error=repr(task.exception()))

    def __len__(self) -> int:
        return len(self._running)

    async def close(self, timeout: float) -> None:
        """Cancel every task (but the caller's own) and wait up to ``timeout`` for them."""
        self._closed = True
        current = asyncio.current_task()
        pending = [t for t in self._running if t is not current and not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=timeout)
