"""The live session: what a handler talks to.

A :class:`Session` runs over one connection made by a transport plugin and one event
codec made by a provider plugin. It turns the provider's events into user turns
(:meth:`Session.input`), voices text (:meth:`Session.say`), answers every tool call
exactly once, handles barge-in (stops playback and truncates the assistant item to
what was delivered), and closes within bounds whatever the provider does.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ._fanout import Fanout
from .actions import (
    Action,
    AddHistory,
    AppendAudio,
    CancelResponse,
    ClearAudio,
    ClearOutputAudio,
    CommitAudio,
    CreateResponse,
    SendText,
    SendToolOutput,
    TruncateItem,
    UpdateSession,
)
from .calls import CallControl, DtmfTurns, PhoneCall
from .codec import EventCodec, LocalEvents
from .config import ReconnectPolicy, SessionConfig
from .errors import ConnectionLost, LiveloopError, ProviderError, SessionClosed
from .events import (
    AssistantAudio,
    AssistantTextDelta,
    AssistantTextDone,
    AssistantTranscriptDelta,
    AssistantTranscriptDone,
    Closed,
    Dtmf,
    ErrorEvent,
    Event,
    Interrupted,
    PlaybackStarted,
    PlaybackStopped,
    Reconnected,
    ResponseDone,
    ResponseStarted,
    SessionStarted,
    SessionUpdated,
    ToolCall,
    ToolResult,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTurn,
)
from .features import Features
from .log import bind_context, get_logger
from .matrix import Capability
from .metrics import SessionMetrics, TurnMetrics
from .speech import Speech
from .tools import Tool, tools_from, unknown_tool
from .transport import Connection, MediaChannel
from .turns import SessionTurn

__all__ = ["AudioOut", "Session"]

AudioOut = AssistantAudio | Interrupted
"""What :meth:`Session.audio_out` yields: audio chunks, and a marker on barge-in."""

_log = get_logger("liveloop.session")

CLOSE_TIMEOUT = 0.8  # the transport's close must fit in close()'s one-second promise
RESPONSE_START_TIMEOUT = 15.0  # a response.create the provider never answers
UPDATE_TIMEOUT = 10.0
_REQUEST_KEY = "liveloop_request"
_EVENT_BUFFER = 4096
_AUDIO_BUFFER = 512  # chunks per audio_out() consumer (~20 s at 40 ms)
_TRACK_SWITCH_MAX_S = 0.5  # longest a media track's audio lags its playback events
_QUIET_LEVEL = 100  # PCM16 amplitude below which a chunk counts as silence
_PLAYBACK_GRACE_S = 120.0  # longest wait for a track's playback to report its end
_PREROLL_MS = 1000  # user audio kept before speech starts, for turn.audio
_PIN_LATENCY_S = 2.0  # how long after sending audio the provider may still pin a turn in it
_MAX_RECORDED_MS = 300_000
_HISTORY_TURNS = 50  # conversation turns restored after a reconnect
_ROLLOVER_MARGIN = 0.1  # roll over this share of the session limit before it (<= 60 s)

Reopen = Callable[[], Awaitable[tuple[EventCodec, Connection]]]
"""Opens a fresh codec and connection for the same session (for reconnects)."""


@dataclass
class _Request:
    """A response the runtime asked for (say, respond, tool follow-up, typed reply)."""

    id: str
    action: CreateResponse
    kind: Literal["say", "respond", "tool_followup", "text_reply"]
    speech: Speech | None = None
    event_id: str | None = None
    response_id: str | None = None
    watchdog: asyncio.TimerHandle | None = None


@dataclass
class _ItemAudio:
    """Playback bookkeeping for one assistant audio item."""

    item_id: str
    response_id: str
    received: int = 0  # bytes of audio received
    delivered: int = 0  # bytes yielded to audio_out() consumers (furthest consumer)
    reported_ms: int | None = None  # what the app says it played (session.played)
    interrupted: bool = False


@dataclass
class _InputRecorder:
    """User audio sent through this process, kept just long enough to attach to turns.

    Offsets are absolute bytes since the session began; the provider's milliseconds count
    from the start of the current connection (``epoch``). Audio is kept from the oldest
    of: the preroll before now, a pinned speech start, or (manual turns) the start of a
    segment not yet taken by its turn.
    """

    bytes_per_ms: float
    manual: bool = False  # turns end by commit_audio(), not by the provider's VAD
    buf: bytearray = field(default_factory=bytearray)
    start: int = 0  # absolute byte offset of buf[0]
    epoch: int = 0  # absolute byte offset where the current connection's audio began
    pins: dict[str, int] = field(default_factory=dict)  # item -> absolute start offset
    segments: deque[int] = field(default_factory=lambda: deque([0]))  # manual-turn starts
    sent_at: deque[tuple[float, int]] = field(default_factory=deque)  # (when, offset) sent

    @property
    def total(self) -> int:
        return self.start + len(self.buf)

    def append(self, pcm: bytes) -> None:
        # Audio sent in the last moments is kept too: a fast sender (a file, a test) is far
        # ahead of the provider's speech_started, which pins where a turn began.
        now = time.monotonic()
        self.sent_at.append((now, self.total))
        while self.sent_at and self.sent_at[0][0] < now - _PIN_LATENCY_S:
            self.sent_at.popleft()
        self.buf += pcm
        recent = self.sent_at[0][1]
        keep_from = min(
            [self.total - int(_PREROLL_MS * self.bytes_per_ms), recent, *self.pins.values()]
        )
        if self.manual:
            keep_from = min(keep_from, self.segments[0])
        keep_from = max(keep_from, self.total - int(_MAX_RECORDED_MS * self.bytes_per_ms))
        drop = _even(keep_from - self.start)
        if drop > 0:
            del self.buf[:drop]
            self.start += drop

    def _offset(self, ms: int) -> int:
        return self.epoch + _even(int(ms * self.bytes_per_ms))

    def new_connection(self) -> None:
        """The provider's clock restarts: its 0 ms is what is sent from now on."""
        self.epoch = self.total
        self.pins.clear()
        self.segments = deque([self.total])

    def commit(self) -> None:
        """A manual commit: what follows belongs to the next turn."""
        self.segments.append(self.total)

    def clear(self) -> None:
        """Uncommitted audio was discarded: the current segment starts again now."""
        self.segments[-1] = self.total

    def pin(self, item_id: str, start_ms: int) -> None:
        self.pins[item_id] = self._offset(start_ms)

    def take(self, item_id: str | None, start_ms: int | None, end_ms: int | None) -> bytes | None:
        if item_id is not None:
            self.pins.pop(item_id, None)
        if len(self.segments) > 1:
            self.segments.popleft()
        if start_ms is None or end_ms is None or end_ms <= start_ms:
            return None
        lo = max(self._offset(start_ms) - self.start, 0)
        hi = min(self._offset(end_ms) - self.start, len(self.buf))
        return bytes(self.buf[lo:hi]) if hi > lo else None


