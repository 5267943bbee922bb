"""The google-genai SDK's own live client drives the emulator's Gemini front end over TLS:
a text turn, an audio turn with transcription, a tool call, an interruption, a resumption
after ``goAway``. Every message the emulator sent validates against the SDK's
``LiveServerMessage`` with unknown keys rejected at any depth."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from websockets.exceptions import ConnectionClosed

from liveloop_emulator import Emulator, Rule, tones

KEY = "AIza-emulator-test"
SILENCE_16K = b"\0\0" * 16000  # one second


def check_messages(emu: Emulator) -> int:
    count = 0
    for front in emu.gemini.sessions:
        for message in front.sent:
            types.LiveServerMessage.model_validate(message)  # extra="forbid": no unknown keys
            count += 1
    return count


@asynccontextmanager
async def emulator(**options: Any) -> AsyncIterator[Emulator]:
    options.setdefault("speed", 8.0)
    async with Emulator(tls=True, **options) as emu:
        try:
            yield emu
        finally:
            assert check_messages(emu) > 0


def close_code(exc: BaseException) -> tuple[int | None, str]:
    """The close code and reason the SDK reports (it raises APIError once set up, and the
    websockets error while connecting)."""
    if isinstance(exc, errors.APIError):
        return exc.code, str(exc)
    assert isinstance(exc, ConnectionClosed) and exc.rcvd is not None
    return exc.rcvd.code, exc.rcvd.reason


def client(emu: Emulator, key: str = KEY, api_version: str = "v1beta") -> genai.Client:
    context = ssl.create_default_context(cafile=str(emu.cert_path))
    return genai.Client(
        api_key=key,
        http_options=types.HttpOptions(
            base_url=emu.gemini_base_url,
            api_version=api_version,
            async_client_args={"ssl": context},
        ),
    )


CONFIG = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    input_audio_transcription=types.AudioTranscriptionConfig(),
    output_audio_transcription=types.AudioTranscriptionConfig(),
)


async def one_turn(session: Any) -> tuple[bytes, str, str, list[types.LiveServerMessage]]:
    """Receive until turnComplete: (24 kHz audio, input transcript, output transcript)."""
    audio, heard, said, messages = b"", "", "", []
    async with asyncio.timeout(20):
        async for message in session.receive():
            messages.append(message)
            content = message.server_content
            if content is None:
                continue
            if content.model_turn is not None:
                for part in content.model_turn.parts or []:
                    if part.inline_data is not None and part.inline_data.data:
                        audio += part.inline_data.data
            if content.input_transcription and content.input_transcription.text:
                heard += content.input_transcription.text
            if content.output_transcription and content.output_transcription.text:
                said += content.output_transcription.text
    return audio, heard.strip(), said, messages


async def test_a_text_turn() -> None:
    async with (
        emulator() as emu,
        client(emu).aio.live.connect(model="gemini-3.8-live", config=CONFIG) as session,
    ):
        assert session.setup_complete is not None  # the first frame was setupComplete
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="good morning")]),
            turn_complete=True,
        )
        audio, _, said, messages = await one_turn(session)
        assert said == "You said: good morning"
        assert tones.decode(audio) == "you said: good morning"
        last = messages[-1]
        assert last.server_content is not None and last.server_content.turn_complete
        assert last.usage_metadata is not None and last.usage_metadata.total_token_count
        assert any(m.server_content and m.server_content.generation_complete for m in messages)


async def test_an_audio_turn_with_transcription_at_16_khz() -> None:
    async with (
        emulator() as emu,
        client(emu, api_version="v1").aio.live.connect(
            model="gemini-3.8-live", config=CONFIG
        ) as session,
    ):
        speech = tones.encode("what time is it", sample_rate=16000)
        for start in range(0, len(speech + SILENCE_16K), 3200):
            chunk = (speech + SILENCE_16K)[start : start + 3200]
            await session.send_realtime_input(
                audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000")
            )
        audio, heard, said, _ = await one_turn(session)
        assert heard == "what time is it"
        assert said == "You said: what time is it"
        assert tones.decode(audio) == "you said: what time is it"


async def test_a_tool_call_and_its_answer() -> None:
    rules = [
        Rule(
            match="weather",
            tool="get_weather",
            arguments={"city": "Oslo"},
            reply="It is {output[sky]}.",
        )
    ]
    config = CONFIG.model_copy(
        update={
            "tools": [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name="get_weather",
                            parameters_json_schema={
                                "type": "object",
                                "properties": {"city": {"type": "string"}},
                            },
                        )
                    ]
                )
            ]
        }
    )
    async with (
        emulator(script=rules) as emu,
        client(emu).aio.live.connect(model="gemini-3.8-live", config=config) as session,
    ):
        await session.send_realtime_input(text="what is the weather")
        call = None
        async with asyncio.timeout(20):
            async for message in session.receive():
                if message.tool_call is not None:
                    call = message.tool_call.function_calls[0]  # type: ignore[index]
                    break
        assert call is not None and call.name == "get_weather" and call.args == {"city": "Oslo"}
        await session.send_tool_response(
            function_responses=types.FunctionResponse(
                id=call.id, name=call.name, response={"output": {"sky": "sunny"}}
            )
        )
        _, _, said, _ = await one_turn(session)
        assert said == "It is sunny."


async def test_an_interruption() -> None:
    async with (
        emulator(speed=1.0) as emu,
        client(emu).aio.live.connect(model="gemini-3.8-live", config=CONFIG) as session,
    ):
        long = "tell me a long story about the sea and the ships and the sailors"
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=long)]), turn_complete=True
        )
        async with asyncio.timeout(20):
            async for message in session.receive():
                if message.server_content and message.server_content.model_turn:
                    break  # the model is speaking
        speech = tones.encode("stop", sample_rate=16000)
        await session.send_realtime_input(
            audio=types.Blob(data=speech + SILENCE_16K, mime_type="audio/pcm;rate=16000")
        )
        interrupted = False
        async with asyncio.timeout(20):
            async for message in session.receive():
                content = message.server_content
                if content and content.interrupted:
                    interrupted = True
                if content and content.generation_complete:
                    assert interrupted is False  # never generationComplete on a cut turn
        assert interrupted


async def test_resumption_after_go_away() -> None:
    resumable = CONFIG.model_copy(update={"session_resumption": types.SessionResumptionConfig()})
    async with emulator(gemini_connection_seconds=3.0) as emu:
        handle = None
        go_away = None
        async with client(emu).aio.live.connect(model="gemini-3.8-live", config=resumable) as s:
            await s.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="my name is Ada")]),
                turn_complete=True,
            )
            with pytest.raises(errors.APIError) as closed:
                async with asyncio.timeout(10):
                    while True:
                        async for message in s.receive():
                            update = message.session_resumption_update
                            if update is not None and update.resumable and update.new_handle:
                                handle = update.new_handle
                            if message.go_away is not None:
                                go_away = message.go_away
            assert closed.value.code == 1011
        assert go_away is not None and go_away.time_left == "1.5s"
        assert handle is not None
        resumed = resumable.model_copy(
            update={"session_resumption": types.SessionResumptionConfig(handle=handle)}
        )
        async with client(emu).aio.live.connect(model="gemini-3.8-live", config=resumed) as s:
            front = emu.gemini.sessions[-1]
            assert front.resumed
            texts = [
                part.get("text")
                for item in front.engine.items
                for part in item.get("content") or []
            ]
            assert "my name is Ada" in texts  # the conversation came back with the handle
            await s.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text="hello again")]),
                turn_complete=True,
            )
            _, _, said, _ = await one_turn(s)
            assert said == "You said: hello again"


async def test_a_refused_key_closes_with_1008() -> None:
    async with Emulator(tls=True, api_keys=["AIza-good"]) as emu:
        with pytest.raises((errors.APIError, ConnectionClosed)) as refused:
            async with client(emu, key="AIza-bad").aio.live.connect(
                model="gemini-3.8-live", config=CONFIG
            ) as session:
                async for _ in session.receive():
                    pass
        code, reason = close_code(refused.value)
        assert code == 1008 and "API key not valid" in reason


async def test_ephemeral_tokens_use_the_constrained_path() -> None:
    async with emulator() as emu:
        token = emu.gemini.tokens.mint(uses=1)
        async with client(emu, key=token.name, api_version="v1alpha").aio.live.connect(
            model="gemini-3.8-live", config=CONFIG
        ) as session:
            await session.send_realtime_input(text="hi")
            _, _, said, _ = await one_turn(session)
            assert said == "You said: hi"
        with pytest.raises((errors.APIError, ConnectionClosed)) as spent:  # single use: spent
            async with client(emu, key=token.name, api_version="v1alpha").aio.live.connect(
                model="gemini-3.8-live", config=CONFIG
            ) as session:
                async for _ in session.receive():
                    pass
        assert close_code(spent.value)[0] == 1008
