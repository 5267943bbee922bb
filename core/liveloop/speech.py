"""The handle :meth:`Session.say` returns: what was asked, what was spoken, how it ended."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator
from typing import Any, Literal

from .errors import SessionClosed

__all__ = ["Speech"]

SpeechStatus = Literal["queued", "speaking", "done", "interrupted", "cancelled", "failed"]


class Speech:
    """One ``say()``: awaitable (resolves when its audio is complete), cancellable.

    - ``text``: what was asked to be said; ``transcript``: what the model said.
    - ``interrupted``: the user cut it off; ``played_ms``: how much of its audio was
      delivered to the listener (or reported played); ``audio_ms``: how much arrived.
    - ``status``: queued, speaking, done, interrupted, cancelled or failed.

    ``await speech`` returns the speech itself once it has finished (including when it
    was interrupted or cancelled) and raises :class:`SessionClosed` if the session closed
    first, or the provider's error if the request failed.
    """

    def __init__(self, speech_id: str, text: str, cancel: Callable[[Speech], None]) -> None:
        self.id = speech_id
        self.text = text
        self.status: SpeechStatus = "queued"
        self.response_id: str | None = None
        self.item_id: str | None = None
        self.transcript = ""
        self.played_ms = 0
        self.audio_ms = 0
        self.first_audio_latency_ms: float | None = None
        self.requested_at = time.monotonic()
        self._cancel = cancel
        self._done: asyncio.Future[Speech] = asyncio.get_running_loop().create_future()

    @property
    def interrupted(self) -> bool:
        """Whether the user (or ``interrupt()``) cut this speech off."""
        return self.status == "interrupted"

    @property
    def spoken_text(self) -> str:
        """What the listener heard: the transcript, cut at a word in proportion to the
        audio played when the speech was interrupted."""
        if not self.interrupted or self.audio_ms <= 0:
            return self.transcript
        share = min(1.0, self.played_ms / self.audio_ms)
        cut = int(len(self.transcript) * share)
        while 0 < cut < len(self.transcript) and not self.transcript[cut].isspace():
            cut -= 1
        return self.transcript[:cut].rstrip()

    def done(self) -> bool:
        """Whether the speech has finished (any way)."""
        return self._done.done()

    def cancel(self) -> None:
        """Drop the speech if still queued, or cut it off if it is being spoken."""
        if not self.done():
            self._cancel(self)

    async def wait(self, timeout: float | None = None) -> Speech:
        """Wait (at most ``timeout`` seconds) for the speech to finish."""
        async with asyncio.timeout(timeout):
            return await asyncio.shield(self._done)

    def __await__(self) -> Generator[Any, None, Speech]:
        return asyncio.shield(self._done).__await__()

    def __repr__(self) -> str:
        return f"Speech({self.text!r}, status={self.status!r}, played_ms={self.played_ms})"

    # -- runtime side ----------------------------------------------------------------------

    def _finish(self, status: SpeechStatus) -> None:
        if not self._done.done():
            self.status = status
            self._done.set_result(self)

    def _fail(self, exc: BaseException) -> None:
        if not self._done.done():
            self.status = "failed"
            self._done.set_exception(exc)
            # A failure nobody awaits is not an "exception was never retrieved" warning.
            self._done.exception()

    def _on_done(self, callback: Callable[[asyncio.Future[Speech]], None]) -> None:
        self._done.add_done_callback(callback)

    def _closed(self, reason: SessionClosed) -> None:
        self._fail(reason)
