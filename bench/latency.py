"""Added latency: what each contender adds on top of the floor for the same events.

- ``turn``: a user utterance (tone speech, then 600 ms of silence so the emulator's server
  VAD ends the turn) is sent in 40 ms chunks as fast as the client takes them; measured
  from the moment the last chunk was sent to the moment the user turn is in the app's
  hands (liveloop: ``await session.input()`` returns; floor and SDK: the
  ``input_audio_transcription.completed`` event is parsed; agents: its transcription event).
- ``say``: from the request (liveloop: ``session.say(text)``; the others send the same
  ``response.create``) to the first audio chunk in the app's hands (liveloop: out of
  ``audio_out()``; floor and SDK: the first ``response.output_audio.delta``, decoded).

Contenders alternate within every trial; the floor's p50/p95 is subtracted from each
contender's p50/p95 of the same run ("added" latency).
"""

from __future__ import annotations

from typing import Any

from _clients import open_clients
from _common import (
    SAMPLE_RATE,
    Samples,
    chosen,
    emit,
    emulator,
    header,
    parser,
    percentile,
    pin_self,
    run,
)

SPEED = 4.0
WORDS = ("hello", "book a table", "what time", "thanks", "yes please", "no", "seven", "okay")


def utterance(text: str) -> bytes:
    from liveloop_emulator import tones

    return tones.encode(text, SAMPLE_RATE) + b"\x00\x00" * (SAMPLE_RATE * 600 // 1000)


async def main() -> int:
    args = parser(__doc__ or "").parse_args()
    contenders = chosen(args)
    trials = args.reps or (3 if args.quick else 30)
    core = pin_self()
    doc: dict[str, Any] = {}
    with emulator(args.emulator_url, speed=SPEED) as emu:
        doc.update(header("latency", args, emu))
        doc["measured_core"] = core
        doc["trials"] = trials
        skipped: dict[str, str] = {}
        clients = await open_clients(contenders, emu, skipped)
        audio = {word: utterance(word) for word in WORDS}
        for client in clients.values():  # warm-up
            await client.turn_from_audio(audio["hello"])
            await client.say("ok")
        turn, say = Samples(), Samples()
        order = list(clients)
        for trial in range(trials):
            rotated = order[trial % len(order) :] + order[: trial % len(order)]
            word = WORDS[trial % len(WORDS)]
            for name in rotated:
                turn.add(name, await clients[name].turn_from_audio(audio[word]) * 1000)
                first, _ = await clients[name].say(f"ok {trial}")
                say.add(name, first * 1000)
        for client in clients.values():
            await client.close()
    doc["results"] = {
        "turn": _metric(turn),
        "say": _metric(say),
    }
    doc["skipped"] = skipped
    emit(doc)
    return 0


def _metric(samples: Samples) -> dict[str, Any]:
    floor = samples.values["floor"]
    f50, f95 = percentile(floor, 50), percentile(floor, 95)
    out: dict[str, Any] = {}
    for name, values in samples.values.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        out[name] = {
            "ms": samples.summaries(3)[name],
            "added_p50_ms": round(p50 - f50, 3),
            "added_p95_ms": round(p95 - f95, 3),
        }
    return out


if __name__ == "__main__":
    run(main)
