"""Added latency: what each contender adds on top of the floor for the same events.

- ``turn``: a user utterance (tone speech, then silence up to the 40 ms chunk in which the
  emulator's server VAD ends the turn) is sent in 40 ms chunks as fast as the client takes
  them. The clock starts at the server: the moment the emulator sent the turn's
  ``conversation.item.input_audio_transcription.completed`` (``bench/_stamped_emulator.py``
  notes it on ``perf_counter``, which is ``CLOCK_MONOTONIC`` on Linux, the clock of this
  process too; the emulator sends it while it handles the utterance's last chunk, right
  after ``speech_stopped``). It stops when the user turn is in the app's hands
  (liveloop: ``await session.input()`` returns; floor and SDK: the
  ``input_audio_transcription.completed`` event is parsed; agents: its transcription event).
  So a slower sender does not start its own clock later. Kept for comparison:
  ``turn_from_speech_stopped`` (also server-side, but includes the emulator decoding the
  utterance) and the old, sender-biased ``turn_from_last_send``.
- ``say``: from the request (liveloop: ``session.say(text)``; the others send the same
  ``response.create``) to the first audio chunk in the app's hands (liveloop: out of
  ``audio_out()``; floor and SDK: the first ``response.output_audio.delta``, decoded),
  counting the contender's share only: request -> the ``response.create``'s arrival at the
  emulator, plus the first audio delta leaving the emulator -> the app holding it (server
  stamps). The emulator's time in between is the same work for every contender (they send
  the same message) and is shown apart (``say_server``), with the end-to-end time
  (``say_end_to_end``): the scheduler's noise in the emulator's process, on a shared
  machine, otherwise lands on whichever contender happens to be waiting.

Contenders alternate within every trial; the floor's p50/p95 is subtracted from each
contender's p50/p95 of the same run ("added" latency). ``paired_added_ms`` tells cost from
noise: the median of the per-trial differences to the floor, with its 95% bootstrap
interval (an interval holding 0: not resolved at this load).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

from _clients import SESSION, open_clients
from _common import (
    CHUNK_BYTES,
    SAMPLE_RATE,
    Samples,
    chosen,
    emit,
    emulator,
    header,
    paired,
    parser,
    percentile,
    pin_self,
    run,
)

SPEED = 4.0
TURN_METRICS = {
    "transcribed": "turn",
    "stopped": "turn_from_speech_stopped",
    "sent": "turn_from_last_send",
}
SAY_METRICS = {"client": "say", "wall": "say_end_to_end", "server": "say_server"}
WORDS = ("hello", "book a table", "what time", "thanks", "yes please", "no", "seven", "okay")


def utterance(text: str) -> bytes:
    """Tone speech for ``text`` padded to whole chunks, then silent chunks up to and
    including the one in which the emulator's VAD (the session's settings) ends the turn."""
    from liveloop_emulator import tones
    from liveloop_emulator.vad import EnergyVAD, SpeechStopped

    speech = tones.encode(text, SAMPLE_RATE)
    speech += b"\x00" * (-len(speech) % CHUNK_BYTES)
    vad_settings = SESSION["audio"]["input"]["turn_detection"]
    vad = EnergyVAD(
        threshold=vad_settings["threshold"],
        prefix_padding_ms=vad_settings["prefix_padding_ms"],
        silence_duration_ms=vad_settings["silence_duration_ms"],
        sample_rate=SAMPLE_RATE,
    )
    vad.feed(speech)
    silence = b"\x00" * CHUNK_BYTES
    pcm = speech
    for _ in range(100):
        pcm += silence
        if any(isinstance(e, SpeechStopped) for e in vad.feed(silence)):
            return pcm
    raise RuntimeError(f"the VAD never ended the turn of {text!r}")


def _stamps(base_url: str) -> list[dict[str, Any]]:
    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/bench/stamps", timeout=5) as reply:
        stamps: list[dict[str, Any]] = json.loads(reply.read())["stamps"]
    return stamps


async def main() -> int:
    args = parser(__doc__ or "").parse_args()
    contenders = chosen(args)
    trials = args.reps or (3 if args.quick else 30)
    core = pin_self()
    doc: dict[str, Any] = {}
    stop_after_append: list[float] = []
    with emulator(args.emulator_url, speed=SPEED, stamped=not args.emulator_url) as emu:
        doc.update(header("latency", args, emu))
        doc["measured_core"] = core
        doc["trials"] = trials
        skipped: dict[str, str] = {}
        clients = await open_clients(contenders, emu, skipped)
        audio = {word: utterance(word) for word in WORDS}

        async def turn(name: str, word: str) -> dict[str, float]:
            """ms to the turn in the app's hands, from: the server sending its transcription
            (``transcribed``), the server sending speech_stopped (``stopped``), the client
            sending its last chunk (``sent``)."""
            await asyncio.to_thread(_stamps, emu.base_url)  # forget earlier stamps
            sent, delivered = await clients[name].turn_from_audio(audio[word])
            stamps = {s["event"]: s for s in await asyncio.to_thread(_stamps, emu.base_url)}
            out = {"sent": (delivered - sent) * 1000}
            if "speech_stopped" in stamps and "transcribed" in stamps:
                stop = stamps["speech_stopped"]
                out["stopped"] = (delivered - stop["at"]) * 1000
                out["transcribed"] = (delivered - stamps["transcribed"]["at"]) * 1000
                if stop["last_append"] is not None:
                    stop_after_append.append((stop["at"] - stop["last_append"]) * 1000)
            return out

        async def say(name: str, text: str) -> dict[str, float]:
            """ms from ``say()`` to the first audio chunk in the app's hands: end to end
            (``wall``); the client's share (``client``: to the request's arrival at the
            server, plus from the first audio leaving the server); the server's time in
            between (``server``)."""
            await asyncio.to_thread(_stamps, emu.base_url)  # forget earlier stamps
            client = clients[name]
            first, _ = await client.say(text)
            out = {"wall": first * 1000}
            stamps = {s["event"]: s["at"] for s in await asyncio.to_thread(_stamps, emu.base_url)}
            if "request" in stamps and "first_audio" in stamps:
                asked, delivered = client.said_at, client.said_at + first
                out["client"] = stamps["request"] - asked + delivered - stamps["first_audio"]
                out["client"] *= 1000
                out["server"] = (stamps["first_audio"] - stamps["request"]) * 1000
            return out

        for name in clients:  # warm-up
            await turn(name, "hello")
            await say(name, "ok")
        clocks = {"transcribed": Samples(), "stopped": Samples(), "sent": Samples()}
        says = {"client": Samples(), "wall": Samples(), "server": Samples()}
        missing: dict[str, int] = {}
        order = list(clients)
        # Per metric and contender: its value minus the floor's in the same trial.
        diffs: dict[str, dict[str, list[float]]] = {}
        for trial in range(trials):
            rotated = order[trial % len(order) :] + order[: trial % len(order)]
            word = WORDS[trial % len(WORDS)]
            this_trial: dict[str, dict[str, float]] = {}
            for name in rotated:
                measured = await turn(name, word)
                if "transcribed" not in measured:
                    missing[name] = missing.get(name, 0) + 1
                for clock, value in measured.items():
                    clocks[clock].add(name, value)
                    this_trial.setdefault(TURN_METRICS[clock], {})[name] = value
                for clock, value in (await say(name, f"ok {trial}")).items():
                    says[clock].add(name, value)
                    this_trial.setdefault(SAY_METRICS[clock], {})[name] = value
            for metric, values in this_trial.items():
                for name, value in values.items():
                    if "floor" in values:
                        diff = value - values["floor"]
                        diffs.setdefault(metric, {}).setdefault(name, []).append(diff)
        for client in clients.values():
            await client.close()
    doc["results"] = {
        TURN_METRICS[clock]: _metric(samples, diffs.get(TURN_METRICS[clock], {}))
        for clock, samples in clocks.items()
    } | {
        SAY_METRICS[clock]: _metric(samples, diffs.get(SAY_METRICS[clock], {}))
        for clock, samples in says.items()
    }
    doc["clock"] = {
        "turn": "the emulator sent the turn's transcription -> the turn in the app's hands",
        "turn_from_speech_stopped": "the emulator sent speech_stopped -> the turn in the "
        "app's hands (includes the emulator's decoding of the utterance)",
        "turn_from_last_send": "the client sent its last chunk -> the turn in the app's "
        "hands (biased: a slower sender starts its clock later)",
        "say": "say() -> the response.create's arrival at the emulator, plus the first "
        "audio delta leaving the emulator -> in the app's hands (the client's share)",
        "say_end_to_end": "say() -> the first audio chunk in the app's hands",
        "say_server": "the response.create's arrival -> the first audio delta leaving",
        "speech_stopped_after_last_append_ms": _rounded(stop_after_append),
        "turns_without_server_stamps": missing,
    }
    doc["skipped"] = skipped
    emit(doc)
    return 0


def _rounded(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "p50": round(percentile(values, 50), 3),
        "p95": round(percentile(values, 95), 3),
        "max": round(max(values), 3),
    }


def _metric(samples: Samples, diffs: dict[str, list[float]]) -> dict[str, Any]:
    floor = samples.values.get("floor") or []
    f50, f95 = percentile(floor, 50), percentile(floor, 95)
    out: dict[str, Any] = {}
    for name, values in samples.values.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        out[name] = {
            "ms": samples.summaries(3)[name],
            "added_p50_ms": round(p50 - f50, 3),
            "added_p95_ms": round(p95 - f95, 3),
            "paired_added_ms": paired(diffs.get(name, [])),
        }
    return out


if __name__ == "__main__":
    run(main)
