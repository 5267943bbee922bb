"""openai-agents' realtime agent, unchanged, against liveloop's emulator.

Run it in an environment with ``openai-agents`` and ``liveloop-emulator``
(``examples/peers/run.py`` does): the agent's WebSocket model points at the emulator, a reply
rule scripts the tool call, the user's turn is tone speech, and the assertions are on the
words the agent's session received and on the tool the agent ran.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner
from agents.realtime.openai_realtime import OpenAIRealtimeWebSocketModel

from liveloop_emulator import Emulator, Rule, tones

SCRIPT = [
    Rule(
        match="weather",
        tool="lookup_weather",
        arguments={"city": "Paris"},
        reply="It is {output[sky]} in {output[city]}.",
    )
]
ran: list[str] = []


@function_tool
def lookup_weather(city: str) -> dict[str, str]:
    """Look up today's weather in a city."""
    ran.append(city)
    return {"city": city, "sky": "sunny"}


def server_event(event: Any) -> str | None:
    """The type of a raw server event the session passes through, else None."""
    if event.type != "raw_model_event" or event.data.type != "raw_server_event":
        return None
    data = event.data.data
    return data.get("type") if isinstance(data, dict) else None


async def main() -> None:
    async with Emulator(speed=8.0, script=SCRIPT) as emulator:
        agent = RealtimeAgent(
            name="weather", instructions="Answer briefly.", tools=[lookup_weather]
        )
        runner = RealtimeRunner(
            agent,
            model=OpenAIRealtimeWebSocketModel(),
            config={"model_settings": {"model_name": "gpt-realtime"}},
        )
        url = emulator.ws_base_url + "/realtime?model=gpt-realtime"
        session = await runner.run(model_config={"url": url, "api_key": "sk-anything"})
        heard = bytearray()
        async with session:
            speech = tones.encode("what is the weather in paris") + bytes(2 * 24000)
            for start in range(0, len(speech), 4800):
                await session.send_audio(speech[start : start + 4800])
            responses = 0
            async for event in session:
                if event.type == "audio":
                    heard.extend(event.audio.data)
                elif server_event(event) == "response.done":
                    responses += 1
                    if responses == 2:  # the tool call, then the answer that uses it
                        break
    said = tones.decode(bytes(heard), 24000)
    assert ran == ["Paris"], ran
    assert said == "it is sunny in paris.", said
    print(f"openai-agents: ran lookup_weather({ran[0]!r}), heard {said!r}")


if __name__ == "__main__":
    asyncio.run(main())
