"""``liveloop report RECORDING``: a recorded session (see :mod:`liveloop.recording`) read
back, as the conversation in text and as a timeline picture.

The picture (PNG, needs matplotlib: ``pip install 'liveloop[report]'``) puts both speakers'
audio envelopes on one time axis, the user above the line and the assistant below, with the
user's turns, tool calls, barge-ins and each turn's latency marked.
"""

from __future__ import annotations

import json
import os
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LiveloopError
from .recording import recording_paths

__all__ = ["Recording", "ReportError", "conversation", "load", "plot"]

ENVELOPE_MS = 20
"""Width of one point of the audio envelope."""


class ReportError(LiveloopError):
    """The recording cannot be read, or the picture cannot be drawn; the message says why."""


@dataclass
class Recording:
    """A recording read back: its transcript records and, where audio was recorded, the
    envelope of each channel (peak level per :data:`ENVELOPE_MS`, 0..1)."""

    transcript: Path
    records: list[dict[str, Any]]
    wav: Path | None = None
    rate: int = 0
    envelopes: dict[str, list[float]] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        ends = [float(r.get("duration_s", r["t"])) for r in self.records]
        return max(ends, default=0.0)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [record for record in self.records if record["type"] == kind]


def load(path: str | os.PathLike[str]) -> Recording:
    """Read the recording at ``path`` (its ``.jsonl``, its ``.wav`` or the name without a
    suffix). A transcript cut off by a crash is read up to its last whole line."""
    wav_path, transcript = recording_paths(path)
    if not transcript.is_file():
        raise ReportError(f"no recording at {path}: {transcript} does not exist")
    records = []
    for line in transcript.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            break  # the line being written when the process died
        if isinstance(record, dict) and "type" in record and "t" in record:
            records.append(record)
    if not records or records[0]["type"] != "session":
        raise ReportError(f"{transcript} is not a liveloop recording")
    recording = Recording(transcript, records)
    if records[0].get("wav") and wav_path.is_file():
        recording.wav = wav_path
    return recording


