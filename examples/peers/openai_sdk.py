"""The official ``openai`` SDK, unchanged, against liveloop's emulator.

Run it in an environment with ``openai`` and ``liveloop-emulator`` (``examples/peers/run.py``
does): the emulator stands in for OpenAI Realtime, a reply rule scripts a tool call, the
user's turn is tone speech, and the test asserts on the words the SDK's client received.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from openai import AsyncOpenAI

from liveloop_emulator import Emulator, Rule, tones

# What the emulator's "model" does: a turn about the weather calls the tool, then speaks
# the reply filled in with the tool's output.
SCRIPT = [
    Rule(
        match="weather",
        tool="lookup_weather",
        arguments={"city": "Paris"},
        reply="It is {output[sky]} in {output[city]}.",
    )
]
WEATHER_TOOL = {
    "type": "function",
    "name": "lookup_weather",
    "description": "Look up today's weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def lookup_weather(city: str) -> dict[str, str]:
    return {"city": city, "sky": "sunny"}


async def main() -> None:
    async with Emulator(speed=8.0, script=SCRIPT) as emulator:
        client = AsyncOpenAI(
            api_key="sk-anything",  # any sk- key: the emulator checks the form, not the key
            base_url=emulator.base_url,
            websocket_base_url=emulator.ws_base_url,
        )
        async with client.realtime.connect(model="gpt-realtime") as connection:
            await connection.session.update(session={"type": "realtime", "tools": [WEATHER_TOOL]})
            # The user speaks: tone speech, then a second of silence so server VAD ends the turn.
            speech = tones.encode("what is the weather in paris") + bytes(2 * 24000)
            for start in range(0, len(speech), 4800):
                chunk = base64.b64encode(speech[start : start + 4800]).decode()
                await connection.input_audio_buffer.append(audio=chunk)
            heard = bytearray()
            calls: list[str] = []
            async for event in connection:
                if event.type == "response.output_audio.delta":
                    heard.extend(base64.b64decode(event.delta))
                elif event.type == "response.done":
                    output: list[Any] = list(event.response.output or [])
                    function_calls = [item for item in output if item.type == "function_call"]
                    if not function_calls:
                        break  # the spoken answer is complete
                    for call in function_calls:
                        calls.append(f"{call.name}({call.arguments})")
                        result = lookup_weather(**json.loads(call.arguments or "{}"))
                        await connection.conversation.item.create(
                            item={
                                "type": "function_call_output",
                                "call_id": call.call_id,
                                "output": json.dumps(result),
                            }
                        )
                    await connection.response.create()
    said = tones.decode(bytes(heard), 24000)
    assert calls == ['lookup_weather({"city": "Paris"})'], calls
    assert said == "it is sunny in paris.", said
    print(f"openai SDK: called {calls[0]}, heard {said!r}")


if __name__ == "__main__":
    asyncio.run(main())
