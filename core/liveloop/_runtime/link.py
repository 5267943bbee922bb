"""The link: the live connection and its codec, the one outbox, the one send path, and
the loops that read and write it.

Everything the session sends goes through :class:`Link` — actions in order through the
outbox, a restore ahead of them, live audio by a shortcut taken only when nothing waits
— so ordering holds by construction. Incoming messages are decoded by the codec of the
connection they came on and handed to the event bus.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Literal

from ..actions import (
    Action,
    AppendAudio,
    CancelResponse,
    ClearOutputAudio,
    CommitAudio,
    TruncateItem,
)
from ..codec import EventCodec, LocalEvents
from ..errors import ConnectionLost
from ..events import Event
from ..log import get_logger
from ..transport import Connection, MediaChannel
from .context import Context

_log = get_logger("liveloop.session")

CLOSE_TIMEOUT = 0.8  # a transport's close must fit in close()'s one-second promise

# What refers to a connection's own state (its input buffer, items, response, playback)
# means nothing to the next one.
_STALE = (AppendAudio, TruncateItem, CancelResponse, ClearOutputAudio, CommitAudio)

State = Literal["up", "restoring", "down"]
Queued = tuple[Action, "asyncio.Future[None] | None"]


class Link:
    """The connection the session is on, and the one way to send to it.

    States: ``up`` (the outbox flows), ``restoring`` (a new connection takes only the
    restore, the outbox waits), ``down`` (nothing is sent; actions wait, live audio is
    dropped). A lost connection calls ``on_lost`` once when it happens while ``up``;
    during a restore, the loss resolves the future :meth:`attach` returned instead.
    """

    def __init__(
        self,
        ctx: Context,
        codec: EventCodec,
        connection: Connection,
        dispatch: Callable[[Event], None],
    ) -> None:
        self.codec = codec
        self.connection = connection
        self.started_at = time.monotonic()
        self.up = asyncio.Event()
        self.up.set()
        self.on_lost: Callable[[ConnectionLost], None] = lambda exc: None
        self.on_failure: Callable[[Exception], Awaitable[None]] | None = None
        self._ctx = ctx
        self._dispatch = dispatch
        self._state: State = "up"
        self._outbox: deque[Queued] = deque()
        self._restore: deque[Action] = deque()
        self._wake = asyncio.Event()
        self._checked_codec: EventCodec | None = None
        self._local: LocalEvents | None = None
        self._lost: asyncio.Future[ConnectionLost] = asyncio.get_running_loop().create_future()

    @property
    def state(self) -> State:
        return self._state

    @property
    def media(self) -> MediaChannel | None:
        """The connection's media channel (audio beside the events), if it has one."""
        return self.connection.media

    def start(self) -> None:
        """Start writing, and reading the current connection."""
        self._ctx.tasks.spawn(self._write_loop(), "write")
        self._read(self.connection, self.codec)

    # -- sending ---------------------------------------------------------------------------

    def send(self, action: Action, done: asyncio.Future[None] | None = None) -> None:
        """Queue ``action``; ``done`` resolves once it is on the wire."""
        # Actions, not encoded messages, wait here: after a reconnect they are encoded by
        # the new connection's codec.
        self._outbox.append((action, done))
        self._wake.set()

    async def send_audio(self, pcm: bytes) -> bool:
        """Send user audio; False if it was dropped because the link is not up.

        Waits while the connection is backed up. With nothing queued ahead, the audio
        goes straight to the wire (the hot path of a live microphone).
        """
        if self._state != "up":
            return False
        connection = self.connection
        if connection.media is not None:
            await connection.media.send_audio(pcm)
            return True
        if self._outbox or self._restore:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.send(AppendAudio(audio=pcm), done)
            await done
            return True
        try:
            for message in self.codec.encode(AppendAudio(audio=pcm)):
                await connection.send(message)
        except ConnectionLost as exc:
            self._lose(connection, exc)
            return False
        return True

    def rewrite(self, change: Callable[[Action], Action | None]) -> list[Action]:
        """Replace each queued action by ``change(action)`` (``None`` drops it); returns
        the dropped actions. Used when a connection is replaced: what referred to the old
        one (its audio buffer, its items, its calls) is stale."""
        kept: list[Queued] = []
        dropped: list[Action] = []
        for action, done in self._outbox:
            new = change(action)
            if new is None:
                dropped.append(action)
                if done is not None and not done.done():
                    done.set_result(None)
            else:
                kept.append((new, done))
        self._outbox.clear()
        self._outbox.extend(kept)
        return dropped

    def forget_stale(self) -> None:
        """The connection is being replaced: drop queued actions that referred to it
        (user audio is counted as dropped)."""
        for action in self.rewrite(lambda a: None if isinstance(a, _STALE) else a):
            if isinstance(action, AppendAudio):
                rate = self._ctx.config.input_audio.bytes_per_ms
                self._ctx.metrics.audio_dropped_ms += len(action.audio) / rate

    # -- connections -----------------------------------------------------------------------

    def suspend(self) -> None:
        """Stop sending (the connection is about to be replaced)."""
        self._state = "down"
        self.up.clear()

    def attach(self, codec: EventCodec, connection: Connection) -> asyncio.Future[ConnectionLost]:
        """Make ``connection`` the session's, in the restoring state; start reading it.
        The returned future resolves with the loss if the connection is lost."""
        self._restore.clear()
        self.codec, self.connection = codec, connection
        self.started_at = time.monotonic()
        self._state = "restoring"
        self.up.clear()
        self._lost = asyncio.get_running_loop().create_future()
        self._read(connection, codec)
        return self._lost

    def restore(self, actions: list[Action]) -> None:
        """Send ``actions`` on the connection being restored, ahead of the outbox."""
        self._restore.extend(actions)
        self._wake.set()

    def open(self) -> None:
        """The restore is confirmed: let the outbox flow."""
        self._state = "up"
        self.up.set()
        self._wake.set()

    def _read(self, connection: Connection, codec: EventCodec) -> None:
        self._ctx.tasks.spawn(self._read_loop(connection, codec), "read")
        if connection.media is not None:
            self._ctx.tasks.spawn(self._media_loop(connection.media), "media")

    def _lose(self, connection: Connection, exc: ConnectionLost) -> None:
        if connection is not self.connection or self._lost.done():
            return  # a replaced connection ending (rollover), or a loss already known
        self._lost.set_result(exc)
        if self._state == "up":
            self.suspend()
            self.on_lost(exc)
        elif self._state == "restoring":
            self._state = "down"

    async def close(self) -> None:
        """Close the current connection (bounded; never raises)."""
        self.suspend()
        await close_quietly(self.connection)

    # -- loops -----------------------------------------------------------------------------

    def _next(self) -> tuple[Action, bool] | None:
        if self._state == "down":
            return None
        if self._restore:
            return self._restore[0], True
        if self._state == "up" and self._outbox:
            return self._outbox[0][0], False
        return None

    async def _write_loop(self) -> None:
        try:
            while True:
                found = self._next()
                if found is None:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                action, restoring = found
                connection = self.connection
                codec = self.codec
                try:
                    for message in codec.encode(action):
                        await connection.send(message)
                except ConnectionLost as exc:
                    # The outbox keeps the action for the next connection; a restore is
                    # made afresh for it.
                    if restoring:
                        self._restore.clear()
                    self._lose(connection, exc)
                    continue
                self._sent(action, restoring)
                local = self._local_events(codec)
                if local is not None:
                    # Events the codec made itself (what its provider never confirms).
                    for event in local.take_local_events():
                        self._dispatch(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed("session writer failed", exc)

    def _local_events(self, codec: EventCodec) -> LocalEvents | None:
        # Asked once per codec: isinstance against a runtime-checkable protocol walks the
        # protocol's members on every call (tens of µs on Python 3.11), and this ran after
        # every action sent, holding up the reader behind a say() or respond().
        if codec is not self._checked_codec:
            self._checked_codec = codec
            self._local = codec if isinstance(codec, LocalEvents) else None
        return self._local

    def _sent(self, action: Action, restoring: bool) -> None:
        if restoring:
            if self._restore and self._restore[0] is action:
                self._restore.popleft()
            return
        for index, (queued, done) in enumerate(self._outbox):
            if queued is action:  # usually the head; a rewrite may have moved it
                del self._outbox[index]
                if done is not None and not done.done():
                    done.set_result(None)
                return

    async def _read_loop(self, connection: Connection, codec: EventCodec) -> None:
        try:
            while True:
                message = await connection.receive()
                for event in codec.decode(message):
                    self._dispatch(event)
        except ConnectionLost as exc:
            self._lose(connection, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed("session reader failed", exc)

    async def _media_loop(self, media: MediaChannel) -> None:
        # The transport attributes track audio to the provider's items; it arrives here
        # as normalized events, like audio inside the wire messages.
        try:
            while True:
                self._dispatch(await media.receive_audio())
        except ConnectionLost:
            return  # the control connection's reader decides what a lost link means

    async def _failed(self, what: str, exc: Exception) -> None:
        _log.exception(what, **self._ctx.log)
        if self.on_failure is not None:
            await self.on_failure(exc)

    def fail_waiting(self, reason: BaseException) -> None:
        """The session closed: what waits to be sent never will be."""
        while self._outbox:
            _, done = self._outbox.popleft()
            if done is not None and not done.done():
                done.set_exception(reason)
        self._restore.clear()


async def close_quietly(connection: Connection) -> None:
    """Close ``connection`` within :data:`CLOSE_TIMEOUT`, whatever it does."""
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await connection.close()
    except (TimeoutError, Exception) as exc:  # the link is gone either way
        _log.debug("connection close did not finish cleanly", error=str(exc))
