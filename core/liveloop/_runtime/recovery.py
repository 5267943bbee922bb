"""Recovery: a lost connection is replaced and the session restored on the new one, within
the reconnect policy; shortly before the provider's session limit, the connection is
rolled over the same way.

Every attempt is one open plus one restore, sent through the link and confirmed by the
provider, all bounded by the time left in the policy's window. Whatever fails in an
attempt (the open, a cut during the restore, a restore never confirmed) counts as that
attempt failing; when no attempt is left the session closes, naming the last failure.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal

from ..actions import Action, AddHistory, UpdateSession
from ..codec import EventCodec, Resumable
from ..config import ReconnectPolicy
from ..errors import ConnectionLost, ProviderError, SessionClosed
from ..events import (
    AssistantTextDone,
    AssistantTranscriptDone,
    ErrorEvent,
    GoingAway,
    Reconnected,
    ResumptionHandle,
    UserTurn,
)
from ..log import get_logger
from ..transport import Connection
from .bus import EventBus
from .confirm import Confirmations
from .context import Context
from .link import Link, close_quietly

_log = get_logger("liveloop.session")

UPDATE_TIMEOUT = 10.0  # longest wait for the provider to confirm a configuration
_HISTORY_TURNS = 50  # conversation turns restored after a reconnect
_MIN_RESTORE_S = 1.0  # the least time a restore gets while more attempts are left
_ROLLOVER_MARGIN = 0.1  # roll over this share of the session limit before it (<= 60 s)
_GOING_AWAY_HURRY = 0.5  # after a going-away notice, wait for a quiet moment this share
_GOING_AWAY_LATEST_S = 1.0  # ... and move at the latest this long before the deadline

Reopen = Callable[[], Awaitable[tuple[EventCodec, Connection]]]
"""Opens a fresh codec and connection for the same session."""


class _AttemptFailed(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Recovery:
    """Replaces lost connections and rolls them over before the provider's limit.

    ``forget(rollover)`` tells the other components that the connection's own state (its
    responses, calls, playback; on a rollover, only its calls) is gone; ``restored()``
    that traffic may flow again.
    """

    def __init__(
        self,
        ctx: Context,
        link: Link,
        bus: EventBus,
        confirmations: Confirmations,
        *,
        reopen: Reopen | None,
        shutdown: Callable[[SessionClosed], Coroutine[Any, Any, None]],
        forget: Callable[[bool], None],
        restored: Callable[[], None],
    ) -> None:
        self._ctx = ctx
        self._link = link
        self._confirmations = confirmations
        self._reopen = reopen
        self._shutdown = shutdown
        self._forget = forget
        self._restored = restored
        self._running: asyncio.Task[None] | None = None
        self._provider_ended: ProviderError | None = None  # an error that ends the session
        self.history: deque[tuple[Literal["user", "assistant"], str]] = deque(maxlen=_HISTORY_TURNS)
        # The latest handle with which the provider resumes its own state on a new
        # connection (None: restore the conversation as text).
        self._handle: str | None = None
        self._idle: asyncio.Event | None = None
        self._going_away: asyncio.Task[None] | None = None
        link.on_lost = self.start
        bus.on(UserTurn, self._on_user_turn)
        bus.on(AssistantTranscriptDone, self._on_assistant_done)
        bus.on(AssistantTextDone, self._on_assistant_done)
        bus.on(ErrorEvent, self._on_error)
        bus.on(ResumptionHandle, self._on_handle)
        bus.on(GoingAway, self._on_going_away)

    @property
    def recovering(self) -> bool:
        return self._running is not None and not self._running.done()

    # -- history ---------------------------------------------------------------------------

    def _on_user_turn(self, event: UserTurn) -> None:
        if event.turn.text:
            self.history.append(("user", event.turn.text))

    def _on_assistant_done(self, event: AssistantTranscriptDone | AssistantTextDone) -> None:
        text = event.transcript if isinstance(event, AssistantTranscriptDone) else event.text
        if text:
            self.history.append(("assistant", text))

    def _on_handle(self, event: ResumptionHandle) -> None:
        self._handle = event.handle

    def _on_error(self, event: ErrorEvent) -> None:
        # Errors no request or update was waiting for end up here.
        kind = self._ctx.errors.classify(event.code)
        if kind == "nothing_to_cancel":
            # interrupt() raced the response's own end: the outcome is the one wanted.
            _log.debug("cancel arrived after the response ended", **self._ctx.log)
            return
        if kind in ("authentication", "fatal"):
            # The provider closes next: that close must end the session, not reconnect.
            self._provider_ended = ProviderError(event.message, code=event.code, raw=event.raw)
        _log.warning(
            "provider reported an error",
            **self._ctx.log,
            code=event.code,
            error=event.message,
            event_id=event.event_id,
        )

    # -- recovery --------------------------------------------------------------------------

    def start(self, cause: ConnectionLost) -> None:
        """The link was lost: recover it (or close the session) in the background."""
        if self._ctx.closed or self.recovering:
            return
        ending = self._ending(cause)
        if ending is not None:
            self._ctx.tasks.spawn(self._shutdown(ending), "close")
            return
        self._forget(False)
        self._running = self._ctx.tasks.spawn(self._recover(cause, rollover=False), "recover")

    def _ending(self, cause: ConnectionLost) -> SessionClosed | None:
        """Why this loss ends the session, or ``None`` if it is to be recovered."""
        policy = self._ctx.config.reconnect
        if self._provider_ended is not None:
            return SessionClosed("the provider ended the session", self._provider_ended)
        kind = self._ctx.errors.classify_close(cause.close_code, cause.close_reason)
        if self._ctx.errors.ends_session(kind):
            code = f"code {cause.close_code}" if cause.close_code is not None else "no code"
            reason = f": {cause.close_reason}" if cause.close_reason else ""
            return SessionClosed(
                f"the provider closed the connection ({code}{reason}; {kind}, not reconnected)",
                cause,
            )
        if self._reopen is None or policy is None or policy.attempts == 0:
            return SessionClosed("connection to the provider lost", cause)
        return None

    async def _recover(self, cause: ConnectionLost, *, rollover: bool) -> None:
        policy = self._ctx.config.reconnect
        assert policy is not None and self._reopen is not None
        deadline = time.monotonic() + policy.within
        old = self._link.connection
        delay = 0.0 if rollover else policy.initial_delay
        last: BaseException = cause
        attempts = max(policy.attempts, 1)
        for attempt in range(1, attempts + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.sleep(min(delay, remaining))
            try:
                resumed = await self._attempt(
                    policy, deadline, attempts - attempt + 1, rollover=rollover
                )
            except _AttemptFailed as failed:
                last = failed.cause
                if isinstance(last, ProviderError) and self._ctx.errors.ends_session(
                    self._ctx.errors.classify(last.code)
                ):
                    break  # a refused key will not work on the next try either
                _log.warning(
                    "reconnect attempt failed", **self._ctx.log, attempt=attempt, error=str(last)
                )
                delay = max(delay * 2, policy.initial_delay)
                continue
            self._ctx.tasks.spawn(close_quietly(old), "close-old")
            self._ctx.publish(Reconnected(attempts=attempt, resumed=resumed))
            _log.info(
                "session restored on a new connection",
                **self._ctx.log,
                attempts=attempt,
                rollover=rollover,
                resumed=resumed,
            )
            return
        if old is not self._link.connection:
            await close_quietly(old)  # the lost one (the session closes the latest)
        reason = "connection to the provider lost and not restored"
        await self._shutdown(SessionClosed(reason, last))

    async def _attempt(
        self, policy: ReconnectPolicy, deadline: float, left: int, *, rollover: bool
    ) -> bool:
        """One open and restore; whether the provider resumed its state by handle."""
        assert self._reopen is not None
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
                codec, connection = await self._reopen()
        except TimeoutError:
            raise _AttemptFailed(
                ConnectionLost(
                    f"reconnecting did not finish within the {policy.within:g} s reconnect window"
                )
            ) from None
        except (ProviderError, ConnectionLost, OSError) as exc:
            raise _AttemptFailed(exc) from None
        handle = self._handle if isinstance(codec, Resumable) else None
        if handle is not None:
            assert isinstance(codec, Resumable)
            codec.resume_with(handle)
        lost = self._link.attach(codec, connection)
        try:
            await self._restore(lost, deadline, left, resumed=handle is not None)
        except _AttemptFailed:
            if handle is not None and self._handle == handle:
                self._handle = None  # refused or stale: the next attempt restores as text
            self._link.suspend()
            self._ctx.tasks.spawn(close_quietly(connection), "close-failed")
            raise
        self._restored()
        self._link.open()
        return handle is not None

    async def _restore(
        self, lost: asyncio.Future[ConnectionLost], deadline: float, left: int, *, resumed: bool
    ) -> None:
        """Configure the new connection and, unless the provider resumes its own state by
        handle, replay the conversation as text; wait for the provider to confirm, within
        a fair share of what is left of the window (so that a provider that never
        confirms leaves time for the other attempts)."""
        event_id = self._ctx.event_id()
        confirmed = self._confirmations.expect(event_id)
        actions: list[Action] = [UpdateSession(config=self._ctx.config, event_id=event_id)]
        if not resumed:
            actions += [AddHistory(role=role, text=text) for role, text in self.history]
        self._link.restore(actions)
        remaining = max(deadline - time.monotonic(), 0.0)
        share = remaining if left <= 1 else max(remaining / left, min(_MIN_RESTORE_S, remaining))
        bound = min(UPDATE_TIMEOUT, share)
        try:
            waiting: list[asyncio.Future[Any]] = [confirmed, lost]
            done, _ = await asyncio.wait(waiting, timeout=bound, return_when="FIRST_COMPLETED")
        finally:
            confirmed.cancel()
        if lost.done():
            exc = lost.result()
            raise _AttemptFailed(
                ConnectionLost(f"the connection was lost while restoring the session: {exc}", exc)
            )
        if not done:
            raise _AttemptFailed(
                ConnectionLost(
                    f"the provider did not confirm the restored session within {bound:.1f} s"
                )
            )
        try:
            confirmed.result()
        except ProviderError as exc:
            raise _AttemptFailed(exc) from None

    # -- rollover --------------------------------------------------------------------------

    def watch_idle(self, idle: asyncio.Event) -> None:
        """``idle`` is set while no response is active or requested (quiet moments)."""
        self._idle = idle

    def start_rollover(self, limit: float, idle: asyncio.Event) -> None:
        """Roll the connection over before the provider's ``limit`` (seconds) ends it."""
        self._idle = idle
        if self._reopen is not None and self._ctx.config.reconnect is not None:
            self._ctx.tasks.spawn(self._rollover_loop(limit, idle), "rollover")

    def _on_going_away(self, event: GoingAway) -> None:
        # The provider ends this connection soon: move before it does, at a quiet moment
        # if one comes in time, so no turn is cut.
        if self._reopen is None or self._ctx.config.reconnect is None:
            return
        if self._going_away is not None and not self._going_away.done():
            return
        left = (event.time_left_ms if event.time_left_ms is not None else 10_000) / 1000
        self._going_away = self._ctx.tasks.spawn(self._move_before(left), "going-away")

    async def _move_before(self, left: float) -> None:
        connection = self._link.connection
        quiet_until = time.monotonic() + max(left - _GOING_AWAY_LATEST_S, 0) * _GOING_AWAY_HURRY
        latest = time.monotonic() + max(left - _GOING_AWAY_LATEST_S, 0)
        if self._idle is not None:
            try:
                async with asyncio.timeout(max(quiet_until - time.monotonic(), 0)):
                    await self._idle.wait()
            except TimeoutError:
                try:  # no quiet moment yet: take one if it comes before the latest moment
                    async with asyncio.timeout(max(latest - time.monotonic(), 0)):
                        await self._idle.wait()
                except TimeoutError:
                    pass  # better a cut response than a connection the provider ends
        replaced = self._link.connection is not connection or self._link.state != "up"
        if self._ctx.closed or self.recovering or replaced:
            return  # already being replaced (the provider closed first, or a rollover ran)
        self._link.suspend()
        self._running = self._ctx.tasks.spawn(
            self._recover(ConnectionLost("the provider is ending the connection"), rollover=True),
            "going-away-recover",
        )

    async def _rollover_loop(self, limit: float, idle: asyncio.Event) -> None:
        # Replace the connection shortly before the limit, at a moment when no response is
        # active, so no turn is cut by the provider.
        margin = min(limit * _ROLLOVER_MARGIN, 60.0)
        while not self._ctx.closed:
            due = self._link.started_at + limit - margin
            await asyncio.sleep(max(due - time.monotonic(), 0))
            hard = self._link.started_at + limit - margin / 4
            try:
                async with asyncio.timeout(max(hard - time.monotonic(), 0)):
                    await idle.wait()
            except TimeoutError:
                pass  # better a cut response than a session the provider ends
            if self._ctx.closed or self.recovering or self._link.state != "up":
                await asyncio.sleep(0.05)
                continue
            self._link.suspend()
            self._forget(True)  # calls still running answer into the new conversation
            self._running = self._ctx.tasks.spawn(
                self._recover(ConnectionLost("session length limit ahead"), rollover=True),
                "rollover-recover",
            )
            await asyncio.shield(self._running)
