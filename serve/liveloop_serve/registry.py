"""The live calls: slots under the caps, the handler task of each call, hang-ups routed to
the worker that runs the call, leases renewed while a worker lives, and the calls of dead
workers hung up by the living.

A call's life: :meth:`Registry.reserve` takes a slot (global cap, per-caller cap) before any
provider call; a route then sets the call up with the provider and hands it to
:meth:`Registry.start`, which records it in the store and runs the handler in a task this
registry owns. However the call ends (the handler returns, the provider or the caller hangs
up, the server drains), the call is hung up at the provider, the slot is released and the
record dropped. Hang-ups are per kind: a route plugin registers how to hang up its calls at
the provider (:meth:`Registry.register_hangup`), so any worker can hang up any call.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import liveloop
from liveloop import get_logger
from liveloop.app import Handler
from liveloop.log import bind_context

from .store import CallRecord, Store

__all__ = ["Call", "CapacityError", "HangUp", "Registry"]

_log = get_logger("liveloop.serve")

HangUp = Callable[[str], Awaitable[None]]
"""``hang_up(provider_call_id)``: end a call at the provider (bounded; never raises)."""

HANGUP_TIMEOUT = 3.0
"""How long a hang-up at the provider may take."""
END_TIMEOUT = 2.0
"""How long a handler gets to finish once its call was hung up."""
ROUTE_TIMEOUT = HANGUP_TIMEOUT + END_TIMEOUT + 1.0
"""How long a hang-up routed to another worker may take before this worker does it itself."""


class CapacityError(Exception):
    """No slot: ``scope`` is ``"server"`` (the global cap) or ``"caller"`` (the caller's)."""

    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope


@dataclass
class Call:
    """A call whose handler runs in this worker."""

    record: CallRecord
    session: liveloop.Session | None = None
    task: asyncio.Task[None] | None = None
    hung_up: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the caller confirmed its media connected (see :meth:`Registry.confirm`)."""

    @property
    def id(self) -> str:
        """The opaque id of the call."""
        return self.record.id

    @property
    def call_id(self) -> str:
        """The provider's id of the call."""
        return self.record.provider_call_id


class Registry:
    """The calls of one worker, and its share of the deployment's (through the store)."""

    def __init__(
        self,
        app: liveloop.App,
        store: Store,
        *,
        max_sessions: int,
        max_per_caller: int,
        lease: float,
        worker: str | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.max_sessions = max_sessions
        self.max_per_caller = max_per_caller
        self.lease = lease
        self.worker = worker or secrets.token_hex(8)
        self.calls: dict[str, Call] = {}
        """This worker's live calls by id."""
        self._pending: dict[str, str] = {}  # reserved slots not yet calls: slot -> owner
        self._hangups: dict[str, HangUp] = {}
        self._replies: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._background: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()  # set while this worker has no call
        self._idle.set()

    @property
    def active(self) -> int:
        """Calls this worker runs or sets up."""
        return len(self.calls) + len(self._pending)

    def register_hangup(self, kind: str, hang_up: HangUp) -> None:
        """How calls of ``kind`` are hung up at the provider (by any worker)."""
        self._hangups[kind] = hang_up

    # -- lifecycle ----------------------------------------------------------------------------

    async def start_background(self) -> None:
        """Start renewing leases, reaping dead workers' calls and listening for messages."""
        for job, name in (
            (self._renew_leases, "renew"),
            (self._reap, "reap"),
            (self._listen, "listen"),
        ):
            self._background.append(asyncio.create_task(job(), name=f"serve-{name}"))

    async def aclose(self) -> None:
        """End every call of this worker (bounded) and stop the background jobs."""
        calls = list(self.calls.values())
        if calls:
            await asyncio.wait(
                [asyncio.create_task(self._end(call)) for call in calls],
                timeout=HANGUP_TIMEOUT + END_TIMEOUT,
            )
        for task in [*self._background, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._background, *self._tasks, return_exceptions=True)
        self._background.clear()

    def _spawn(self, work: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- slots --------------------------------------------------------------------------------

    async def reserve(self, owner: str, slot: str | None = None) -> str:
        """A slot id for a call ``owner`` is about to open; raises :class:`CapacityError`.
        ``slot`` names it (a route that finds its calls by the carrier's id), else it is
        random.

        Give it back with :meth:`abandon` unless :meth:`start` or :meth:`track` takes it over.
        """
        slot = slot or secrets.token_urlsafe(18)
        answer = await self.store.reserve(
            slot,
            owner,
            max_total=self.max_sessions,
            max_per_caller=self.max_per_caller,
            lease=self.lease,
        )
        if answer != "ok":
            raise CapacityError("caller" if answer == "caller_full" else "server")
        self._pending[slot] = owner
        self._idle.clear()
        return slot

    async def abandon(self, slot: str) -> None:
        """Give back a slot whose call was not set up."""
        owner = self._pending.pop(slot, None)
        if owner is not None:
            self._check_idle()
            await self.store.release(slot, owner)

    def _check_idle(self) -> None:
        if not self.active:
            self._idle.set()

    # -- calls --------------------------------------------------------------------------------

    async def start(
        self,
        slot: str,
        handler: Handler,
        *,
        kind: str,
        provider_call_id: str,
        overrides: dict[str, Any],
        connect_within: float | None = None,
    ) -> Call:
        """Run ``handler`` for the call set up under ``slot`` (``overrides`` are the session
        options that attach it: transport, call id, key, ...). The registry owns the task.

        With ``connect_within``, the call is hung up (and its slot freed) unless the caller
        confirms within that many seconds that its media connected (:meth:`confirm`)."""
        owner = self._pending[slot]
        record = CallRecord(slot, handler.name, owner, kind, provider_call_id, self.worker)
        call = Call(record)
        self.calls[slot] = call
        del self._pending[slot]
        await self.store.put_call(record)
        call.task = self._spawn(self._run(call, handler, overrides), f"serve-{slot[:8]}")
        if connect_within:
            self._spawn(self._connect_deadline(call, connect_within), f"serve-dl-{slot[:8]}")
        _log.info("call started", handler=handler.name, call_id=provider_call_id)
        return call

    async def track(self, slot: str, name: str, *, kind: str, provider_call_id: str) -> Call:
        """Record a call whose handler the route runs itself (its media stream is held by
        this worker): every worker can find it, hang it up (routed here) and reap it. The
        route sets ``call.session`` and ends it with :meth:`untrack`."""
        owner = self._pending.pop(slot)
        record = CallRecord(slot, name, owner, kind, provider_call_id, self.worker)
        call = Call(record)
        self.calls[slot] = call
        await self.store.put_call(record)
        return call

    async def untrack(self, call: Call) -> None:
        """A tracked call ended: forget it and give its slot back."""
        self.calls.pop(call.id, None)
        self._check_idle()
        call.hung_up = True
        call.ended.set()
        with contextlib.suppress(Exception):
            await self.store.release(call.id, call.record.owner)

    async def _run(self, call: Call, handler: Handler, overrides: dict[str, Any]) -> None:
        with bind_context(call_id=call.call_id, handler=handler.name):
            try:
                async with self.app.start(handler.name, **overrides) as run:
                    call.session = run.session
                    if call.hung_up:
                        return
                    await run.wait()
            except asyncio.CancelledError:
                raise
            except liveloop.SessionClosed:
                pass
            except Exception as exc:
                # App.start logs a handler's own exception with the session id; this line
                # covers a session that could not be opened too.
                _log.warning("call ended by an error", error=f"{type(exc).__name__}: {exc}")
            finally:
                self.calls.pop(call.id, None)
                self._check_idle()
                try:
                    await self._hang_up(call)
                    with contextlib.suppress(Exception):
                        await self.store.release(call.id, call.record.owner)
                finally:
                    call.ended.set()
                    _log.info("call ended", handler=handler.name, active=self.active)

    async def _hang_up(self, call: Call) -> None:
        if call.hung_up:
            return
        call.hung_up = True
        await self._provider_hang_up(call.record)

    async def _provider_hang_up(self, record: CallRecord) -> None:
        hang_up = self._hangups.get(record.kind)
        if hang_up is None:
            _log.warning("no way to hang up this kind of call", kind=record.kind)
            return
        try:
            async with asyncio.timeout(HANGUP_TIMEOUT):
                await hang_up(record.provider_call_id)
        except TimeoutError:
            _log.warning("the hangup did not reach the provider in time")

    async def _end(self, call: Call, reason: str | None = None) -> None:
        # With a reason, the handler hears it first (its session closes with it), then
        # the call is hung up as the handler's task ends; without, the hang-up comes first.
        if reason is None or call.session is None:
            await self._hang_up(call)
        if call.session is not None:
            await call.session.close(*(() if reason is None else (reason,)))
        try:
            async with asyncio.timeout(END_TIMEOUT + (0 if reason is None else HANGUP_TIMEOUT)):
                await call.ended.wait()
        except TimeoutError:
            if call.task is not None:
                call.task.cancel()

    async def _connect_deadline(self, call: Call, within: float) -> None:
        try:
            async with asyncio.timeout(within):
                await call.connected.wait()
        except TimeoutError:
            if not call.ended.is_set():
                _log.info("the caller never connected; hanging up", call_id=call.call_id)
                await self._end(call)

    async def confirm(self, call_id: str, owner: str, name: str) -> bool:
        """The caller ``owner`` says the media of its call ``call_id`` (handler ``name``)
        connected; ``False`` when there is no such call of theirs (as for :meth:`end`)."""
        local = self.calls.get(call_id)
        if local is not None:
            if local.record.owner != owner or local.record.name != name:
                return False
            local.connected.set()
            return True
        record = await self.store.get_call(call_id)
        if record is None or record.owner != owner or record.name != name:
            return False
        await self.store.send(record.worker, {"op": "connected", "call": call_id})
        return True

    async def drain(self, timeout: float, reason: str) -> None:
        """Let this worker's calls run for up to ``timeout`` seconds, then end the rest,
        their sessions closing with ``reason``."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            pass
        calls = list(self.calls.values())
        if calls:
            _log.warning("ending the calls still running", calls=len(calls), reason=reason)
            await asyncio.gather(*(self._end(call, reason) for call in calls))

    async def end(self, call_id: str, owner: str, name: str) -> bool:
        """Hang up call ``call_id`` of ``owner`` under handler ``name``, wherever it runs.

        ``False`` when there is no such call — or it is someone else's, or under another
        name: the two look the same, so ids cannot be probed.
        """
        local = self.calls.get(call_id)
        if local is not None:
            if local.record.owner != owner or local.record.name != name:
                return False
            await self._end(local)
            return True
        record = await self.store.get_call(call_id)
        if record is None or record.owner != owner or record.name != name:
            return False
        if record.worker == self.worker:  # ended while we looked
            return True
        reply: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._replies[call_id] = reply
        try:
            await self.store.send(
                record.worker, {"op": "hangup", "call": call_id, "reply_to": self.worker}
            )
            async with asyncio.timeout(ROUTE_TIMEOUT):
                await reply
        except TimeoutError:
            # The worker did not answer (gone, or stuck): hang up here and free the slot.
            _log.warning("the call's worker did not answer; hanging up here")
            await self._provider_hang_up(record)
            await self.store.release(record.id, record.owner)
        finally:
            self._replies.pop(call_id, None)
        return True

    # -- background jobs ------------------------------------------------------------------------

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            held = [(c.id, c.record.owner) for c in self.calls.values()]
            held += list(self._pending.items())
            if held:
                try:
                    await self.store.renew(held, self.lease)
                except Exception as exc:  # the store is down: try again next round
                    _log.warning("could not renew the call leases", error=str(exc))

    async def _reap(self) -> None:
        every = min(2.0, self.lease / 3)
        while True:
            await asyncio.sleep(every)
            try:
                claimed = await self.store.claim_expired()
            except Exception as exc:
                _log.warning("could not look for calls of dead workers", error=str(exc))
                continue
            for _, record in claimed:
                if record is None or record.id in self.calls:
                    continue
                _log.warning(
                    "hanging up a call whose worker is gone", call_id=record.provider_call_id
                )
                self._spawn(self._provider_hang_up(record), "serve-reap")

    async def _listen(self) -> None:
        while True:
            try:
                async for message in self.store.messages(self.worker):
                    self._on_message(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store dropped the subscription: subscribe again
                _log.warning("control messages interrupted", error=str(exc))
                await asyncio.sleep(1.0)

    def _on_message(self, message: dict[str, Any]) -> None:
        op, call_id = message.get("op"), str(message.get("call", ""))
        if op == "hangup":
            self._spawn(self._routed_hangup(call_id, str(message.get("reply_to", ""))), "serve-hup")
        elif op == "connected" and call_id in self.calls:
            self.calls[call_id].connected.set()
        elif op == "ended":
            reply = self._replies.get(call_id)
            if reply is not None and not reply.done():
                reply.set_result(None)

    async def _routed_hangup(self, call_id: str, reply_to: str) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            await self._end(call)
        if reply_to:
            await self.store.send(reply_to, {"op": "ended", "call": call_id})
