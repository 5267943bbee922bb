"""JSON libraries for provider events: what decoding one server event costs.

Decodes the events of one emulator response (a typed message echoed as tone speech: audio
deltas with their transcript deltas and the response cascade, captured from the emulator
itself) with ``json.loads``, ``orjson.loads``, ``msgspec.json.decode`` (to dicts) and
``msgspec.json.decode`` into typed structs for the two hot events (audio and transcript
deltas; the others to dicts), and base64-decodes the audio as a client must. CPU time per
event, median over repetitions, and each library's ratio to ``json``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from _common import Samples, emit, emulator, header, parser, pin_self, ratio, run


async def capture(emu: Any, text: str) -> list[bytes]:
    """The raw frames of one response, as the client receives them."""
    from _clients import SESSION, user_text_item
    from websockets.asyncio.client import connect

    frames: list[bytes] = []
    async with connect(
        emu.realtime_url, additional_headers={"Authorization": "Bearer sk-bench"}
    ) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": SESSION}))
        item = {"type": "conversation.item.create", "item": user_text_item(text)}
        await ws.send(json.dumps(item))
        await ws.send(json.dumps({"type": "response.create"}))
        while True:
            frame = await ws.recv(decode=False)
            frames.append(frame)
            if b'"response.done"' in frame[:60]:
                return frames


def decoders() -> dict[str, Any]:
    import msgspec
    import orjson

    class AudioDelta(msgspec.Struct):
        type: str
        response_id: str
        item_id: str
        output_index: int
        content_index: int
        delta: str

    class TextDelta(msgspec.Struct):
        type: str
        response_id: str
        item_id: str
        output_index: int
        content_index: int
        delta: str

    typed_audio = msgspec.json.Decoder(AudioDelta)
    typed_text = msgspec.json.Decoder(TextDelta)
    plain = msgspec.json.Decoder()

    def typed(frame: bytes) -> Any:
        head = frame[:48]
        if b'"response.output_audio.delta"' in head:
            event = typed_audio.decode(frame)
            base64.b64decode(event.delta)
            return event
        if b'"response.output_audio_transcript.delta"' in head:
            return typed_text.decode(frame)
        return plain.decode(frame)

    def to_dict(loads: Any) -> Any:
        def decode(frame: bytes) -> Any:
            event = loads(frame)
            if event["type"] == "response.output_audio.delta":
                base64.b64decode(event["delta"])
            return event

        return decode

    return {
        "json": to_dict(json.loads),
        "orjson": to_dict(orjson.loads),
        "msgspec": to_dict(plain.decode),
        "msgspec typed": typed,
    }


async def main() -> int:
    args = parser(__doc__ or "").parse_args()
    reps = args.reps or (3 if args.quick else 30)
    pin_self()
    with emulator(args.emulator_url, speed=50.0) as emu:
        doc: dict[str, Any] = header("json_decode", args, emu)
        frames = await capture(emu, "thank you for calling, your table is booked " * 3)
    cpu = Samples()
    funcs = decoders()
    for _ in range(reps):
        for name, decode in funcs.items():
            start = time.process_time()
            for _ in range(5):
                for frame in frames:
                    decode(frame)
            cpu.add(name, (time.process_time() - start) / (5 * len(frames)) * 1e6)
    summaries = cpu.summaries(3)
    doc["events"] = len(frames)
    doc["bytes_per_event"] = round(sum(map(len, frames)) / len(frames))
    doc["results"] = {
        name: {
            "cpu_us_per_event": s,
            "ratio_vs_json": ratio(s["median"], summaries["json"]["median"]),
        }
        for name, s in summaries.items()
    }
    emit(doc)
    return 0


if __name__ == "__main__":
    run(main)
