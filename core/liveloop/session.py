"""The live session: what a handler talks to.

A :class:`Session` runs over one connection made by a transport plugin and one event
codec made by a provider plugin. It turns the provider's events into user turns
(:meth:`Session.input`), voices text (:meth:`Session.say`), answers every tool call
exactly once, handles barge-in (stops playback and truncates the assistant item to
what was delivered), and closes within bounds whatever the provider does.

The session is a facade: the work is done by the components in :mod:`liveloop._runtime`
(see CONTRIBUTING.md, "Data flow").
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Literal

from ._fanout import Fanout
from ._runtime.bus import EventBus
from ._runtime.confirm import Confirmations
from ._runtime.context import Context
from ._runtime.inbox import TurnInbox
from ._runtime.link import CLOSE_TIMEOUT, Link
from ._runtime.phone import PhoneLine
from ._runtime.playback import AudioOut, Playback
from ._runtime.recovery import UPDATE_TIMEOUT, Recovery, Reopen
from ._runtime.responses import Responses
from ._runtime.tasks import Tasks
from ._runtime.telemetry import Telemetry, telemetry_for
from ._runtime.toolrunner import ToolRunner
from ._runtime.userinput import UserInput
from .actions import CancelResponse, CreateResponse, SendText
from .calls import CallControl, PhoneCall
from .codec import EventCodec
from .config import SessionConfig
from .errors import ConnectionLost, LiveloopError, ProviderError, SessionClosed
from .events import Closed, Event, ResponseDone, SessionStarted, ToolCall
from .features import Features
from .log import bind_context, get_logger
from .matrix import Capability
from .metrics import SessionMetrics
from .provider_errors import ProviderErrors
from .speech import Speech
from .tools import Tool, tools_from
from .transport import Connection
from .turns import SessionTurn

__all__ = ["AudioOut", "Reopen", "Session"]

_log = get_logger("liveloop.session")

_EVENT_BUFFER = 4096


class Session:
    """A live realtime session. Get one from :func:`liveloop.connect`.

    All methods are coroutines or plain calls on the event loop that opened the session.
    Once the session is closed (by :meth:`close`, the provider, or a lost connection),
    waiting calls raise :class:`SessionClosed` carrying the cause.
    """

    def __init__(
        self,
        *,
        config: SessionConfig,
        codec: EventCodec,
        connection: Connection,
        capability: Capability,
        tools: Iterable[Tool] = (),
        reopen: Reopen | None = None,
        max_session_seconds: float | None = None,
        errors: ProviderErrors | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.capabilities = capability
        self.provider_session_id: str | None = None
        self._close_reason: SessionClosed | None = None
        self._events: Fanout[Event] = Fanout(_EVENT_BUFFER)
        self._tasks = Tasks(f"liveloop-{self.id}")
        self._telemetry: Telemetry | None = None
        ctx = self._ctx = Context(
            session_id=self.id,
            config=config,
            features=capability.features,
            errors=errors or ProviderErrors(),
            publish=self._publish,
            tasks=self._tasks,
        )
        # A session's config is resolved (connect() names its pair): "?" never shows.
        ctx.log = {"session_id": self.id, "provider": config.provider or "?"}
        ctx.log["transport"] = config.transport or "?"
        self._telemetry = telemetry_for(ctx, config.model)
        if config.call_id is not None:
            ctx.log["call_id"] = config.call_id
        self._max_session_seconds = config.max_session_seconds or max_session_seconds

        # Events flow one way: link -> bus -> components (in subscription order) -> app.
        bus = self._bus = EventBus(self._publish)
        bus.publish_first(ResponseDone, ToolCall)
        bus.on(SessionStarted, self._on_session_started)
        link = self._link = Link(ctx, codec, connection, bus.dispatch)
        link.on_failure = self._on_failure
        self._confirmations = Confirmations(ctx, link, bus)
        self._playback = Playback(ctx, link, bus)
        self._responses = Responses(ctx, link, bus, self._playback)
        self._playback.attach(self._responses)
        self._tools = ToolRunner(ctx, link, bus, self._responses, tools_from(tools))
        self._input = UserInput(ctx, link, bus)
        self._inbox = TurnInbox(ctx, bus, self._input, self._playback)
        self._phone = PhoneLine(ctx, bus, self._inbox)
        self._recovery = Recovery(
            ctx,
            link,
            bus,
            self._confirmations,
            reopen=reopen,
            shutdown=self._shutdown,
            forget=self._forget_link,
            restored=self._restored,
        )

    # -- lifecycle -----------------------------------------------------------------------

    async def _start(self) -> None:
        """Start reading and writing, send the configuration, wait until it is applied."""
        with bind_context(**self._ctx.log):
            self._link.start()
            self._recovery.watch_idle(self._responses.idle)
            if self._max_session_seconds is not None:
                self._recovery.start_rollover(self._max_session_seconds, self._responses.idle)
        try:
            await self._confirmations.apply(self.config, timeout=self.config.connect_timeout)
        except SessionClosed as exc:
            await self.close()
            refusal = self._refusal(exc)
            if refusal is not None:
                raise refusal from None
            raise
        except BaseException:
            await self.close()
            raise
        _log.info("session started", **self._ctx.log, pair=self.config.pair)

    @property
    def call(self) -> PhoneCall | None:
        """The phone call this session serves (``None`` outside phone calls)."""
        return self._phone.call

    def _refusal(self, closed: SessionClosed) -> ProviderError | None:
        # A provider that refuses by closing the link (a bad key) ends connect() with a
        # ProviderError naming the cause, as a refused handshake does.
        lost = closed.cause
        if not isinstance(lost, ConnectionLost) or lost.close_code is None:
            return None
        errors = self._ctx.errors
        kind = errors.classify_close(lost.close_code, lost.close_reason)
        if not errors.ends_session(kind):
            return None
        reason = f": {lost.close_reason}" if lost.close_reason else ""
        return ProviderError(
            f"the provider refused the session ({kind}; code {lost.close_code}{reason})",
            code="invalid_api_key" if kind == "authentication" else f"close_{lost.close_code}",
        )

    @property
    def config(self) -> SessionConfig:
        """The session's configuration (as last applied by :meth:`update`)."""
        return self._ctx.config

    @property
    def metrics(self) -> SessionMetrics:
        """Turn latency, time to first audio, token usage, drops (see SessionMetrics)."""
        return self._ctx.metrics

    @property
    def closed(self) -> bool:
        """Whether the session has closed."""
        return self._ctx.closed

    @property
    def close_reason(self) -> SessionClosed | None:
        """Why the session closed (``None`` while open)."""
        return self._close_reason

    @property
    def features(self) -> Features:
        """The feature flags of this session's provider/transport pair."""
        return self.capabilities.features

    async def close(self, reason: str = "session closed by the application") -> None:
        """Close the session; returns within about a second whatever the provider does.

        Pending and future :meth:`input` calls raise :class:`SessionClosed` with ``reason``
        (a server says why it ends its calls: ``"the server is draining"``), ``audio_out``
        and ``events`` iterators end, unfinished :class:`Speech` handles fail.
        """
        await self._shutdown(SessionClosed(reason))

    async def _shutdown(self, reason: SessionClosed) -> None:
        if self._ctx.closed:
            return
        self._ctx.closed = True
        self._close_reason = reason
        # Waiters first: nothing may hang on a task being cancelled below.
        self._inbox.fail(reason)
        self._responses.fail_all(reason)
        self._tools.fail_all(reason)
        self._playback.fail_all(reason)
        self._confirmations.fail_all(reason)
        self._link.fail_waiting(reason)
        self._phone.close()
        await self._link.close()
        await self._tasks.close(CLOSE_TIMEOUT)
        error = None if reason.cause is None else str(reason)
        if self._telemetry is not None:
            self._telemetry.close(error)
        self._publish(Closed(reason=reason.reason, error=error))
        self._events.close()
        level = "info" if reason.cause is None else "warning"
        getattr(_log, level)("session closed", **self._ctx.log, reason=str(reason))

    async def _on_failure(self, exc: Exception) -> None:
        await self._shutdown(SessionClosed("session failed", exc))

    def _forget_link(self, rollover: bool) -> None:
        # What the old connection was doing is gone: its response, its calls, its playback,
        # and audio meant for its input buffer. A rollover keeps reading the old connection
        # until the new one is restored: only its calls belong to a conversation left behind.
        if rollover:
            self._tools.forget_link()
            return
        self._responses.forget_link()
        self._playback.forget_link()
        self._tools.forget_link()
        self._link.forget_stale()

    def _restored(self) -> None:
        self._input.new_connection()
        self._responses.pump()

    def _ensure_open(self) -> None:
        if self._ctx.closed:
            assert self._close_reason is not None
            raise self._close_reason

    def _publish(self, event: Event) -> None:
        if self._telemetry is not None:
            self._telemetry.seen(event)
        self._events.publish(event)
        self._ctx.metrics.events_dropped = self._events.dropped

    def _on_session_started(self, event: SessionStarted) -> None:
        self.provider_session_id = event.session_id

    # -- user input ----------------------------------------------------------------------

    async def input(self) -> SessionTurn:
        """The next completed user turn (spoken or typed), in order; none lost or repeated.

        Raises :class:`SessionClosed` (with the cause) once the session closes, and
        ``RuntimeError`` if another task is already waiting in ``input()``.
        """
        if not self._inbox.ready:
            self._ensure_open()
        return await self._inbox.next()

    async def turns(self) -> AsyncIterator[SessionTurn]:
        """Every user turn from now on; ends when the session closes."""
        while True:
            try:
                yield await self.input()
            except SessionClosed:
                return

    async def send_text(self, text: str) -> None:
        """Send a typed user message; it becomes a turn, and the model answers it when
        ``auto_respond`` is on."""
        self._ensure_open()
        self._link.send(SendText(text=text))
        if self.config.auto_respond:
            self._responses.request(CreateResponse(), "text_reply")

    async def send_audio(self, pcm: bytes) -> None:
        """Send user audio: PCM16 mono at the session's input format, any chunk size.

        Waits while the connection is backed up, so a fast producer cannot grow memory.
        Raises :class:`LiveloopError` on a pair without ``audio_in`` (a sideband: the
        user's audio goes from their device to the provider, not through this process).
        """
        self._require_media("audio_in", "send_audio")
        self._ensure_open()
        await self._input.send_audio(pcm)

    def tap_audio_in(self, listener: Callable[[bytes], None]) -> Callable[[], None]:
        """Call ``listener`` with every chunk :meth:`send_audio` takes (PCM16 at the input
        format), until the returned function is called: for recorders and level meters,
        so it must not block."""
        return self._input.tap(listener)

    async def commit_audio(self) -> None:
        """End the user's turn now (for sessions without turn detection)."""
        self._ensure_open()
        self._input.commit()
        if self.config.auto_respond and self.config.turn_detection is None:
            self._responses.request(CreateResponse(), "respond")

    async def clear_audio(self) -> None:
        """Discard user audio the provider has not committed yet."""
        self._ensure_open()
        self._input.clear()

    # -- assistant output ----------------------------------------------------------------

    def say(self, text: str) -> Speech:
        """Make the model say exactly ``text``; returns a :class:`Speech` at once.

        ``await session.say(text)`` waits until the speech is complete. A say issued
        while another response is active is queued behind it, never rejected.
        """
        self._ensure_open()
        speech = Speech(f"say_{self._ctx.next_id()}", text, self._cancel_speech)
        if self._telemetry is not None:
            self._telemetry.speech(speech, "say")
        self._responses.request(CreateResponse(say=text), "say", speech)
        return speech

    def respond(self, instructions: str | None = None) -> Speech:
        """Ask the model for a reply of its own (optionally steered by ``instructions``).

        Returns a :class:`Speech` whose ``transcript`` is what the model said. If the
        model calls tools first, the handle completes with the reply that follows their
        results.
        """
        self._ensure_open()
        speech = Speech(f"respond_{self._ctx.next_id()}", "", self._cancel_speech)
        if self._telemetry is not None:
            self._telemetry.speech(speech, "respond")
        self._responses.request(CreateResponse(instructions=instructions), "respond", speech)
        return speech

    def audio_out(self) -> AsyncIterator[AudioOut]:
        """Assistant audio as it arrives: :class:`~liveloop.events.AssistantAudio` chunks
        (PCM16 at the output format) and an :class:`~liveloop.events.Interrupted` marker
        when the user barges in (drop whatever you have buffered).

        Each iterator gets every chunk from the moment it starts; a consumer that stops
        reading loses the oldest chunks (counted in ``metrics.audio_out_dropped``), so
        memory stays bounded. What consumers take counts as played for truncation,
        unless the app reports playback itself with :meth:`played`.

        Raises :class:`LiveloopError` at once on a pair without ``audio_out`` (a
        sideband: the assistant's audio goes from the provider to the user's device).
        """
        self._require_media("audio_out", "audio_out")
        return self._playback.chunks()

    def _require_media(self, flag: Literal["audio_in", "audio_out"], method: str) -> None:
        if not getattr(self.features, flag):
            where = "between the user and the provider" if self.features.sideband else "elsewhere"
            raise LiveloopError(
                f"{method}() is not available on {self.config.pair}: its audio flows {where},"
                f" not through this process (features.{flag} is false); use say(), input()"
                " and events() instead"
            )

    def played(self, ms: int, item_id: str | None = None) -> None:
        """Report how many ms of an assistant item (default: the current one) the user
        has actually heard.

        From the first report on (``played(0)`` before any audio declares it), playback
        follows the reports: barge-in truncates every item still playing to what was
        reported (an item never reported counts as unheard), ``say()`` completes once its
        audio was heard, and ``metrics.audio_played_ms`` adds up what was heard.
        """
        self._playback.played(ms, item_id)

    async def interrupt(self) -> None:
        """Cut the assistant off now: cancel the active response, stop playback, and
        truncate the item to what was heard."""
        self._ensure_open()
        if self._responses.active is not None:
            self._link.send(CancelResponse(response_id=self._responses.active))
        self._playback.interrupt()

    async def update(self, *, tools: Iterable[Any] | None = None, **changes: Any) -> None:
        """Change the session's configuration (instructions, voice, tools, turn detection...).

        Waits until the provider applied it; raises :class:`ConfigError` for invalid
        values and :class:`ProviderError` if the provider refuses.
        """
        self._ensure_open()
        data = self.config.model_dump()
        data.update(changes)
        if tools is not None:
            new_tools = tools_from(tools)
            data["tools"] = [tool.definition for tool in new_tools.values()]
        config = SessionConfig.model_validate(data)
        await self._confirmations.apply(config, timeout=UPDATE_TIMEOUT)
        self._ctx.config = config
        self._input.set_manual(config.turn_detection is None)
        if tools is not None:
            self._tools.tools = new_tools

    async def events(self) -> AsyncIterator[Event]:
        """Every normalized event from now on (see :mod:`liveloop.events`); ends with
        :class:`~liveloop.events.Closed`."""
        sub = self._events.subscribe()
        try:
            async for event in sub:
                yield event
        finally:
            sub.unsubscribe()

    # -- phone calls -----------------------------------------------------------------------

    def attach_call(self, call: PhoneCall, control: CallControl) -> None:
        """Make this session serve a phone call (for servers, before the handler runs)."""
        self._phone.attach(call, control)

    async def transfer(self, target: str) -> None:
        """Hand the phone call to ``target`` (a ``tel:``/``sip:`` URI or a number).

        Raises :class:`LiveloopError` outside phone calls, or with the cause when the
        carrier or provider refuses (e.g. a bridged call without carrier credentials).
        """
        await self._phone.control("transfer").transfer(target)

    async def hang_up(self) -> None:
        """End the phone call (the session then closes)."""
        await self._phone.control("hang_up").hang_up()

    def inject(self, event: Event) -> None:
        """Handle ``event`` as if the provider had sent it: for events that reach this
        process outside the provider's link (a carrier's DTMF key presses)."""
        if not self._ctx.closed:
            self._bus.dispatch(event)

    def _cancel_speech(self, speech: Speech) -> None:
        if self._responses.cancel(speech) or self._tools.cancel(speech):
            return
        if speech.response_id is not None and speech.response_id == self._responses.active:
            speech.status = "interrupted"
            self._tasks.spawn(self.interrupt(), "interrupt")

    def __repr__(self) -> str:
        state = "closed" if self._ctx.closed else "open"
        return f"<Session {self.id} {self.config.pair} {state}>"
