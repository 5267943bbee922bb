"""The bundled emulator on a background thread, for tests whatever their event loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from ._emulator import emulator_module

__all__ = ["EmulatorThread"]

T = TypeVar("T")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class EmulatorThread:
    """Runs ``liveloop_emulator.Emulator(**options)`` in its own thread and event loop.

    A synchronous context manager, so fixtures need no async plugin and tests may use
    any event loop. ``base_url`` is what ``liveloop.connect(base_url=...)`` takes;
    ``emulator`` is the running :class:`liveloop_emulator.Emulator` (its ``sessions``
    record what each session received and sent).
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._emulator: Any = None

    @property
    def options(self) -> dict[str, Any]:
        """The options the emulator was started with (a copy)."""
        return dict(self._options)

    @property
    def emulator(self) -> Any:
        """The running emulator (``liveloop_emulator.Emulator``)."""
        if self._emulator is None:
            raise RuntimeError("the emulator is not running")
        return self._emulator

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return str(self.emulator.base_url)

    @property
    def sessions(self) -> list[Any]:
        """The emulator's per-session records, in connection order."""
        return list(self.emulator.sessions)

    def call(self, function: Callable[[], Awaitable[T]], timeout: float = STOP_TIMEOUT) -> T:
        """Run ``function()`` on the emulator's loop and return its result."""
        if self._loop is None:
            raise RuntimeError("the emulator is not running")

        async def run() -> T:
            return await function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def start(self) -> EmulatorThread:
        """Start the server; returns once it accepts connections (or raises its error)."""
        started: Future[None] = Future()
        module = emulator_module()

        async def main() -> None:
            self._stop = asyncio.Event()
            try:
                async with module.Emulator(**self._options) as emulator:
                    self._emulator = emulator
                    started.set_result(None)
                    await self._stop.wait()
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)
                raise

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(main())
            except BaseException:  # reported through `started`, or at stop
                pass
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="liveloop-emulator", daemon=True)
        self._thread.start()
        started.result(START_TIMEOUT)
        return self

    def stop(self) -> None:
        """Shut the server down (bounded); open sessions are closed."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is None or stop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended (server failed)
            loop.call_soon_threadsafe(stop.set)
        thread.join(STOP_TIMEOUT)
        self._emulator = None
        self._thread = None

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
