"""Per-session measurements: turn latency, time to first audio, token usage, drops."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SessionMetrics", "TurnMetrics"]


@dataclass
class TurnMetrics:
    """One user turn: from the end of the user's speech to the first assistant audio."""

    item_id: str | None
    response_id: str | None = None
    first_audio_latency_ms: float | None = None


@dataclass
class SessionMetrics:
    """Counters a session keeps while it runs (read ``session.metrics``).

    - ``turns``: per spoken turn, user speech end -> first assistant audio.
    - ``say_latencies_ms``: per ``say()``, the call -> first audio.
    - ``input_tokens`` / ``output_tokens`` / ``total_tokens``: summed from every response.
    - ``responses``: responses completed; ``tool_calls``: tool calls answered.
    - ``audio_sent_ms`` / ``audio_received_ms``: user audio sent, assistant audio received;
      ``audio_dropped_ms``: user audio dropped because the connection was down;
      ``audio_played_ms``: assistant audio the listener heard, as reported with
      ``session.played()`` (a phone bridge reports what the caller heard).
    - ``audio_out_dropped`` / ``events_dropped``: chunks or events a slow consumer lost
      (buffers are bounded; the oldest is dropped).
    """

    turns: list[TurnMetrics] = field(default_factory=list)
    say_latencies_ms: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    responses: int = 0
    tool_calls: int = 0
    audio_sent_ms: float = 0.0
    audio_received_ms: float = 0.0
    audio_dropped_ms: float = 0.0
    audio_played_ms: float = 0.0
    audio_out_dropped: int = 0
    events_dropped: int = 0

    @property
    def turn_latencies_ms(self) -> list[float]:
        """Every measured turn latency, in order."""
        return [
            t.first_audio_latency_ms for t in self.turns if t.first_audio_latency_ms is not None
        ]