def _envelopes(path: Path) -> tuple[int, dict[str, list[float]]]:
    import numpy as np  # with matplotlib (the report extra)

    try:
        with wave.open(str(path), "rb") as wav:
            rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None
    samples = np.frombuffer(frames[: len(frames) - len(frames) % 4], dtype="<i2")
    stereo = samples.reshape(-1, 2).astype(np.float32) / 32768
    step = max(1, rate * ENVELOPE_MS // 1000)
    usable = len(stereo) - len(stereo) % step
    peaks = np.abs(stereo[:usable]).reshape(-1, step, 2).max(axis=1)
    return rate, {"user": peaks[:, 0].tolist(), "assistant": peaks[:, 1].tolist()}


def conversation(recording: Recording, echo: Callable[[str], None]) -> None:
    """Print the conversation: who said what when, tool calls, barge-ins, a summary."""
    head = recording.records[0]
    where = f"{head.get('pair')} ({head.get('model')})"
    audio = f"audio: {recording.wav.name}" if recording.wav else f"no audio: {head.get('audio')}"
    echo(f"session {head.get('session_id')} on {where}, started {head.get('started')}; {audio}")
    for record in recording.records:
        line = _describe(record)
        if line is not None:
            echo(f"{float(record['t']):7.2f}s  {line}")


def _describe(record: dict[str, Any]) -> str | None:
    kind = record["type"]
    if kind == "user.turn":
        note = "  (talked over the assistant)" if record.get("interrupted") else ""
        return f"{'user':<10} {record.get('text', '')}{note}"
    if kind == "assistant.said":
        notes = []
        if record.get("latency_ms") is not None:
            notes.append(f"{record['latency_ms']:.0f} ms after the user stopped")
        if record.get("cut"):
            notes.append("cut off")
        note = f"  ({'; '.join(notes)})" if notes else ""
        return f"{'assistant':<10} {record.get('text', '')}{note}"
    if kind == "tool.call":
        return f"{'tool':<10} {record.get('name')}({record.get('arguments', '')})"
    if kind == "tool.result":
        error = "  (error)" if record.get("error") else ""
        return f"{'tool':<10} -> {record.get('output', '')}{error}"
    if kind == "barge_in":
        heard = record.get("heard_ms")
        played = f" after {heard} ms of its reply" if heard is not None else ""
        return f"{'barge-in':<10} the user talked over the assistant{played}"
    if kind in ("reconnected", "error"):
        detail = record.get("message") or f"after {record.get('attempts')} attempt(s)"
        return f"{kind:<10} {detail}"
    if kind == "summary":
        latency = record.get("mean_latency_ms")
        mean = f", mean latency {latency:.0f} ms" if latency is not None else ""
        return (
            f"{'end':<10} {record.get('turns', 0)} user turn(s), "
            f"{record.get('tool_calls', 0)} tool call(s){mean}, {record.get('tokens', 0)} tokens"
        )
    return None


def plot(recording: Recording, out: str | os.PathLike[str]) -> Path:
    """Draw the timeline of ``recording`` into the PNG ``out``; return its path."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ReportError(
            "the timeline picture needs matplotlib: pip install 'liveloop[report]'"
        ) from None
    if recording.wav is not None and not recording.envelopes:
        recording.rate, recording.envelopes = _envelopes(recording.wav)
    duration = max(recording.duration_s, 1.0)
    figure, axis = plt.subplots(figsize=(max(10.0, min(duration * 0.6, 40.0)), 5.0), dpi=110)
    _draw_audio(axis, recording)
    _draw_turns(axis, recording)
    _draw_events(axis, recording)
    axis.set_xlim(0, duration)
    axis.set_ylim(-1.45, 1.45)
    axis.axhline(0, color="#888888", linewidth=0.6)
    axis.set_yticks([0.5, -0.5], ["user", "assistant"])
    axis.set_xlabel("seconds since the session started")
    head = recording.records[0]
    axis.set_title(f"session {head.get('session_id')} — {head.get('pair')}", fontsize=10)
    axis.legend(loc="upper right", fontsize=8, framealpha=0.9)
    figure.tight_layout()
    target = Path(out)
    figure.savefig(target)
    plt.close(figure)
    return target


def _draw_audio(axis: Any, recording: Recording) -> None:
    if not recording.envelopes:
        axis.text(0.01, 0.02, "no audio recorded", transform=axis.transAxes, fontsize=8)
        return
    step = ENVELOPE_MS / 1000
    user, assistant = recording.envelopes["user"], recording.envelopes["assistant"]
    times = [index * step for index in range(len(user))]
    axis.fill_between(times, 0, user, color="#1f77b4", linewidth=0, label="user audio")
    axis.fill_between(
        times, 0, [-level for level in assistant], color="#2ca02c", linewidth=0,
        label="assistant audio (as heard)",
    )  # fmt: skip


def _draw_turns(axis: Any, recording: Recording) -> None:
    started: float | None = None
    for record in recording.records:
        kind, t = record["type"], float(record["t"])
        if kind == "user.speech_started":
            started = t
        elif kind == "user.turn":
            begin = started if started is not None else t
            axis.axvspan(begin, t, ymin=0.5, ymax=0.98, color="#1f77b4", alpha=0.08)
            axis.text(begin, 1.05, _short(record.get("text", "")), fontsize=7, color="#1f77b4")
            started = None
        elif kind == "assistant.said":
            said_at = _audio_start(recording, record.get("item_id")) or t
            axis.text(said_at, -1.15, _short(record.get("text", "")), fontsize=7, color="#2ca02c")
    for record in recording.of("assistant.said"):
        latency = record.get("latency_ms")
        reply = _audio_start(recording, record.get("item_id"))
        if latency is None or reply is None:
            continue
        axis.annotate(
            f"latency {latency:.0f} ms",
            xy=(reply, -0.05),
            xytext=(reply, -0.35),
            fontsize=7,
            color="#555555",
            ha="center",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0},
            arrowprops={"arrowstyle": "->", "color": "#555555", "linewidth": 0.7},
        )


def _draw_events(axis: Any, recording: Recording) -> None:
    tools = recording.of("tool.call")
    for index, record in enumerate(tools):
        t = float(record["t"])
        axis.axvline(t, color="#ff7f0e", linewidth=1.0, linestyle="--",
                     label="tool call" if index == 0 else None)  # fmt: skip
        axis.text(t, 1.25, f" {record.get('name')}()", fontsize=7, color="#ff7f0e")
    for index, record in enumerate(recording.of("barge_in")):
        t = float(record.get("at", record["t"]))
        axis.axvline(t, color="#d62728", linewidth=1.4, label="barge-in" if index == 0 else None)
        axis.text(t, -1.38, " barge-in", fontsize=7, color="#d62728")
    for record in recording.of("reconnected"):
        axis.axvline(float(record["t"]), color="#9467bd", linewidth=1.0, linestyle=":")


def _audio_start(recording: Recording, item_id: object) -> float | None:
    for record in recording.of("assistant.audio_started"):
        if record.get("item_id") == item_id:
            return float(record.get("at", record["t"]))
    return None


def _short(text: object, limit: int = 40) -> str:
    words = str(text)
    return words if len(words) <= limit else words[: limit - 1] + "…"
