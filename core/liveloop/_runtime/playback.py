"""Playback: assistant audio to ``audio_out()`` consumers, what was played, and barge-in.

Audio arrives as :class:`~liveloop.events.AssistantAudio` events (inside the wire
messages, or from a transport's media channel that attributed it). Each item's audio is
counted as received, delivered (taken by a consumer) and reported played; when the user
barges in, delivery stops and the item is truncated to what was heard. Where the
provider plays the audio itself (a media track, a sideband), its playback events tell
when a response's speech is over.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .._fanout import Fanout
from ..actions import ClearOutputAudio, TruncateItem
from ..events import (
    AssistantAudio,
    AssistantTextDelta,
    AssistantTranscriptDelta,
    Interrupted,
    PlaybackStarted,
    PlaybackStopped,
    UserSpeechStarted,
    UserSpeechStopped,
)
from ..log import get_logger
from ..metrics import TurnMetrics
from ..speech import Speech
from .bus import EventBus
from .context import Context
from .link import Link
from .responses import Responses

_log = get_logger("liveloop.session")

AudioOut = AssistantAudio | Interrupted
"""What :meth:`Session.audio_out` yields: audio chunks, and a marker on barge-in."""

_AUDIO_BUFFER = 512  # chunks per audio_out() consumer (~20 s at 40 ms)
_PLAYBACK_GRACE_S = 120.0  # longest wait for a track's playback to report its end
_KEPT_ITEMS = 16
_KEPT_RESPONSES = 64  # only recent responses can still play


@dataclass
class ItemAudio:
    """Playback bookkeeping for one assistant audio item."""

    item_id: str
    response_id: str
    received: int = 0  # bytes of audio received
    delivered: int = 0  # bytes yielded to audio_out() consumers (furthest consumer)
    reported_ms: int | None = None  # what the app says it played (session.played)
    interrupted: bool = False


class Playback:
    """Assistant audio, its delivery and its interruption, for one session."""

    def __init__(self, ctx: Context, link: Link, bus: EventBus) -> None:
        self._ctx = ctx
        self._link = link
        self._responses: Responses | None = None
        self.audio: Fanout[AudioOut] = Fanout(_AUDIO_BUFFER)
        self._items: dict[str, ItemAudio] = {}
        self._current: ItemAudio | None = None
        self._item_of_response: dict[str, str] = {}
        # Where the provider plays the audio (a media track, the user's device): which
        # response it plays now, and the speeches that end when their playback does.
        self._provider_plays = False
        self._playing = False
        self._playing_response: str | None = None
        self._until_played: dict[str, tuple[Speech, asyncio.TimerHandle]] = {}
        self._app_reports = False  # the app reports what it played (played())
        self._interrupting: set[str] = set()  # user items that cut off the assistant
        self._awaiting_audio: tuple[TurnMetrics, float] | None = None
        bus.on(AssistantAudio, self._on_audio)
        bus.on(AssistantTranscriptDelta, self._remember_item)
        bus.on(AssistantTextDelta, self._remember_item)
        bus.on(PlaybackStarted, self._on_playback_started)
        bus.on(PlaybackStopped, self._on_playback_stopped)
        bus.on(UserSpeechStarted, self._on_speech_started)
        bus.on(UserSpeechStopped, self._on_speech_stopped)

    def attach(self, responses: Responses) -> None:
        self._responses = responses

    @property
    def responses(self) -> Responses:
        assert self._responses is not None
        return self._responses

    # -- consumers -------------------------------------------------------------------------

    async def chunks(self) -> AsyncIterator[AudioOut]:
        """One ``audio_out()`` consumer: every chunk from now on, and barge-in markers."""
        sub = self.audio.subscribe()
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
                            self._update_played(state)
                yield item
        finally:
            sub.unsubscribe()

    def played(self, ms: int, item_id: str | None) -> None:
        """The app heard ``ms`` of an item (default: the current one); from the first
        report on, playback follows the reports."""
        self._app_reports = True
        state = self._items.get(item_id) if item_id else self._current
        # A cut-off item stays at what was heard when it was cut (its truncation): a report
        # still in flight then (a phone's mark echo, a speaker's tick) changes nothing.
        if state is not None and not state.interrupted:
            before = state.reported_ms or 0
            state.reported_ms = max(0, int(ms))
            self._ctx.metrics.audio_played_ms += max(0, state.reported_ms - before)
            self._update_played(state)
            if not self._still_playing(state):
                self._finish_played(state.response_id, False)

    def played_ms(self, item_id: str) -> int | None:
        """How much of an item counts as heard (``None``: unknown item)."""
        state = self._items.get(item_id)
        return None if state is None else self._played_ms(state)

    def interrupt(self) -> None:
        """The app cuts the assistant off: stop the current item's playback (with
        reported playback: every item still playing)."""
        if self._app_reports:
            for playing in self._playing_items():
                self._stop(playing)
        elif self._current is not None and not self._current.interrupted:
            self._stop(self._current)
        if self._ctx.features.interruption == "server_truncates":
            self._link.send(ClearOutputAudio())

    def take_interrupting(self, item_id: str | None) -> bool:
        """Whether the user's item ``item_id`` cut off the assistant (asked once)."""
        if item_id is None or item_id not in self._interrupting:
            return False
        self._interrupting.discard(item_id)
        return True

    # -- what responses ask ------------------------------------------------------------------

    def was_cut(self, speech: Speech) -> bool:
        state = self._items.get(speech.item_id or "")
        return state is not None and state.interrupted

    def finish_when_played(self, response_id: str, speech: Speech) -> bool:
        state = self._items.get(speech.item_id or "")
        heard_later = self._app_reports and state is not None and self._still_playing(state)
        if not heard_later and not self._plays_on(response_id):
            return False
        # The app reports playback and has not heard it all yet, or the provider still
        # plays what it generated: the speech is complete when its playback ends (bounded,
        # should that never be reported).
        timer = asyncio.get_running_loop().call_later(
            _PLAYBACK_GRACE_S, self._finish_played, response_id, False
        )
        self._until_played[response_id] = (speech, timer)
        return True

    def _plays_on(self, response_id: str) -> bool:
        # True when the provider reports playback and this response is still playing or
        # has yet to start (its started event comes after the response's first part).
        if not self._provider_plays:
            return False
        if response_id == self._playing_response:
            return self._playing
        return response_id in self._item_of_response

    # -- events ----------------------------------------------------------------------------

    def _on_audio(self, event: AssistantAudio) -> None:
        state = self._items.get(event.item_id)
        if state is None:
            state = self._new_item(event)
        if state.interrupted:
            return  # late audio of a response the user already cut off
        state.received += len(event.audio)
        ctx = self._ctx
        rate = ctx.config.output_audio.bytes_per_ms
        ctx.metrics.audio_received_ms += len(event.audio) / rate
        speech = self.responses.speech_of(event.response_id)
        if speech is not None:
            speech.audio_ms = int(state.received / rate)
        audio = self.audio
        audio.publish(event)
        ctx.metrics.audio_out_dropped = audio.dropped

    def _new_item(self, event: AssistantAudio) -> ItemAudio:
        state = ItemAudio(event.item_id, event.response_id)
        self._items[event.item_id] = state
        self._current = state
        while len(self._items) > _KEPT_ITEMS:
            del self._items[next(iter(self._items))]
        now = time.monotonic()
        speech = self.responses.speech_of(event.response_id)
        if speech is not None:
            speech.item_id = event.item_id
            if self.responses.kind_of(event.response_id) == "say":
                latency = (now - speech.requested_at) * 1000
                speech.first_audio_latency_ms = latency
                self._ctx.metrics.say_latencies_ms.append(latency)
        if self._awaiting_audio is not None:
            turn, stopped_at = self._awaiting_audio
            turn.response_id = event.response_id
            turn.first_audio_latency_ms = (now - stopped_at) * 1000
            self._awaiting_audio = None
        return state

    def _remember_item(self, event: AssistantTranscriptDelta | AssistantTextDelta) -> None:
        if event.response_id not in self._item_of_response:
            self._item_of_response[event.response_id] = event.item_id
            if len(self._item_of_response) > _KEPT_RESPONSES:
                del self._item_of_response[next(iter(self._item_of_response))]

    def _on_playback_started(self, event: PlaybackStarted) -> None:
        self._provider_plays = True
        self._playing = True
        self._playing_response = event.response_id

    def _on_playback_stopped(self, event: PlaybackStopped) -> None:
        if event.response_id == self._playing_response:
            self._playing = False
        self._finish_played(event.response_id, event.cleared)
        if not event.cleared:
            return
        # The provider dropped the rest of the audio (its own barge-in handling).
        state = self._items.get(self._item_of_response.get(event.response_id, ""))
        if state is not None and not state.interrupted:
            self._stop(state)

    def _on_speech_stopped(self, event: UserSpeechStopped) -> None:
        metrics = TurnMetrics(item_id=event.item_id)
        self._ctx.metrics.turns.append(metrics)
        self._awaiting_audio = (metrics, time.monotonic())

    def _on_speech_started(self, event: UserSpeechStarted) -> None:
        detection = self._ctx.config.turn_detection
        if detection is None or not detection.interrupt_response:
            return
        if self._ctx.features.media == "direct":
            self._interrupt_elsewhere(event)
            return
        if self._app_reports:
            # Every item still playing: the one heard truncated to what was heard, the
            # ones queued behind it to nothing, even if the provider finished generating.
            playing = self._playing_items()
            if playing and event.item_id is not None:
                self._interrupting.add(event.item_id)
            for item in playing:
                self._stop(item)
            return
        state = self._current
        if state is None or state.interrupted:
            return
        speaking = (
            state.response_id == self.responses.active
            or state.delivered < state.received
            or (self._playing and state.response_id == self._playing_response)
        )
        if not speaking:
            return
        if event.item_id is not None:
            self._interrupting.add(event.item_id)
        self._stop(state)

    def _interrupt_elsewhere(self, event: UserSpeechStarted) -> None:
        # The audio plays on the user's device, not through this process (a sideband): the
        # response the provider plays there, else the one it generates, is cut off. The
        # provider stops it itself; its speech ends interrupted, not cancelled.
        response_id = self._playing_response if self._playing else self.responses.active
        if response_id is None:
            return
        if event.item_id is not None:
            self._interrupting.add(event.item_id)
        speech = self.responses.speech_of(response_id)
        if speech is not None:
            speech.status = "interrupted"
        self._finish_played(response_id, True)
        item_id = self._item_of_response.get(response_id)
        self._ctx.publish(Interrupted(response_id=response_id, item_id=item_id))
        _log.debug("barge-in", **self._ctx.log, response_id=response_id)

    # -- internals -------------------------------------------------------------------------

    def _played_ms(self, state: ItemAudio) -> int:
        rate = self._ctx.config.output_audio.bytes_per_ms
        received_ms = int(state.received / rate)
        if state.reported_ms is not None:
            return min(state.reported_ms, received_ms)
        if self._app_reports:
            return 0  # the application reports playback, and never reported this item
        return min(int(state.delivered / rate), received_ms)

    def _still_playing(self, state: ItemAudio) -> bool:
        # With reported playback: generating, or not yet heard to its end.
        if state.interrupted:
            return False
        if state.response_id == self.responses.active:
            return True
        received_ms = int(state.received / self._ctx.config.output_audio.bytes_per_ms)
        return self._played_ms(state) < received_ms

    def _playing_items(self) -> list[ItemAudio]:
        return [state for state in self._items.values() if self._still_playing(state)]

    def _update_played(self, state: ItemAudio) -> None:
        speech = self.responses.speech_of(state.response_id)
        if speech is None and state.response_id in self._until_played:
            speech = self._until_played[state.response_id][0]
        if speech is not None:
            speech.played_ms = self._played_ms(state)

    def _finish_played(self, response_id: str, interrupted: bool) -> None:
        waiting = self._until_played.pop(response_id, None)
        if waiting is None:
            return
        speech, timer = waiting
        timer.cancel()
        item = self._items.get(self._item_of_response.get(response_id, ""))
        interrupted = interrupted or speech.status == "interrupted"
        speech._finish("interrupted" if interrupted or (item and item.interrupted) else "done")

    def _stop(self, state: ItemAudio) -> None:
        """Stop delivering ``state``'s audio and truncate it to what was played."""
        played = self._played_ms(state)
        state.interrupted = True
        for sub in self.audio.subscribers:
            sub.discard(
                lambda item: isinstance(item, AssistantAudio) and item.item_id == state.item_id
            )
        tracking = self.audio.has_subscribers or self._app_reports
        truncates = self._ctx.features.interruption == "client_truncates"
        if truncates and state.received > 0 and tracking:
            # Sample counts, not wall clock: never past what arrived, never for silent items.
            self._link.send(TruncateItem(item_id=state.item_id, audio_end_ms=played))
        speech = self.responses.speech_of(state.response_id)
        if speech is not None:
            speech.played_ms = played
            speech.status = "interrupted"
        else:
            # The response already ended (audio was still playing): finish its speech now.
            self._update_played(state)
            self._finish_played(state.response_id, True)
            for speech in self.responses.speeches():
                if speech.item_id == state.item_id:
                    speech._finish("interrupted")
        marker = Interrupted(response_id=state.response_id, item_id=state.item_id, played_ms=played)
        self.audio.publish(marker)
        self._ctx.metrics.audio_out_dropped = self.audio.dropped
        self._ctx.publish(marker)
        _log.debug("barge-in", **self._ctx.log, item_id=state.item_id, played_ms=played)

    def forget_link(self) -> None:
        """The connection was replaced: what it was playing is cut off."""
        if self._current is not None:
            self._current.interrupted = True

    def fail_all(self, reason: BaseException) -> None:
        for speech, timer in self._until_played.values():
            timer.cancel()
            speech._fail(reason)
        self._until_played.clear()
        self.audio.close()