def _is_quiet(pcm: bytes) -> bool:
    """True for PCM16 with no sample above about -50 dBFS (the pause between replies)."""
    samples = memoryview(pcm[: len(pcm) - len(pcm) % 2]).cast("h")
    return not samples or max(max(samples), -min(samples)) < _QUIET_LEVEL


def _even(n: int) -> int:
    return n - (n % 2)


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
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.config = config
        self.capabilities = capability
        self.metrics = SessionMetrics()
        self.provider_session_id: str | None = None
        self._codec = codec
        self._conn = connection
        self._tools = tools_from(tools)
        self._context = {
            "session_id": self.id,
            "provider": config.provider,
            "transport": config.transport,
        }
        if config.call_id is not None:
            self._context["call_id"] = config.call_id
        self._ids = itertools.count(1)
        self._loop = asyncio.get_running_loop()

        self._reopen = reopen
        self._max_session_seconds = config.max_session_seconds or max_session_seconds
        self._outbox: deque[tuple[Action, asyncio.Future[None] | None]] = deque()
        self._outbox_ready = asyncio.Event()
        self._link_up = asyncio.Event()
        self._link_up.set()
        self._link_started = time.monotonic()
        self._recovering = False
        self._history: deque[tuple[Literal["user", "assistant"], str]] = deque(
            maxlen=_HISTORY_TURNS
        )
        self._orphaned_calls: dict[str, str] = {}  # call id -> tool name, from a lost link
        self._undelivered_calls: dict[str, str] = {}  # call id -> tool name, output not sent
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._media_reader: asyncio.Task[None] | None = None
        self._rollover: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()  # no response active or requested
        self._idle.set()

        self._turns: deque[SessionTurn] = deque()
        self._turn_waiter: asyncio.Future[SessionTurn] | None = None
        self._events: Fanout[Event] = Fanout(_EVENT_BUFFER)
        self._audio: Fanout[AudioOut] = Fanout(_AUDIO_BUFFER)

        self._pending: deque[_Request] = deque()
        self._in_flight: _Request | None = None
        self._active_response: str | None = None
        self._by_response: dict[str, _Request] = {}

        self._items: dict[str, _ItemAudio] = {}
        self._current_item: _ItemAudio | None = None
        # Media-track sessions (WebRTC): which response the track is playing, and the item
        # each response speaks, so track audio is attributed like event audio.
        self._item_of_response: dict[str, str] = {}
        self._media_response: str | None = None
        self._playing = False
        self._playback_reported_by_provider = False
        self._media_next: tuple[str, float, int] | None = None  # response, deadline, lag
        self._track_lag: int | None = None  # bytes the track lags its playback events
        self._track_lag_probe: int | None = None
        self._speech_until_played: dict[str, tuple[Speech, asyncio.TimerHandle]] = {}
        self._playback_reported = False
        self._interrupting_items: set[str] = set()
        self._recorder = _InputRecorder(
            config.input_audio.bytes_per_ms, manual=config.turn_detection is None
        )
        self._odd_byte = b""
        self._awaiting_audio: tuple[TurnMetrics, float] | None = None

        self._seen_calls: set[str] = set()
        self._answered_calls: set[str] = set()
        self._calls_by_response: dict[str, set[str]] = {}
        # respond() handles whose response called tools: they finish with the follow-up.
        self._speech_after_tools: dict[str, Speech] = {}
        self._done_responses: set[str] = set()

        self._update_waiters: list[asyncio.Future[None]] = []
        self._error_waiters: dict[str, asyncio.Future[None]] = {}
        self._started = asyncio.Event()
        self._closed = False
        self._close_reason: SessionClosed | None = None

        self.call: PhoneCall | None = None
        """The phone call this session serves (``None`` outside phone calls)."""
        self._call_control: CallControl | None = None
        self._dtmf = DtmfTurns(config.dtmf_pause_ms, self._dtmf_turn)

    # -- lifecycle -----------------------------------------------------------------------

    async def _start(self) -> None:
        """Start reading and writing, send the configuration, wait until it is applied."""
        with bind_context(**self._context):
            self._reader = asyncio.create_task(self._read_loop(), name=f"liveloop-read-{self.id}")
            self._writer = asyncio.create_task(self._write_loop(), name=f"liveloop-write-{self.id}")
            self._start_media_reader()
            if self._max_session_seconds is not None and self._reopen is not None:
                self._rollover = asyncio.create_task(
                    self._rollover_loop(self._max_session_seconds),
                    name=f"liveloop-rollover-{self.id}",
                )
        try:
            await self._apply_config(self.config, timeout=self.config.connect_timeout)
        except BaseException:
            await self.close()
            raise
        _log.info("session started", **self._context, pair=self.config.pair)

    @property
    def closed(self) -> bool:
        """Whether the session has closed."""
        return self._closed

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
        if self._closed:
            return
        self._closed = True
        self._close_reason = reason
        current = asyncio.current_task()
        tasks = [
            task
            for task in (
                self._reader,
                self._writer,
                self._media_reader,
                self._rollover,
                *self._tasks,
            )
            if task is not None and task is not current and not task.done()
        ]
        for task in tasks:
            task.cancel()
        self._dtmf.cancel()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._conn.close()
        except (TimeoutError, Exception) as exc:  # closing must never raise or hang
            _log.debug("connection close did not finish cleanly", **self._context, error=str(exc))
        if tasks:
            await asyncio.wait(tasks, timeout=0.1)
        self._fail_waiters(reason)
        error = None if reason.cause is None else str(reason)
        self._emit(Closed(reason=reason.reason, error=error))
        self._events.close()
        self._audio.close()
        level = "info" if reason.cause is None else "warning"
        getattr(_log, level)("session closed", **self._context, reason=str(reason))

    def _fail_waiters(self, reason: SessionClosed) -> None:
        if self._turn_waiter is not None and not self._turn_waiter.done():
            self._turn_waiter.set_exception(reason)
        for request in [*self._pending, self._in_flight, *self._by_response.values()]:
            if request is not None and request.speech is not None:
                request.speech._closed(reason)
            if request is not None and request.watchdog is not None:
                request.watchdog.cancel()
        for speech in self._speech_after_tools.values():
            speech._closed(reason)
        self._speech_after_tools.clear()
        for speech, timer in self._speech_until_played.values():
            timer.cancel()
            speech._closed(reason)
        self._speech_until_played.clear()
        self._pending.clear()
        self._in_flight = None
        self._by_response.clear()
        for waiter in [*self._update_waiters, *self._error_waiters.values()]:
            if not waiter.done():
                waiter.set_exception(reason)
        while self._outbox:
            _, done = self._outbox.popleft()
            if done is not None and not done.done():
                done.set_exception(reason)

    def _ensure_open(self) -> None:
        if self._closed:
            assert self._close_reason is not None
            raise self._close_reason

    # -- user input ----------------------------------------------------------------------

    async def input(self) -> SessionTurn:
        """The next completed user turn (spoken or typed), in order; none lost or repeated.

        Raises :class:`SessionClosed` (with the cause) once the session closes, and
        ``RuntimeError`` if another task is already waiting in ``input()``.
        """
        if self._turns:
            return self._turns.popleft()
        self._ensure_open()
        if self._turn_waiter is not None and not self._turn_waiter.done():
            raise RuntimeError("input() is already being awaited by another task of this session")
        waiter: asyncio.Future[SessionTurn] = self._loop.create_future()
        self._turn_waiter = waiter
        try:
            return await waiter
        finally:
            if self._turn_waiter is waiter:
                self._turn_waiter = None

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
        self._send(SendText(text=text))
        if self.config.auto_respond:
            self._request(CreateResponse(), "text_reply")

    async def send_audio(self, pcm: bytes) -> None:
        """Send user audio: PCM16 mono at the session's input format, any chunk size.

        Waits while the connection is backed up, so a fast producer cannot grow memory.
        Raises :class:`LiveloopError` on a pair without ``audio_in`` (a sideband: the
        user's audio goes from their device to the provider, not through this process).
        """
        self._require_media("audio_in", "send_audio")
        self._ensure_open()
        data = self._odd_byte + bytes(pcm)
        self._odd_byte = b""
        if len(data) % 2:
            data, self._odd_byte = data[:-1], data[-1:]
        if not data:
            return
        duration_ms = len(data) / self.config.input_audio.bytes_per_ms
        if not self._link_up.is_set():
            # Audio during an outage is stale by the time the link is back: drop and count.
            self.metrics.audio_dropped_ms += duration_ms
            return
        self._recorder.append(data)
        self.metrics.audio_sent_ms += duration_ms
        if self._conn.media is not None:
            await self._conn.media.send_audio(data)
            return
        if not self._outbox and not self._recovering:
            # Nothing waits ahead of this audio: send it now, skipping the outbox's
            # future and writer wake-up (the hot path of a live microphone).
            connection = self._conn
            try:
                for message in self._codec.encode(AppendAudio(audio=data)):
                    await connection.send(message)
            except ConnectionLost:
                self.metrics.audio_sent_ms -= duration_ms
                self.metrics.audio_dropped_ms += duration_ms
                if connection is self._conn and self._link_up.is_set() and not self._recovering:
                    self._link_up.clear()
                    self._loop.create_task(self._recover_from_writer())
            return
        done: asyncio.Future[None] = self._loop.create_future()
        self._queue(AppendAudio(audio=data), done)
        await done

    async def commit_audio(self) -> None:
        """End the user's turn now (for sessions without turn detection)."""
        self._ensure_open()
        self._send(CommitAudio())
        self._recorder.commit()
        if self.config.auto_respond and self.config.turn_detection is None:
            self._request(CreateResponse(), "respond")

    async def clear_audio(self) -> None:
        """Discard user audio the provider has not committed yet."""
        self._ensure_open()
        self._send(ClearAudio())
        self._recorder.clear()

    # -- assistant output ----------------------------------------------------------------

    def say(self, text: str) -> Speech:
        """Make the model say exactly ``text``; returns a :class:`Speech` at once.

        ``await session.say(text)`` waits until the speech is complete. A say issued
        while another response is active is queued behind it, never rejected.
        """
        self._ensure_open()
        speech = Speech(f"say_{next(self._ids)}", text, self._cancel_speech)
        self._request(CreateResponse(say=text), "say", speech)
        return speech

    def respond(self, instructions: str | None = None) -> Speech:
        """Ask the model for a reply of its own (optionally steered by ``instructions``).

        Returns a :class:`Speech` whose ``transcript`` is what the model said. If the
        model calls tools first, the handle completes with the reply that follows their
        results.
        """
        self._ensure_open()
        speech = Speech(f"respond_{next(self._ids)}", "", self._cancel_speech)
        self._request(CreateResponse(instructions=instructions), "respond", speech)
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
        return self._audio_chunks()

    def _require_media(self, flag: Literal["audio_in", "audio_out"], method: str) -> None:
        if not getattr(self.features, flag):
            where = "between the user and the provider" if self.features.sideband else "elsewhere"
            raise LiveloopError(
                f"{method}() is not available on {self.config.pair}: its audio flows {where},"
                f" not through this process (features.{flag} is false); use say(), input()"
                " and events() instead"
            )

    async def _audio_chunks(self) -> AsyncIterator[AudioOut]:
        sub = self._audio.subscribe()
        positions: dict[str, int] = {}
        try:
            async for item in sub:
                if isinstance(item, AssistantAudio):
                    state = self._items.get(item.item_id)
                    if state is not None:
                        if state.interrupted:
                            continue
                        position = positions.get(item.item_id, 0) + len(item.audio)
                        positions[item.item_id] = position
                        if position > state.delivered:
                            state.delivered = position
                            self._update_speech_played(state)
                yield item
        finally:
            sub.unsubscribe()

    def played(self, ms: int, item_id: str | None = None) -> None:
        """Report how many ms of an assistant item (default: the current one) the user
        has actually heard.

        From the first report on (``played(0)`` before any audio declares it), playback
        follows the reports: barge-in truncates every item still playing to what was
        reported (an item never reported counts as unheard), ``say()`` completes once its
        audio was heard, and ``metrics.audio_played_ms`` adds up what was heard.
        """
        self._playback_reported = True
        state = self._items.get(item_id) if item_id else self._current_item
        if state is not None:
            before = state.reported_ms or 0
            state.reported_ms = max(0, int(ms))
            self.metrics.audio_played_ms += max(0, state.reported_ms - before)
            self._update_speech_played(state)
            if not self._still_playing(state):
                self._finish_played(state.response_id, False)

    async def interrupt(self) -> None:
        """Cut the assistant off now: cancel the active response, stop playback, and
        truncate the item to what was heard."""
        self._ensure_open()
        if self._active_response is not None:
            self._send(CancelResponse(response_id=self._active_response))
        if self._playback_reported:
            for playing in self._playing_items():
                self._stop_playback(playing)
        elif self._current_item is not None and not self._current_item.interrupted:
            self._stop_playback(self._current_item)
        if self.features.interruption == "server_truncates":
            self._send(ClearOutputAudio())

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
        await self._apply_config(config, timeout=UPDATE_TIMEOUT)
        self.config = config
        self._recorder.manual = config.turn_detection is None
        if tools is not None:
            self._tools = new_tools

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
        self.call = call
        self._call_control = control
        if call.call_id is not None:
            self._context["call_id"] = call.call_id

    def _require_call(self, method: str) -> CallControl:
        if self._call_control is None:
            raise LiveloopError(f"{method}() needs a phone call; this session is not serving one")
        return self._call_control

    async def transfer(self, target: str) -> None:
        """Hand the phone call to ``target`` (a ``tel:``/``sip:`` URI or a number).

        Raises :class:`LiveloopError` outside phone calls, or with the cause when the
        carrier or provider refuses (e.g. a bridged call without carrier credentials).
        """
        await self._require_call("transfer").transfer(target)

    async def hang_up(self) -> None:
        """End the phone call (the session then closes)."""
        await self._require_call("hang_up").hang_up()

    def inject(self, event: Event) -> None:
        """Handle ``event`` as if the provider had sent it: for events that reach this
        process outside the provider's link (a carrier's DTMF key presses)."""
        if not self._closed:
            self._dispatch(event)

    def _dtmf_turn(self, digits: str) -> None:
        if not self._closed:
            self._on_turn(UserTurn(turn=SessionTurn(text=digits, channel="dtmf")))

    # -- sending -------------------------------------------------------------------------

    def _next_event_id(self) -> str:
        return f"ll_{self.id}_{next(self._ids)}"

    def _send(self, action: Action) -> None:
        self._queue(action, None)

    def _queue(self, action: Action, done: asyncio.Future[None] | None) -> None:
        # Actions, not encoded messages, wait here: after a reconnect they are encoded
        # by the new connection's codec.
        self._outbox.append((action, done))
        self._outbox_ready.set()

    async def _apply_config(self, config: SessionConfig, *, timeout: float) -> None:
        event_id = self._next_event_id()
        applied: asyncio.Future[None] = self._loop.create_future()
        failed: asyncio.Future[None] = self._loop.create_future()
        self._update_waiters.append(applied)
        self._error_waiters[event_id] = failed
        try:
            self._send(UpdateSession(config=config, event_id=event_id))
            async with asyncio.timeout(timeout):
                done, _ = await asyncio.wait({applied, failed}, return_when="FIRST_COMPLETED")
            for future in done:
                future.result()  # raises the provider's error or SessionClosed
        except TimeoutError:
            raise ProviderError(
                f"the provider did not confirm the session configuration within {timeout:g} s",
                code="timeout",
            ) from None
        finally:
            self._error_waiters.pop(event_id, None)
            if applied in self._update_waiters:
                self._update_waiters.remove(applied)
            for future in (applied, failed):
                if not future.done():
                    future.cancel()

    # -- the response queue ----------------------------------------------------------------

    def _request(
        self,
        action: CreateResponse,
        kind: Literal["say", "respond", "tool_followup", "text_reply"],
        speech: Speech | None = None,
    ) -> None:
        request_id = f"r{next(self._ids)}"
        metadata = {**action.metadata, _REQUEST_KEY: request_id}
        request = _Request(
            request_id, action.model_copy(update={"metadata": metadata}), kind, speech
        )
        self._pending.append(request)
        self._pump()

    def _pump(self) -> None:
        # One response at a time: the provider rejects a second one while one is active.
        if self._closed or self._in_flight is not None or self._active_response is not None:
            return
        if not self._pending:
            return
        request = self._pending.popleft()
        request.event_id = self._next_event_id()
        self._in_flight = request
        request.watchdog = self._loop.call_later(
            RESPONSE_START_TIMEOUT, self._response_never_started, request
        )
        self._send(request.action.model_copy(update={"event_id": request.event_id}))
        self._update_idle()

    def _response_never_started(self, request: _Request) -> None:
        if self._in_flight is not request:
            return
        self._in_flight = None
        if request.speech is not None:
            request.speech._fail(
                ProviderError("the provider never started the response", code="timeout")
            )
        _log.warning("response request timed out", **self._context, request=request.id)
        self._pump()
        self._update_idle()

    def _cancel_speech(self, speech: Speech) -> None:
        for response_id, waiting in list(self._speech_after_tools.items()):
            if waiting is speech:
                del self._speech_after_tools[response_id]
                speech._finish("cancelled")
                return
        for request in list(self._pending):
            if request.speech is speech:
                self._pending.remove(request)
                speech._finish("cancelled")
                return
        if speech.response_id is not None and speech.response_id == self._active_response:
            speech.status = "interrupted"
            self._loop.create_task(self.interrupt())

    def _on_response_started(self, event: ResponseStarted) -> None:
        self._active_response = event.response_id
        self._update_idle()
        request = self._in_flight
        if request is None or event.metadata.get(_REQUEST_KEY) != request.id:
            return  # a response the provider started on its own (turn detection)
        self._in_flight = None
        if request.watchdog is not None:
            request.watchdog.cancel()
        request.response_id = event.response_id
        self._by_response[event.response_id] = request
        if request.speech is not None:
            request.speech.response_id = event.response_id
            if request.speech.status == "queued":
                request.speech.status = "speaking"

    def _on_response_done(self, event: ResponseDone) -> None:
        if self._active_response == event.response_id:
            self._active_response = None
        self.metrics.responses += 1
        if event.usage is not None:
            self.metrics.input_tokens += event.usage.input_tokens
            self.metrics.output_tokens += event.usage.output_tokens
            self.metrics.total_tokens += event.usage.total_tokens
        request = self._by_response.pop(event.response_id, None)
        if (
            request is not None
            and request.speech is not None
            and request.kind in ("respond", "tool_followup")
            and event.status == "completed"
            and event.tool_call_ids
        ):
            # The model answered with tool calls: the reply the caller awaits is the one
            # that follows their results.
            self._speech_after_tools[event.response_id] = request.speech
        elif request is not None and request.speech is not None:
            speech = request.speech
            state = self._items.get(speech.item_id or "")
            if speech.status == "interrupted" or (state is not None and state.interrupted):
                speech._finish("interrupted")
            elif event.status == "cancelled":
                speech._finish("cancelled")
            elif event.status == "failed":
                speech._fail(ProviderError(f"response failed: {event.reason}", raw=event.raw))
            elif self._playback_reported and state is not None and self._still_playing(state):
                # The application reports playback: the speech is complete once heard.
                timer = self._loop.call_later(
                    _PLAYBACK_GRACE_S, self._finish_played, event.response_id, False
                )
                self._speech_until_played[event.response_id] = (speech, timer)
            elif self._plays_on(event.response_id):
                # Over a media track the provider still plays what it generated: the
                # speech is complete when playback stops (bounded, should that never come).
                timer = self._loop.call_later(
                    _PLAYBACK_GRACE_S, self._finish_played, event.response_id, False
                )
                self._speech_until_played[event.response_id] = (speech, timer)
            else:
                speech._finish("done")
        self._done_responses.add(event.response_id)
        self._maybe_follow_up(event.response_id)
        self._pump()
        self._update_idle()

    def _on_error(self, event: ErrorEvent) -> None:
        request = self._in_flight
        if (
            request is not None
            and event.event_id is not None
            and event.event_id == request.event_id
        ):
            self._in_flight = None
            if request.watchdog is not None:
                request.watchdog.cancel()
            if event.code == "conversation_already_has_active_response":
                # Lost a race with a response the provider started itself: go again after it.
                self._pending.appendleft(request)
                if self._active_response is None:
                    self._loop.call_later(0.05, self._pump)
                self._update_idle()
                return
            if request.speech is not None:
                request.speech._fail(
                    ProviderError(
                        event.message, code=event.code, event_id=event.event_id, raw=event.raw
                    )
                )
            self._pump()
            self._update_idle()
            return
        waiter = self._error_waiters.get(event.event_id or "")
        if waiter is not None and not waiter.done():
            waiter.set_exception(
                ProviderError(
                    event.message, code=event.code, event_id=event.event_id, raw=event.raw
                )
            )
            return
        if event.code == "response_cancel_not_active":
            # interrupt() raced the response's own end: the outcome is the one wanted.
            _log.debug("cancel arrived after the response ended", **self._context)
            return
        _log.warning(
            "provider reported an error",
            **self._context,
            code=event.code,
            error=event.message,
            event_id=event.event_id,
        )

    # -- audio out and barge-in --------------------------------------------------------------

    def _on_audio(self, event: AssistantAudio) -> None:
        state = self._items.get(event.item_id)
        if state is None:
            state = _ItemAudio(event.item_id, event.response_id)
            self._items[event.item_id] = state
            self._current_item = state
            self._forget_old_items()
            request = self._by_response.get(event.response_id)
            if request is not None and request.speech is not None:
                speech = request.speech
                speech.item_id = event.item_id
                if request.kind == "say":
                    latency = (time.monotonic() - speech.requested_at) * 1000
                    speech.first_audio_latency_ms = latency
                    self.metrics.say_latencies_ms.append(latency)
            if self._awaiting_audio is not None:
                turn, stopped_at = self._awaiting_audio
                turn.response_id = event.response_id
                turn.first_audio_latency_ms = (time.monotonic() - stopped_at) * 1000
                self._awaiting_audio = None
        if state.interrupted:
            return  # late audio of a response the user already cut off
        state.received += len(event.audio)
        self.metrics.audio_received_ms += len(event.audio) / self.config.output_audio.bytes_per_ms
        request = self._by_response.get(event.response_id)
        if request is not None and request.speech is not None:
            request.speech.audio_ms = int(state.received / self.config.output_audio.bytes_per_ms)
        self._audio.publish(event)
        self.metrics.audio_out_dropped = self._audio.dropped

    def _forget_old_items(self) -> None:
        while len(self._items) > 16:
            oldest = next(iter(self._items))
            del self._items[oldest]

    def _played_ms(self, state: _ItemAudio) -> int:
        rate = self.config.output_audio.bytes_per_ms
        received_ms = int(state.received / rate)
        if state.reported_ms is not None:
            return min(state.reported_ms, received_ms)
        if self._playback_reported:
            return 0  # the application reports playback, and never reported this item
        return min(int(state.delivered / rate), received_ms)

    def _still_playing(self, state: _ItemAudio) -> bool:
        # With reported playback: generating, or not yet heard to its end.
        if state.interrupted:
            return False
        if state.response_id == self._active_response:
            return True
        received_ms = int(state.received / self.config.output_audio.bytes_per_ms)
        return self._played_ms(state) < received_ms

    def _playing_items(self) -> list[_ItemAudio]:
        return [state for state in self._items.values() if self._still_playing(state)]

    def _update_speech_played(self, state: _ItemAudio) -> None:
        request = self._by_response.get(state.response_id)
        speech = request.speech if request is not None else None
        if speech is None and state.response_id in self._speech_until_played:
            speech = self._speech_until_played[state.response_id][0]
        if speech is not None:
            speech.played_ms = self._played_ms(state)

    def _on_speech_started(self, event: UserSpeechStarted) -> None:
        if event.item_id is not None and event.audio_start_ms is not None:
            self._recorder.pin(event.item_id, event.audio_start_ms)
        detection = self.config.turn_detection
        if detection is None or not detection.interrupt_response:
            return
        if self.features.media == "direct":
            self._interrupt_elsewhere(event)
            return
        if self._playback_reported:
            # Every item still playing: the one heard truncated to what was heard, the
            # ones queued behind it to nothing, even if the provider finished generating.
            playing = self._playing_items()
            if playing and event.item_id is not None:
                self._interrupting_items.add(event.item_id)
            for item in playing:
                self._stop_playback(item)
            return
        state = self._current_item
        if state is None or state.interrupted:
            return
        speaking = (
            state.response_id == self._active_response
            or state.delivered < state.received
            or (self._playing and state.response_id == self._media_response)
        )
        if not speaking:
            return
        if event.item_id is not None:
            self._interrupting_items.add(event.item_id)
        self._stop_playback(state)

    def _interrupt_elsewhere(self, event: UserSpeechStarted) -> None:
        # The audio plays on the user's device, not through this process (a sideband): the
        # response the provider plays there, else the one it generates, is cut off. The
        # provider stops it itself; its speech ends interrupted, not cancelled.
        response_id = self._media_response if self._playing else self._active_response
        if response_id is None:
            return
        if event.item_id is not None:
            self._interrupting_items.add(event.item_id)
        request = self._by_response.get(response_id)
        if request is not None and request.speech is not None:
            request.speech.status = "interrupted"
        self._finish_played(response_id, True)
        item_id = self._item_of_response.get(response_id)
        self._emit(Interrupted(response_id=response_id, item_id=item_id))
        _log.debug("barge-in", **self._context, response_id=response_id)

    def _remember_item(self, response_id: str, item_id: str) -> None:
        if response_id not in self._item_of_response:
            self._item_of_response[response_id] = item_id
            if len(self._item_of_response) > 64:  # only recent responses can still play
                del self._item_of_response[next(iter(self._item_of_response))]

    def _plays_on(self, response_id: str) -> bool:
        # True when the provider reports track playback and this response is still playing
        # or has yet to start (its started event comes after the response's first part).
        if not self._playback_reported_by_provider:
            return False
        if self._media_next is not None and response_id == self._media_next[0]:
            return self._playing
        if response_id == self._media_response:
            return self._playing
        return response_id in self._item_of_response

    def _finish_played(self, response_id: str, interrupted: bool) -> None:
        waiting = self._speech_until_played.pop(response_id, None)
        if waiting is None:
            return
        speech, timer = waiting
        timer.cancel()
        item = self._items.get(self._item_of_response.get(response_id, response_id))
        interrupted = interrupted or speech.status == "interrupted"
        speech._finish("interrupted" if interrupted or (item and item.interrupted) else "done")

    def _on_playback_stopped(self, event: PlaybackStopped) -> None:
        latest = self._media_next[0] if self._media_next is not None else self._media_response
        if event.response_id == latest:
            self._playing = False
        self._finish_played(event.response_id, event.cleared)
        if not event.cleared:
            return
        # The provider dropped the rest of the audio (its own barge-in handling).
        item_id = self._item_of_response.get(event.response_id, event.response_id)
        state = self._items.get(item_id)
        if state is not None and not state.interrupted:
            self._stop_playback(state)

    def _stop_playback(self, state: _ItemAudio) -> None:
        """Stop delivering ``state``'s audio and truncate it to what was played."""
        played = self._played_ms(state)
        state.interrupted = True
        for sub in self._audio.subscribers:
            sub.discard(
                lambda item: isinstance(item, AssistantAudio) and item.item_id == state.item_id
            )
        tracking = self._audio.has_subscribers or self._playback_reported
        if self.features.interruption == "client_truncates" and state.received > 0 and tracking:
            # Sample counts, not wall clock: never past what arrived, never for silent items.
            self._send(TruncateItem(item_id=state.item_id, audio_end_ms=played))
        request = self._by_response.get(state.response_id)
        if request is not None and request.speech is not None:
            request.speech.played_ms = played
            request.speech.status = "interrupted"
        else:
            self._update_speech_played(state)
            self._finish_interrupted_speech(state)
        marker = Interrupted(response_id=state.response_id, item_id=state.item_id, played_ms=played)
        self._audio.publish(marker)
        self.metrics.audio_out_dropped = self._audio.dropped
        self._emit(marker)
        _log.debug("barge-in", **self._context, item_id=state.item_id, played_ms=played)

    def _finish_interrupted_speech(self, state: _ItemAudio) -> None:
        # The response already ended (audio was still playing): finish its speech now.
        self._finish_played(state.response_id, True)
        for request in self._by_response.values():
            if request.speech is not None and request.speech.item_id == state.item_id:
                request.speech._finish("interrupted")

    # -- tools -----------------------------------------------------------------------------

    def _on_tool_call(self, event: ToolCall) -> None:
        if event.call_id in self._seen_calls:
            return  # exactly once, even if the provider repeats itself
        self._seen_calls.add(event.call_id)
        self._undelivered_calls[event.call_id] = event.name
        if event.response_id is not None:
            self._calls_by_response.setdefault(event.response_id, set()).add(event.call_id)
        task = self._loop.create_task(
            self._answer_tool_call(event), name=f"liveloop-tool-{event.name}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_tool_call(self, event: ToolCall) -> None:
        # The function call id has a key of its own: `call_id` names a sideband's WebRTC call.
        with bind_context(**self._context, tool_call_id=event.call_id):
            tool = self._tools.get(event.name)
            if tool is None:
                outcome = unknown_tool(event.name, self._tools)
            else:
                outcome = await tool.run(event.arguments, timeout=self.config.tool_timeout)
            if self._closed:
                return
            self._send(SendToolOutput(call_id=event.call_id, output=outcome.output))
            self._answered_calls.add(event.call_id)
            self.metrics.tool_calls += 1
            self._emit(
                ToolResult(
                    call_id=event.call_id,
                    name=event.name,
                    output=outcome.output,
                    is_error=outcome.is_error,
                )
            )
            _log.info("tool answered", **self._context, tool=event.name, error=outcome.is_error)
            if event.response_id is None:
                self._request(CreateResponse(), "tool_followup")
            else:
                self._maybe_follow_up(event.response_id)

    def _maybe_follow_up(self, response_id: str) -> None:
        # After every call of a response is answered (and the response is done), ask for the
        # next response so the model speaks the result instead of waiting for the user.
        calls = self._calls_by_response.get(response_id)
        if not calls or response_id not in self._done_responses:
            return
        if not calls <= self._answered_calls:
            return
        del self._calls_by_response[response_id]
        self._done_responses.discard(response_id)
        self._answered_calls -= calls
        speech = self._speech_after_tools.pop(response_id, None)
        self._request(CreateResponse(), "tool_followup", speech)

    # -- reading ---------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            while True:
                connection, codec = self._conn, self._codec
                try:
                    message = await connection.receive()
                except ConnectionLost as exc:
                    if connection is not self._conn:
                        continue  # a replaced connection ending (rollover): read the new one
                    if self._recovering:
                        await self._link_up.wait()
                        continue
                    if await self._recover(exc):
                        continue
                    return
                for event in codec.decode(message):
                    self._dispatch(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.exception("session reader failed", **self._context)
            await self._shutdown(SessionClosed("session failed", exc))

    def _start_media_reader(self) -> None:
        if self._conn.media is not None:
            self._media_reader = asyncio.create_task(
                self._media_loop(self._conn.media), name=f"liveloop-media-{self.id}"
            )

    async def _media_loop(self, media: MediaChannel) -> None:
        try:
            while True:
                pcm = await media.receive_audio()
                self._follow_track(pcm)
                response_id = self._media_response or self._active_response or "media"
                item_id = self._item_of_response.get(response_id, response_id)
                self._dispatch(AssistantAudio(response_id=response_id, item_id=item_id, audio=pcm))
        except asyncio.CancelledError:
            raise
        except ConnectionLost:
            return  # the control connection's reader decides what a lost link means

    def _follow_track(self, pcm: bytes) -> None:
        quiet = _is_quiet(pcm)
        if self._track_lag_probe is not None:
            # Measured once: how much audio comes between the first playback event and the
            # first sound of that response.
            limit = _TRACK_SWITCH_MAX_S * 1000 * self.config.output_audio.bytes_per_ms
            if quiet and self._track_lag_probe < limit:
                self._track_lag_probe += len(pcm)
            else:
                self._track_lag, self._track_lag_probe = self._track_lag_probe, None
        if self._media_next is None:
            return
        following, deadline, lag_left = self._media_next
        if quiet or lag_left <= 0 or self._loop.time() >= deadline:
            self._media_response, self._media_next = following, None
        else:
            self._media_next = (following, deadline, lag_left - len(pcm))

    async def _write_loop(self) -> None:
        try:
            while True:
                while not self._outbox:
                    self._outbox_ready.clear()
                    await self._outbox_ready.wait()
                await self._link_up.wait()
                action, done = self._outbox[0]
                try:
                    codec = self._codec
                    for message in codec.encode(self._for_this_link(action)):
                        await self._conn.send(message)
                    self._dispatch_local(codec)
                except ConnectionLost:
                    # Keep the action; the reader notices the loss and reconnects (or closes).
                    if self._link_up.is_set() and not self._recovering:
                        self._link_up.clear()
                        self._loop.create_task(self._recover_from_writer())
                    continue
                self._outbox.popleft()
                if isinstance(action, SendToolOutput):
                    self._undelivered_calls.pop(action.call_id, None)
                if done is not None and not done.done():
                    done.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.exception("session writer failed", **self._context)
            await self._shutdown(SessionClosed("session failed", exc))

    async def _recover_from_writer(self) -> None:
        if not self._recovering and not self._closed:
            await self._recover(ConnectionLost("sending to the provider failed"))

    def _for_this_link(self, action: Action) -> Action:
        if isinstance(action, SendToolOutput) and action.call_id in self._orphaned_calls:
            # The call belonged to a connection that is gone; tell the model the result.
            name = self._orphaned_calls.pop(action.call_id)
            self._emit(
                ErrorEvent(
                    code="tool_output_restored",
                    message=f"the output of {name} ({action.call_id}) was added as context "
                    "because the connection was replaced",
                )
            )
            return AddHistory(role="assistant", text=f"(tool {name} returned: {action.output})")
        return action

    # -- reconnection ------------------------------------------------------------------------

    async def _recover(self, cause: ConnectionLost, *, rollover: bool = False) -> bool:
        """Replace the connection and restore the session; False if that failed (closed)."""
        policy = self.config.reconnect
        if self._closed:
            return False
        if self._reopen is None or policy is None or policy.attempts == 0:
            await self._shutdown(SessionClosed("connection to the provider lost", cause))
            return False
        self._recovering = True
        self._link_up.clear()
        old = self._conn
        try:
            opened = await self._open_with_retries(policy, cause, rollover=rollover)
            if opened is None:
                return False
            codec, connection, attempts = opened
            if not rollover:
                self._forget_link_state()
            self._codec, self._conn = codec, connection
            self._recorder.new_connection()
            self._link_started = time.monotonic()
            if self._media_reader is not None:
                self._media_reader.cancel()
            self._start_media_reader()
            await self._restore()
            self._link_up.set()
            self._emit(Reconnected(attempts=attempts))
            self._pump()
            _log.info(
                "session restored on a new connection",
                **self._context,
                attempts=attempts,
                rollover=rollover,
            )
            return True
        finally:
            self._recovering = False
            if old is not self._conn:
                self._loop.create_task(_close_quietly(old))

    async def _open_with_retries(
        self, policy: ReconnectPolicy, cause: ConnectionLost, *, rollover: bool
    ) -> tuple[EventCodec, Connection, int] | None:
        assert self._reopen is not None
        deadline = time.monotonic() + policy.within
        delay = 0.0 if rollover else policy.initial_delay
        last: BaseException = cause
        for attempt in range(1, max(policy.attempts, 1) + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.sleep(min(delay, remaining))
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.05)):
                    codec, connection = await self._reopen()
                return codec, connection, attempt
            except ProviderError as exc:
                last = exc
                if exc.code in {"invalid_api_key", "http_401", "http_403", "unauthorized"}:
                    break  # a refused key will not work on the next try either
            except (ConnectionLost, TimeoutError, OSError) as exc:
                last = exc
            _log.warning(
                "reconnect attempt failed", **self._context, attempt=attempt, error=str(last)
            )
            delay = max(delay * 2, policy.initial_delay)
        await self._shutdown(
            SessionClosed("connection to the provider lost and not restored", last)
        )
        return None

    def _forget_link_state(self) -> None:
        # What the old connection was doing is gone: its response, its calls, its playback.
        request = self._in_flight
        self._in_flight = None
        if request is not None:
            if request.watchdog is not None:
                request.watchdog.cancel()
            self._pending.appendleft(request)
        for response_id, request in list(self._by_response.items()):
            if request.speech is not None:
                request.speech._finish("interrupted")
            del self._by_response[response_id]
        self._active_response = None
        self._update_idle()
        if self._current_item is not None:
            self._current_item.interrupted = True
        # Calls still running, or answered but not sent: their outputs become context.
        self._orphaned_calls.update(self._undelivered_calls)
        for call_id in list(self._orphaned_calls):
            for response_calls in self._calls_by_response.values():
                response_calls.discard(call_id)
        dropped = [item for item in self._outbox if isinstance(item[0], AppendAudio)]
        for action, done in dropped:
            assert isinstance(action, AppendAudio)
            self.metrics.audio_dropped_ms += (
                len(action.audio) / self.config.input_audio.bytes_per_ms
            )
            if done is not None and not done.done():
                done.set_result(None)
        stale = (AppendAudio, TruncateItem, CancelResponse, ClearOutputAudio, CommitAudio)
        kept = [item for item in self._outbox if not isinstance(item[0], stale)]
        self._outbox.clear()
        self._outbox.extend(kept)

    async def _restore(self) -> None:
        """Configure the new connection and replay the conversation as text."""
        actions: list[Action] = [UpdateSession(config=self.config, event_id=self._next_event_id())]
        actions += [AddHistory(role=role, text=text) for role, text in self._history]
        applied: asyncio.Future[None] = self._loop.create_future()
        self._update_waiters.append(applied)
        try:
            for action in actions:
                for outgoing in self._codec.encode(action):
                    await self._conn.send(outgoing)
                self._dispatch_local(self._codec)
            async with asyncio.timeout(UPDATE_TIMEOUT):
                while not applied.done():
                    incoming = await self._conn.receive()
                    for event in self._codec.decode(incoming):
                        self._dispatch(event)
        finally:
            if applied in self._update_waiters:
                self._update_waiters.remove(applied)

    async def _rollover_loop(self, limit: float) -> None:
        # Replace the connection shortly before the provider's session limit, at a moment
        # when no response is active, so no turn is cut by the provider.
        margin = min(limit * _ROLLOVER_MARGIN, 60.0)
        while not self._closed:
            due = self._link_started + limit - margin
            await asyncio.sleep(max(due - time.monotonic(), 0))
            hard = self._link_started + limit - margin / 4
            try:
                async with asyncio.timeout(max(hard - time.monotonic(), 0)):
                    await self._idle.wait()
            except TimeoutError:
                pass  # better a cut response than a session the provider ends
            if self._closed or self._recovering:
                continue
            self._link_up.clear()
            await self._recover(ConnectionLost("session length limit ahead"), rollover=True)

    def _update_idle(self) -> None:
        if self._active_response is None and self._in_flight is None:
            self._idle.set()
        else:
            self._idle.clear()

    def _dispatch_local(self, codec: EventCodec) -> None:
        # Events the codec made itself (what its provider never confirms).
        if isinstance(codec, LocalEvents):
            for event in codec.take_local_events():
                self._dispatch(event)

    def _emit(self, event: Event) -> None:
        self._events.publish(event)
        self.metrics.events_dropped = self._events.dropped

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, AssistantAudio):
            self._on_audio(event)
        elif isinstance(event, UserTurn):
            self._on_turn(event)
            return
        elif isinstance(event, AssistantTranscriptDelta | AssistantTextDelta):
            self._remember_item(event.response_id, event.item_id)
            self._on_assistant_text(event.response_id, event.item_id, event.delta, final=False)
        elif isinstance(event, AssistantTranscriptDone):
            self._on_assistant_text(event.response_id, event.item_id, event.transcript, final=True)
        elif isinstance(event, AssistantTextDone):
            self._on_assistant_text(event.response_id, event.item_id, event.text, final=True)
        elif isinstance(event, ResponseStarted):
            self._on_response_started(event)
        elif isinstance(event, PlaybackStarted):
            self._playback_reported_by_provider = True
            self._playing = True
            if self._conn.media is None:
                self._media_response = event.response_id  # no track here to lag behind
            elif self._media_response is None:
                self._media_response = event.response_id
                self._track_lag_probe = 0
            else:
                # The track lags the events by the media pipeline's delay: the previous
                # response's last audio is still in flight. Switch after that much audio,
                # at a pause, or at the latest after a bound.
                deadline = self._loop.time() + _TRACK_SWITCH_MAX_S
                self._media_next = (event.response_id, deadline, self._track_lag or 0)
        elif isinstance(event, PlaybackStopped):
            self._on_playback_stopped(event)
        elif isinstance(event, ResponseDone):
            self._emit(event)
            self._on_response_done(event)
            return
        elif isinstance(event, ToolCall):
            self._emit(event)
            self._on_tool_call(event)
            return
        elif isinstance(event, UserSpeechStarted):
            self._on_speech_started(event)
        elif isinstance(event, UserSpeechStopped):
            metrics = TurnMetrics(item_id=event.item_id)
            self.metrics.turns.append(metrics)
            self._awaiting_audio = (metrics, time.monotonic())
        elif isinstance(event, ErrorEvent):
            self._on_error(event)
        elif isinstance(event, Dtmf):
            self._emit(event)
            if self.config.dtmf_turns:
                self._dtmf.add(event.digit)
            return
        elif isinstance(event, SessionStarted):
            self.provider_session_id = event.session_id
        elif isinstance(event, SessionUpdated):
            for waiter in self._update_waiters:
                if not waiter.done():
                    waiter.set_result(None)
        self._emit(event)

    def _on_assistant_text(self, response_id: str, item_id: str, text: str, *, final: bool) -> None:
        if final and text:
            self._history.append(("assistant", text))
        request = self._by_response.get(response_id)
        if request is None or request.speech is None:
            return
        speech = request.speech
        if speech.item_id is None:
            speech.item_id = item_id
        speech.transcript = text if final else speech.transcript + text

    def _on_turn(self, event: UserTurn) -> None:
        turn = event.turn
        audio = None
        if turn.channel == "audio" and self._conn.media is None:
            audio = self._recorder.take(turn.item_id, turn.started_ms, turn.ended_ms)
        elif turn.item_id is not None:
            self._recorder.pins.pop(turn.item_id, None)
        interrupted = turn.item_id is not None and turn.item_id in self._interrupting_items
        if interrupted and turn.item_id is not None:
            self._interrupting_items.discard(turn.item_id)
        if audio is not None or interrupted:
            turn = turn.model_copy(
                update={
                    "audio": audio if audio is not None else turn.audio,
                    "audio_format": turn.audio_format or self.config.input_audio,
                    "interrupted": interrupted or turn.interrupted,
                }
            )
            event = UserTurn(turn=turn, raw=event.raw)
        if turn.text:
            self._history.append(("user", turn.text))
        waiter = self._turn_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(turn)
        else:
            self._turns.append(turn)
        self._emit(event)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Session {self.id} {self.config.pair} {state}>"


async def _close_quietly(connection: Connection) -> None:
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await connection.close()
    except (TimeoutError, Exception):  # the old link is gone either way
        pass
