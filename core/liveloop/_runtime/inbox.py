"""The turn inbox: completed user turns, in order, for ``input()``."""

from __future__ import annotations

import asyncio
from collections import deque

from ..errors import SessionClosed
from ..events import UserTurn
from ..turns import SessionTurn
from .bus import EventBus
from .context import Context
from .playback import Playback
from .userinput import UserInput


class TurnInbox:
    """Completes each user turn (its audio, whether it cut the assistant off), publishes
    it, and hands it to the one task waiting in ``input()`` or keeps it for the next."""

    def __init__(
        self, ctx: Context, bus: EventBus, user_input: UserInput, playback: Playback
    ) -> None:
        self._ctx = ctx
        self._user_input = user_input
        self._playback = playback
        self._turns: deque[SessionTurn] = deque()
        self._waiter: asyncio.Future[SessionTurn] | None = None
        bus.on(UserTurn, self._on_turn)
        bus.publish_never(UserTurn)  # published here, completed

    def add(self, event: UserTurn) -> None:
        """A turn that did not come from the provider (DTMF digits)."""
        self._on_turn(event)

    def _on_turn(self, event: UserTurn) -> None:
        turn = self._user_input.complete(event.turn)
        interrupted = self._playback.take_interrupting(turn.item_id)
        if turn is not event.turn or interrupted:
            turn = turn.model_copy(
                update={
                    "audio_format": turn.audio_format or self._ctx.config.input_audio,
                    "interrupted": interrupted or turn.interrupted,
                }
            )
            event = UserTurn(turn=turn, raw=event.raw)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(turn)
        else:
            self._turns.append(turn)
        self._ctx.publish(event)

    @property
    def ready(self) -> bool:
        """Whether a turn is waiting to be taken."""
        return bool(self._turns)

    async def next(self) -> SessionTurn:
        """The next turn; :class:`SessionClosed` once the session is closed."""
        if self._turns:
            return self._turns.popleft()
        if self._waiter is not None and not self._waiter.done():
            raise RuntimeError("input() is already being awaited by another task of this session")
        waiter: asyncio.Future[SessionTurn] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            return await waiter
        finally:
            if self._waiter is waiter:
                self._waiter = None

    def fail(self, reason: SessionClosed) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(reason)
