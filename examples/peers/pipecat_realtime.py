"""Pipecat's OpenAI Realtime service, unchanged, against liveloop's emulator.

Run it in an environment with ``pipecat-ai[openai]`` and ``liveloop-emulator``
(``examples/peers/run.py`` does): ``OpenAIRealtimeLLMService`` points at the emulator, reply
rules script a greeting and the tool call, the user's turn is tone speech fed into the
pipeline as ``InputAudioRawFrame``s (no audio device), and the assertions are on the audio
frames the service pushed and on the function Pipecat ran.
"""

from __future__ import annotations

import asyncio
import sys

from loguru import logger
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    LLMRunFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams
from pipecat.services.openai.realtime.events import SessionProperties
from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService
from pipecat.workers.runner import WorkerRunner

from liveloop_emulator import Emulator, Rule, tones

# What the emulator's "model" does. Pipecat starts the conversation the usual way, by
# running the context (one user message asking for a greeting); a turn about the weather
# then calls the tool, and the follow-up speaks the reply filled in with the tool's output.
SCRIPT = [
    Rule(match="say hello", reply="Hello."),
    Rule(
        match="weather",
        tool="lookup_weather",
        arguments={"city": "Paris"},
        reply="It is {output[sky]} in {output[city]}.",
    ),
]
WEATHER_TOOL = FunctionSchema(
    name="lookup_weather",
    description="Look up today's weather in a city.",
    properties={"city": {"type": "string"}},
    required=["city"],
)
ran: list[str] = []


async def lookup_weather(params: FunctionCallParams) -> None:
    ran.append(params.arguments["city"])
    await params.result_callback({"city": params.arguments["city"], "sky": "sunny"})


class Listener(FrameProcessor):
    """Collects the assistant's audio as it leaves the service, one utterance at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.audio = bytearray()
        self.utterances: asyncio.Queue[bytes] = asyncio.Queue()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame):
            self.audio.extend(frame.audio)
        elif isinstance(frame, TTSStoppedFrame):  # the end of one spoken response
            await self.utterances.put(bytes(self.audio))
            self.audio.clear()
        await self.push_frame(frame, direction)

    async def next_said(self) -> str:
        return tones.decode(await asyncio.wait_for(self.utterances.get(), 60), 24000)


async def main() -> None:
    async with Emulator(speed=8.0, script=SCRIPT) as emulator:
        llm = OpenAIRealtimeLLMService(
            api_key="sk-anything",  # any sk- key: the emulator checks the form, not the key
            base_url=emulator.ws_base_url + "/realtime",
            settings=OpenAIRealtimeLLMService.Settings(
                model="gpt-realtime",
                session_properties=SessionProperties(
                    instructions="Answer briefly.", tools=ToolsSchema([WEATHER_TOOL])
                ),
            ),
        )
        llm.register_function("lookup_weather", lookup_weather)
        context = LLMContext([{"role": "user", "content": "Say hello."}])
        aggregators = LLMContextAggregatorPair(context)
        listener = Listener()
        worker = PipelineWorker(
            Pipeline([aggregators.user(), llm, listener, aggregators.assistant()]),
            idle_timeout_secs=None,
            enable_rtvi=False,
        )
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        running = asyncio.create_task(runner.run())
        try:
            await worker.queue_frames([LLMRunFrame()])  # the bot speaks first, as Pipecat bots do
            greeting = await listener.next_said()
            # The user speaks: tone speech, then a second of silence so server VAD ends the turn,
            # in 100 ms frames as an input transport would push them.
            speech = tones.encode("what is the weather in paris") + bytes(2 * 24000)
            await worker.queue_frames(
                InputAudioRawFrame(speech[start : start + 4800], sample_rate=24000, num_channels=1)
                for start in range(0, len(speech), 4800)
            )
            answer = await listener.next_said()  # after the tool call, the spoken answer
        finally:
            await worker.cancel()
            await running
    assert greeting == "hello.", greeting
    assert ran == ["Paris"], ran
    assert answer == "it is sunny in paris.", answer
    print(f"pipecat: heard {greeting!r}, ran lookup_weather({ran[0]!r}), heard {answer!r}")


if __name__ == "__main__":
    logger.remove()  # Pipecat logs every frame processor's life at DEBUG
    logger.add(sys.stderr, level="WARNING")
    asyncio.run(main())
