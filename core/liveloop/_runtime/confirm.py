"""Configuration changes and their confirmation by the provider."""

from __future__ import annotations

import asyncio

from ..actions import UpdateSession
from ..config import SessionConfig
from ..errors import ProviderError
from ..events import ErrorEvent, SessionUpdated
from .bus import EventBus
from .context import Context
from .link import Link


class Confirmations:
    """Sends ``UpdateSession`` actions and waits until the provider applied them.

    A ``session.updated`` confirms every update waiting (providers do not say which
    update they applied); an error correlated to the update's event id refuses it.
    """

    def __init__(self, ctx: Context, link: Link, bus: EventBus) -> None:
        self._ctx = ctx
        self._link = link
        self._waiting: dict[str, asyncio.Future[None]] = {}
        bus.on(SessionUpdated, self._on_updated)
        bus.on(ErrorEvent, self._on_error)

    def expect(self, event_id: str) -> asyncio.Future[None]:
        """A future resolved when the update sent with ``event_id`` is confirmed (or
        failed with the provider's error)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[event_id] = future
        future.add_done_callback(lambda _: self._forget(event_id, future))
        return future

    def _forget(self, event_id: str, future: asyncio.Future[None]) -> None:
        if self._waiting.get(event_id) is future:
            del self._waiting[event_id]

    async def apply(self, config: SessionConfig, *, timeout: float) -> None:
        """Send ``config`` and wait until it is applied; :class:`ProviderError` if it is
        refused or not confirmed within ``timeout``, :class:`SessionClosed` if the session
        closes first."""
        event_id = self._ctx.event_id()
        applied = self.expect(event_id)
        self._link.send(UpdateSession(config=config, event_id=event_id))
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(applied)
        except TimeoutError:
            raise ProviderError(
                f"the provider did not confirm the session configuration within {timeout:g} s",
                code="timeout",
            ) from None
        finally:
            applied.cancel()

    def _on_updated(self, event: SessionUpdated) -> None:
        for future in list(self._waiting.values()):
            if not future.done():
                future.set_result(None)

    def _on_error(self, event: ErrorEvent) -> bool:
        future = self._waiting.get(event.event_id or "")
        if future is None or future.done():
            return False
        future.set_exception(
            ProviderError(event.message, code=event.code, event_id=event.event_id, raw=event.raw)
        )
        return True

    def fail_all(self, reason: BaseException) -> None:
        for future in list(self._waiting.values()):
            if not future.done():
                future.set_exception(reason)
                future.exception()  # retrieved: nobody may be awaiting it any more
