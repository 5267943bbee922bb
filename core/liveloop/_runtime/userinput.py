"""User input through this process: audio to the provider (recorded for ``turn.audio``),
manual commits and clears."""

from __future__ import annotations

from collections.abc import Callable

from ..actions import ClearAudio, CommitAudio
from ..codec import UntimedSpeech
from ..events import ErrorEvent, UserSpeechStarted, UserSpeechStopped
from ..turns import SessionTurn
from .bus import EventBus
from .context import Context
from .link import Link
from .recorder import InputRecorder


class UserInput:
    """Sends the user's audio over the link and keeps what turns will need of it."""

    def __init__(self, ctx: Context, link: Link, bus: EventBus) -> None:
        self._ctx = ctx
        self._link = link
        self._odd_byte = b""
        self._taps: list[Callable[[bytes], None]] = []
        self.recorder = InputRecorder(
            ctx.config.input_audio.bytes_per_ms,
            manual=ctx.config.turn_detection is None,
            untimed=isinstance(link.codec, UntimedSpeech),
        )
        bus.on(UserSpeechStarted, self._on_speech_started)
        bus.on(UserSpeechStopped, self._on_speech_stopped)
        bus.on(ErrorEvent, self._on_error)

    def tap(self, listener: Callable[[bytes], None]) -> Callable[[], None]:
        """Call ``listener`` with every chunk sent, until the returned function is called."""
        self._taps.append(listener)

        def remove() -> None:
            if listener in self._taps:
                self._taps.remove(listener)

        return remove

    async def send_audio(self, pcm: bytes) -> None:
        """PCM16 of any chunk size: whole samples go out, an odd byte waits for the next."""
        for tap in tuple(self._taps):
            tap(pcm)
        data = self._odd_byte + bytes(pcm)
        self._odd_byte = b""
        if len(data) % 2:
            data, self._odd_byte = data[:-1], data[-1:]
        if not data:
            return
        metrics = self._ctx.metrics
        duration_ms = len(data) / self._ctx.config.input_audio.bytes_per_ms
        if self._link.state != "up":
            # Audio during an outage is stale by the time the link is back: drop and count.
            metrics.audio_dropped_ms += duration_ms
            return
        # Audio on a media track (WebRTC) never becomes turn.audio: only its length counts.
        self.recorder.append(data, keep=self._link.media is None)
        metrics.audio_sent_ms += duration_ms
        if not await self._link.send_audio(data):
            metrics.audio_sent_ms -= duration_ms
            metrics.audio_dropped_ms += duration_ms

    def commit(self) -> None:
        """End the user's turn now."""
        event_id = self._ctx.event_id()
        self._link.send(CommitAudio(event_id=event_id))
        self.recorder.commit(event_id)

    def clear(self) -> None:
        """Discard the audio not committed yet."""
        self._link.send(ClearAudio())
        self.recorder.clear()

    def set_manual(self, manual: bool) -> None:
        self.recorder.manual = manual

    def new_connection(self) -> None:
        self.recorder.untimed = isinstance(self._link.codec, UntimedSpeech)
        self.recorder.new_connection()

    def complete(self, turn: SessionTurn) -> SessionTurn:
        """A user turn with its audio and (manual turns) its timing."""
        return self.recorder.complete(turn, keeps_audio=self._link.media is None)

    def _on_speech_started(self, event: UserSpeechStarted) -> None:
        if event.item_id is not None and event.audio_start_ms is not None:
            self.recorder.pin(event.item_id, event.audio_start_ms)

    def _on_speech_stopped(self, event: UserSpeechStopped) -> None:
        # Without offsets, the turn's audio ends where its end became known: now.
        if event.item_id is not None and event.audio_end_ms is None:
            self.recorder.stopped(event.item_id)

    def _on_error(self, event: ErrorEvent) -> bool:
        # A commit the provider refused (too little audio) makes no turn.
        return event.event_id is not None and self.recorder.refused(event.event_id)
