"""Recording a session: a stereo WAV of the call as the user heard it, and a JSON Lines
transcript of what happened, both written as the call goes.

``liveloop.connect(..., record="calls/first")`` writes ``calls/first.wav`` (left: the user,
right: the assistant) and ``calls/first.jsonl``. The WAV is on the session's timeline: audio
is placed when it was sent or received and played out at its own pace, as a speaker would;
a response the user talked over is cut where the session cut it. Both files are flushed
every quarter second, so a crash loses well under a second; they grow with the session's
length and nothing else. ``liveloop report`` reads them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .events import (
    AssistantAudio,
    AssistantTextDone,
    AssistantTranscriptDone,
    Closed,
    ErrorEvent,
    Event,
    Interrupted,
    Reconnected,
    ResponseDone,
    ResponseStarted,
    ToolCall,
    ToolResult,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTurn,
)
from .log import get_logger
from .session import Session

__all__ = ["FLUSH_S", "Recorder", "recording_paths"]

FLUSH_S = 0.25
"""How often the files are written and flushed."""
HOLD_S = 0.7
"""Audio this recent stays in memory: a barge-in reported late can still cut it, and a
reply delayed by a busy machine still plays on without a gap."""
JITTER_S = 0.6
"""User audio arriving this much later than the previous chunk ended still follows it (a
busy machine delays chunks); later than that, the microphone had paused."""
_CLOSE_TIMEOUT_S = 1.0

_log = get_logger("liveloop.recording")


def recording_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The WAV and JSON Lines files of the recording ``path`` (with or without a suffix)."""
    base = Path(path)
    if base.suffix in (".wav", ".jsonl", ".png"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".wav"), base.with_name(base.name + ".jsonl")


class _Track:
    """One channel's audio not yet written, from sample ``written`` on; ``cursor`` is where
    the next sound may start (a speaker plays one thing at a time)."""

    def __init__(self) -> None:
        self.pending = bytearray()
        self.cursor = 0

    def place(self, written: int, at: int, pcm: bytes) -> int:
        """Put ``pcm`` at sample ``at`` (never before ``written``); return where it went."""
        at = max(at, written)
        offset = (at - written) * 2
        if len(self.pending) < offset:
            self.pending.extend(bytes(offset - len(self.pending)))
        end = offset + len(pcm)
        self.pending[offset:end] = pcm
        self.cursor = at + len(pcm) // 2
        return at

    def cut(self, written: int, at: int) -> None:
        """Silence everything from sample ``at`` on (the rest of an interrupted reply)."""
        at = max(at, written)
        del self.pending[(at - written) * 2 :]
        self.cursor = at

    def take(self, samples: int) -> bytes:
        """The next ``samples`` samples (silence where nothing was placed)."""
        size = samples * 2
        chunk = bytes(self.pending[:size]).ljust(size, b"\0")
        del self.pending[:size]
        return chunk


