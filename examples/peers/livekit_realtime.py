"""LiveKit Agents' OpenAI Realtime plugin, unchanged, against liveloop's emulator.

Run it in an environment with ``livekit-agents``, ``livekit-plugins-openai`` and
``liveloop-emulator`` (``examples/peers/run.py`` does). An ``AgentSession`` needs a LiveKit
room, so this drives the plugin's ``RealtimeSession`` directly, as ``AgentSession`` does:
tone speech goes in with ``push_audio``, each generation's audio and function calls are read
from its streams, the function tool runs, its output goes back through the chat context and
``generate_reply`` speaks the answer. The assertions are on the words in the audio frames the
plugin produced and on the tool that ran.
"""

from __future__ import annotations

import asyncio
import json

from livekit import rtc
from livekit.agents import function_tool, llm
from livekit.plugins import openai

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
ran: list[str] = []


@function_tool
async def lookup_weather(city: str) -> dict[str, str]:
    """Look up today's weather in a city."""
    ran.append(city)
    return {"city": city, "sky": "sunny"}


async def play(generation: llm.GenerationCreatedEvent) -> tuple[bytes, list[llm.FunctionCall]]:
    """The audio of one generation, and the function calls it made."""

    async def audio() -> bytes:
        return b"".join(
            [
                bytes(frame.data)
                async for message in generation.message_stream
                async for frame in message.audio_stream
            ]
        )

    async def calls() -> list[llm.FunctionCall]:
        return [call async for call in generation.function_stream]

    return await asyncio.gather(audio(), calls())


async def run_tool(
    session: openai.realtime.RealtimeSession, call: llm.FunctionCall
) -> llm.FunctionCallOutput:
    tool = session.tools.function_tools[call.name]
    args, kwargs = llm.utils.prepare_function_arguments(fnc=tool, json_arguments=call.arguments)
    output = await tool(*args, **kwargs)
    return llm.FunctionCallOutput(
        name=call.name, call_id=call.call_id, output=json.dumps(output), is_error=False
    )


async def main() -> None:
    async with Emulator(speed=8.0, script=SCRIPT) as emulator:
        model = openai.realtime.RealtimeModel(
            base_url=emulator.base_url,
            api_key="sk-anything",  # any sk- key: the emulator checks the form, not the key
            model="gpt-realtime",
        )
        session = model.session()
        generations: asyncio.Queue[llm.GenerationCreatedEvent] = asyncio.Queue()
        session.on("generation_created", generations.put_nowait)
        try:
            await session.update_tools([lookup_weather])
            # The user speaks: tone speech, then a second of silence so server VAD ends the
            # turn, in 100 ms frames as a LiveKit audio track would deliver them.
            speech = tones.encode("what is the weather in paris") + bytes(2 * 24000)
            for start in range(0, len(speech), 4800):
                chunk = speech[start : start + 4800]
                samples = len(chunk) // 2
                session.push_audio(rtc.AudioFrame(chunk, 24000, 1, samples_per_channel=samples))
            # The turn's generation is the tool call; its output goes into the chat context,
            # and the reply generated after it speaks the answer.
            first = await asyncio.wait_for(generations.get(), 60)
            _, calls = await asyncio.wait_for(play(first), 60)
            chat_ctx = session.chat_ctx.copy()
            for call in calls:
                chat_ctx.items.append(await run_tool(session, call))
            await session.update_chat_ctx(chat_ctx)
            reply = await session.generate_reply()
            heard, _ = await asyncio.wait_for(play(reply), 60)
        finally:
            await session.aclose()
            await model.aclose()
    said = tones.decode(heard, 24000)
    assert [call.name for call in calls] == ["lookup_weather"], calls
    assert ran == ["Paris"], ran
    assert said == "it is sunny in paris.", said
    print(f"livekit-agents: ran lookup_weather({ran[0]!r}), heard {said!r}")


if __name__ == "__main__":
    asyncio.run(main())