class Recorder:
    """Records ``session`` to ``path`` (see the module docstring) until :meth:`close`.

    Audio is recorded where it flows through this process and is PCM16 at one rate both
    ways; otherwise (a sideband, say) only the transcript is written.
    """

    def __init__(self, session: Session, path: str | os.PathLike[str]) -> None:
        self.session = session
        self.wav_path, self.transcript_path = recording_paths(path)
        self.transcript_path.parent.mkdir(parents=True, exist_ok=True)
        config = session.config
        self.rate = config.output_audio.rate
        features = session.features
        self._why_no_audio = _why_no_audio(session)
        self._audio = self._why_no_audio is None
        self._start = time.monotonic()
        self._jitter = int(JITTER_S * self.rate)
        self._lines: IO[str] = self.transcript_path.open("w", encoding="utf-8")
        self._wav: wave.Wave_write | None = None
        self._wav_file: IO[bytes]
        self._written = 0
        self._user, self._assistant = _Track(), _Track()
        self._items: dict[str, tuple[int, int]] = {}  # item -> (first sample, end sample)
        self._cut_items: set[str] = set()
        self._first_audio: set[str] = set()
        self._untap: Callable[[], None] = _nothing
        self._closed = False
        self.turns = 0
        self.tool_calls = 0
        self.latencies_ms: list[float] = []
        self.tokens = 0
        self._line(
            "session",
            session_id=session.id,
            pair=config.pair,
            model=config.model,
            sample_rate=self.rate if self._audio else None,
            wav=self.wav_path.name if self._audio else None,
            audio=None if self._audio else self._why_no_audio,
            media=features.media,
            started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        if self._audio:
            # Closed in close(): the recording lives as long as the session.
            self._wav_file = self.wav_path.open("wb")
            self._wav = wave.open(self._wav_file, "wb")  # noqa: SIM115
            self._wav.setnchannels(2)
            self._wav.setsampwidth(2)
            self._wav.setframerate(self.rate)
            self._untap = session.tap_audio_in(self._user_audio)
        self._events = asyncio.create_task(self._follow(), name=f"liveloop-record-{session.id}")
        self._flusher = asyncio.create_task(self._flush_loop(), name="liveloop-record-flush")

    # -- the timeline ----------------------------------------------------------------------

    def _now_s(self) -> float:
        return time.monotonic() - self._start

    def _now(self) -> int:
        return int(self._now_s() * self.rate)

    def _user_audio(self, pcm: bytes) -> None:
        if self._closed:
            return
        pcm = bytes(pcm[: len(pcm) - len(pcm) % 2])
        # A microphone's audio is one stream: chunks follow each other (late ones too, by a
        # little jitter); after a pause, or from the start, it goes where now is.
        self._user.place(self._written, self._stream_at(self._user.cursor), pcm)

    def _stream_at(self, expected: int) -> int:
        """Where audio expected at sample ``expected`` plays: there, unless that is more
        than a little jitter in the past (the stream had paused, or underran): then now."""
        now = self._now()
        return expected if expected > 0 and now - expected <= self._jitter else max(now, expected)

    def _assistant_audio(self, event: AssistantAudio) -> None:
        if event.item_id in self._cut_items:
            return
        pcm = event.audio[: len(event.audio) - len(event.audio) % 2]
        if event.item_id in self._items:  # a reply plays on without gaps
            start, at = self._items[event.item_id]
        else:  # a new reply plays after what is still playing, else now
            start, at = -1, self._stream_at(self._assistant.cursor)
        at = self._assistant.place(self._written, at, pcm)
        if start < 0:
            start = at
            self._line(
                "assistant.audio_started",
                at=round(start / self.rate, 3),
                item_id=event.item_id,
                response_id=event.response_id,
            )
        self._items[event.item_id] = (start, self._assistant.cursor)

    def _barge_in(self, event: Interrupted) -> None:
        # A speaker stops the moment the user talks over it: the rest of the reply was never
        # heard. (The session's own truncation point, played_ms, is kept in the transcript.)
        now = max(self._now(), self._written)
        heard_ms = None
        if event.item_id in self._items:
            start, end = self._items[event.item_id]
            heard_ms = max(0, min(now, end) - start) * 1000 // self.rate
            self._cut_items.add(event.item_id)
        self._assistant.cut(self._written, now)  # the speaker stops: nothing queued plays
        self._line(
            "barge_in",
            at=round(now / self.rate, 3),
            item_id=event.item_id,
            response_id=event.response_id,
            heard_ms=heard_ms,
            truncated_to_ms=event.played_ms,
        )

    def _flush(self, *, final: bool = False) -> None:
        if self._wav is not None:
            until = self._now() if final else self._now() - int(HOLD_S * self.rate)
            count = until - self._written
            if count > 0:
                left, right = self._user.take(count), self._assistant.take(count)
                frames = bytearray(count * 4)
                frames[0::4], frames[1::4] = left[0::2], left[1::2]
                frames[2::4], frames[3::4] = right[0::2], right[1::2]
                self._wav.writeframes(bytes(frames))  # also rewrites the header's sizes
                self._written = until
            self._wav_file.flush()
        self._lines.flush()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            self._flush()

    # -- the transcript --------------------------------------------------------------------

    def _line(self, kind: str, **fields: Any) -> None:
        record = {"t": round(self._now_s(), 3), "type": kind}
        record.update({key: value for key, value in fields.items() if value is not None})
        self._lines.write(json.dumps(record, ensure_ascii=False) + "\n")

    async def _follow(self) -> None:
        try:
            async for event in self.session.events():
                self._record(event)
                if isinstance(event, Closed):
                    return
        except Exception:  # a recording must never take the session down
            _log.exception("recording failed", session_id=self.session.id)

    def _record(self, event: Event) -> None:
        if isinstance(event, AssistantAudio):
            self._assistant_audio(event)
        elif isinstance(event, UserSpeechStarted | UserSpeechStopped):
            self._line(event.type, item_id=event.item_id)
        elif isinstance(event, UserTurn):
            self.turns += 1
            turn = event.turn
            self._line(
                "user.turn",
                text=turn.text,
                channel=turn.channel,
                item_id=turn.item_id,
                interrupted=turn.interrupted or None,
            )
        elif isinstance(event, ResponseStarted):
            self._line("response.started", response_id=event.response_id)
        elif isinstance(event, AssistantTranscriptDone | AssistantTextDone):
            text = event.transcript if isinstance(event, AssistantTranscriptDone) else event.text
            latency = self._latency(event.response_id)
            self._line(
                "assistant.said",
                text=text,
                item_id=event.item_id,
                response_id=event.response_id,
                latency_ms=latency,
                cut=event.item_id in self._cut_items or None,
            )
        elif isinstance(event, ToolCall):
            self.tool_calls += 1
            self._line(
                "tool.call", name=event.name, arguments=event.arguments, call_id=event.call_id
            )
        elif isinstance(event, ToolResult):
            self._line(
                "tool.result",
                name=event.name,
                output=event.output,
                call_id=event.call_id,
                error=event.is_error or None,
            )
        elif isinstance(event, Interrupted):
            self._barge_in(event)
        elif isinstance(event, ResponseDone):
            usage = event.usage.model_dump() if event.usage is not None else None
            self.tokens += event.usage.total_tokens if event.usage is not None else 0
            self._line(
                "response.done",
                response_id=event.response_id,
                status=event.status,
                reason=event.reason,
                usage=usage,
            )
        elif isinstance(event, Reconnected):
            self._line("reconnected", attempts=event.attempts)
        elif isinstance(event, ErrorEvent):
            self._line("error", code=event.code, message=event.message)
        elif isinstance(event, Closed):
            self._line("closed", reason=event.reason, error=event.error)

    def _latency(self, response_id: str) -> float | None:
        if response_id in self._first_audio:
            return None
        for turn in self.session.metrics.turns:
            if turn.response_id == response_id and turn.first_audio_latency_ms is not None:
                self._first_audio.add(response_id)
                latency = round(turn.first_audio_latency_ms, 1)
                self.latencies_ms.append(latency)
                return latency
        return None

    # -- ending ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Finish: the events up to the session's close, the audio up to now (bounded)."""
        if self._closed:
            return
        self._untap()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._events), _CLOSE_TIMEOUT_S)
        self._closed = True
        for task in (self._events, self._flusher):
            task.cancel()
        await asyncio.gather(self._events, self._flusher, return_exceptions=True)
        mean = sum(self.latencies_ms) / len(self.latencies_ms) if self.latencies_ms else None
        self._line(
            "summary",
            duration_s=round(self._now_s(), 3),
            turns=self.turns,
            tool_calls=self.tool_calls,
            mean_latency_ms=round(mean, 1) if mean is not None else None,
            tokens=self.tokens,
        )
        # Ends with the session: what a speaker had not played by now was never heard.
        self._flush(final=True)
        if self._wav is not None:
            self._wav.close()
            self._wav_file.close()
        self._lines.close()


def _nothing() -> None:
    return None


def _why_no_audio(session: Session) -> str | None:
    features, config = session.features, session.config
    if not (features.audio_in or features.audio_out):
        return "the audio flows outside this process (a sideband)"
    for audio in (config.input_audio, config.output_audio):
        if audio.encoding != "pcm16":
            return f"audio is {audio.encoding}, not pcm16"
    if config.input_audio.rate != config.output_audio.rate:
        return "input and output audio have different rates"
    return None
