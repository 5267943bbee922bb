"""The contenders, each driving the same scripted traffic against the same emulator.

- ``floor``: a raw ``websockets`` client that parses every event (``json.loads``) and
  base64-decodes audio, nothing else;
- ``liveloop``: ``liveloop.open_session`` over ``openai/websocket`` (or ``openai/webrtc``);
- ``sdk``: the ``openai`` SDK's ``AsyncOpenAI(...).realtime.connect(...)``, iterating events;
- ``agents``: the OpenAI Agents SDK's ``RealtimeRunner`` / ``RealtimeSession`` (run in its
  own environment: ``uv run --with openai-agents ...``).

Every client configures the same session (server VAD that does not answer on its own,
input transcription on, PCM16 24 kHz both ways) and offers the same operations:

- ``reply_to_text(text)``: a typed user message and ``response.create``; the emulator echoes
  the text as tone-speech audio with its transcript; returns when ``response.done`` arrived;
- ``say(text)``: ``response.create`` with liveloop's verbatim-say instructions; returns the
  seconds to the first audio chunk delivered to the app and to the end of the response;
- ``turn_from_audio(pcm)``: sends the utterance in 40 ms chunks as fast as it is taken and
  returns when (``perf_counter``) the last chunk was sent and the user turn was delivered;
- ``active(...)``: real-time audio both ways for the concurrency benchmark.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import json
import time
from collections.abc import Callable
from typing import Any

from _common import CHUNK_BYTES, CHUNK_MS, KEY, MODEL, SAMPLE_RATE, Emulator

TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
CLOSE_TIMEOUT = 0.5
"""The floor's close timeout: liveloop's own (a careful client does not wait 10 s)."""
DONE = "response.done"
TRANSCRIBED = "conversation.item.input_audio_transcription.completed"

SESSION: dict[str, Any] = {
    "type": "realtime",
    "model": MODEL,
    "instructions": "",
    "output_modalities": ["audio"],
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": TRANSCRIPTION_MODEL},
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
                "create_response": False,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"},
    },
    "tools": [],
    "tool_choice": "auto",
}
"""What liveloop sends for ``ServerVAD(create_response=False)``; the peers send the same."""


def say_instructions(text: str) -> str:
    """The per-response instructions liveloop's ``say()`` sends (voiced verbatim)."""
    return f'Say exactly the following text, word for word, and nothing else:\n"""\n{text}\n"""'


def say_response(text: str, request: str) -> dict[str, Any]:
    return {
        "instructions": say_instructions(text),
        "tool_choice": "none",
        "output_modalities": ["audio"],
        "metadata": {"liveloop_request": request},
    }


def user_text_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def chunks(pcm: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


class LagProbe:
    """Records how late paced audio is: send ticks against their schedule, and output
    audio against the pacing of its response (the audio of an item is due at the rate it
    plays, from its first chunk on: ``bytes before it / 48 000 bytes per s / speed``)."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.lags: list[float] = []
        self.recording = False
        self._items: dict[str, tuple[float, int]] = {}

    def audio(self, item_id: str, nbytes: int) -> None:
        now = time.perf_counter()
        seen = self._items.get(item_id)
        if seen is None:
            self._items[item_id] = (now, nbytes)
            return
        started, before = seen
        self._items[item_id] = (started, before + nbytes)
        if self.recording:
            due = started + before / (SAMPLE_RATE * 2) / self.speed
            self.lags.append(max(0.0, now - due))

    def sent(self, due: float) -> None:
        if self.recording:
            self.lags.append(max(0.0, time.perf_counter() - due))


async def paced_sender(send: Callable[[bytes], Any], until: float, probe: LagProbe) -> int:
    """Send 40 ms of quiet audio every 40 ms (absolute schedule) until ``until``."""
    quiet = b"\x00\x00" * (CHUNK_BYTES // 2)
    step = CHUNK_MS / 1000
    due = time.perf_counter()
    sent = 0
    while due < until:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(quiet)
        probe.sent(due)
        sent += 1
        due += step
    return sent


class Client(abc.ABC):
    """One contender's session."""

    name = "?"
    said_at = 0.0
    """``perf_counter()`` when the last ``say()`` was asked (its clock's start)."""

    @abc.abstractmethod
    async def open(self, emu: Emulator) -> None: ...

    @abc.abstractmethod
    async def reply_to_text(self, text: str) -> None: ...

    @abc.abstractmethod
    async def say(self, text: str) -> tuple[float, float]: ...

    @abc.abstractmethod
    async def turn_from_audio(self, pcm: bytes) -> tuple[float, float]:
        """Send ``pcm`` in 40 ms chunks; ``time.perf_counter()`` when the last chunk was sent
        and when the user turn was in the app's hands."""

    @abc.abstractmethod
    async def active(self, until: float, probe: LagProbe, text: str) -> None:
        """Real-time quiet audio in, say(``text``) after say out, until ``until``."""
        ...

    @abc.abstractmethod
    async def close(self) -> None: ...


# -- the limit: bytes only ------------------------------------------------------------------


class _BytesProtocol(asyncio.Protocol):
    """An asyncio protocol that frames nothing: until the session is configured it hands
    the bytes to ``websockets``' sans-I/O client (handshake, ``session.created/updated``);
    afterwards it only looks for the end-of-response marker in the raw bytes."""

    def __init__(self, ws: Any, marker: bytes) -> None:
        self.ws = ws
        self.marker = marker
        self.raw = False
        self.transport: Any = None
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.done: asyncio.Future[None] | None = None
        self._tail = b""
        self.received_bytes = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport subclasses

    def data_received(self, data: bytes) -> None:
        if self.raw:
            self.received_bytes += len(data)
            window = self._tail + data
            if self.done is not None and self.marker in window and not self.done.done():
                self.done.set_result(None)
            # Keep one byte less than the marker: a marker already seen must not match again.
            self._tail = window[-(len(self.marker) - 1) :]
            return
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            self.events.put_nowait(event)

    def flush(self) -> None:
        assert self.transport is not None
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)


class LimitClient:
    """The limit for any client on this loop: the bytes arrive, nothing is parsed. A plain
    asyncio protocol; ``websockets``' sans-I/O client does the handshake and frames what it
    sends. It only answers ``reply_to_text`` (the per-event benchmark): a client that reads
    no event can take no turn."""

    name = "limit"

    async def open(self, emu: Emulator) -> None:
        from urllib.parse import urlsplit

        from websockets.client import ClientProtocol
        from websockets.http11 import Response
        from websockets.uri import parse_uri

        uri = parse_uri(emu.realtime_url)
        ws = ClientProtocol(uri, max_size=16 * 2**20)
        self.proto = _BytesProtocol(ws, b'"response.done"')
        loop = asyncio.get_running_loop()
        parts = urlsplit(emu.realtime_url)
        await loop.create_connection(lambda: self.proto, parts.hostname, parts.port)
        request = ws.connect()
        request.headers["Authorization"] = f"Bearer {KEY}"
        ws.send_request(request)
        self.proto.flush()
        response = await self.proto.events.get()
        if not isinstance(response, Response) or response.status_code != 101:
            raise RuntimeError(f"handshake refused: {response}")
        await self._until("session.created")
        self._send({"type": "session.update", "session": SESSION})
        await self._until("session.updated")
        self.proto.raw = True  # from here on: bytes only
        self.emu = emu
        self.opened_at = time.perf_counter()

    async def _until(self, kind: str) -> None:
        while True:
            frame = await self.proto.events.get()
            if json.loads(frame.data)["type"] == kind:
                return

    def _send(self, event: dict[str, Any]) -> None:
        self.proto.ws.send_text(json.dumps(event).encode())
        self.proto.flush()

    async def refresh(self) -> None:
        """Reconnect (outside any timed section) when the session is older than
        ``REFRESH_S``: reading bytes only, this client answers no ping, and the server
        drops a connection whose pings go unanswered (uvicorn: after 20 + 20 s)."""
        if time.perf_counter() - self.opened_at > self.REFRESH_S:
            await self.close()
            await self.open(self.emu)

    REFRESH_S = 15.0

    async def reply_to_text(self, text: str) -> None:
        self.proto.done = asyncio.get_running_loop().create_future()
        self._send({"type": "conversation.item.create", "item": user_text_item(text)})
        self._send({"type": "response.create"})
        await self.proto.done

    async def close(self) -> None:
        if self.proto.transport is not None:
            self.proto.ws.send_close(1000)
            self.proto.flush()
            self.proto.transport.close()


# -- floor ----------------------------------------------------------------------------------


class FloorClient(Client):
    """The physical floor: ``websockets`` + ``json.loads`` + ``base64.b64decode``."""

    name = "floor"

    def __init__(self) -> None:
        self._ids = 0
        self.received = 0
        """Server events received so far."""

    async def open(self, emu: Emulator) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(
            emu.realtime_url,
            additional_headers={"Authorization": f"Bearer {KEY}"},
            compression=None,
            max_size=16 * 2**20,
            # A careful minimal client does not wait 10 s for a close frame (liveloop: 0.5 s).
            close_timeout=CLOSE_TIMEOUT,
        )
        await self._until("session.created")
        await self._send({"type": "session.update", "session": SESSION})
        await self._until("session.updated")

    async def _send(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event))

    async def _until(self, kind: str) -> dict[str, Any]:
        while True:
            event = json.loads(await self.ws.recv())
            self.received += 1
            if event["type"] == "response.output_audio.delta":
                base64.b64decode(event["delta"])
            if event["type"] == kind:
                return event

    async def reply_to_text(self, text: str) -> None:
        await self._send({"type": "conversation.item.create", "item": user_text_item(text)})
        await self._send({"type": "response.create"})
        await self._until(DONE)

    async def say(self, text: str) -> tuple[float, float]:
        self._ids += 1
        start = self.said_at = time.perf_counter()
        response = say_response(text, f"r{self._ids}")
        await self._send({"type": "response.create", "response": response})
        first = None
        while True:
            event = json.loads(await self.ws.recv())
            kind = event["type"]
            if kind == "response.output_audio.delta":
                base64.b64decode(event["delta"])
                if first is None:
                    first = time.perf_counter()
            elif kind == DONE:
                end = time.perf_counter()
                return (first or end) - start, end - start

    async def turn_from_audio(self, pcm: bytes) -> tuple[float, float]:
        for chunk in chunks(pcm):
            await self._send(
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}
            )
        start = time.perf_counter()
        await self._until(TRANSCRIBED)
        return start, time.perf_counter()

    async def active(self, until: float, probe: LagProbe, text: str) -> None:
        async def send(pcm: bytes) -> None:
            await self._send(
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}
            )

        async def receive() -> None:
            while True:
                event = json.loads(await self.ws.recv())
                kind = event["type"]
                if kind == "response.output_audio.delta":
                    pcm = base64.b64decode(event["delta"])
                    probe.audio(event["item_id"], len(pcm))
                elif kind == DONE and time.perf_counter() < until:
                    await self._send(
                        {"type": "response.create", "response": say_response(text, "a")}
                    )

        reader = asyncio.create_task(receive())
        await self._send({"type": "response.create", "response": say_response(text, "a")})
        try:
            await paced_sender(send, until, probe)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def close(self) -> None:
        await self.ws.close()


# -- liveloop -------------------------------------------------------------------------------


class LiveloopClient(Client):
    """liveloop over ``openai/websocket`` (or another transport), with an app-side
    ``audio_out()`` consumer as a real application has."""

    name = "liveloop"

    def __init__(self, transport: str = "websocket") -> None:
        self.transport = transport
        self._first: float | None = None
        self._probe: LagProbe | None = None

    async def open(self, emu: Emulator) -> None:
        import liveloop

        self.session = await liveloop.open_session(
            api_key=KEY,
            base_url=emu.base_url,
            model=MODEL,
            transport=self.transport,
            turn_detection=liveloop.ServerVAD(create_response=False),
            auto_respond=False,
        )
        self._consumer = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        from liveloop.events import AssistantAudio

        async for chunk in self.session.audio_out():
            if self._first is None:
                self._first = time.perf_counter()
            if self._probe is not None and isinstance(chunk, AssistantAudio):
                self._probe.audio(chunk.item_id, len(chunk.audio))

    async def reply_to_text(self, text: str) -> None:
        await self.session.send_text(text)
        await self.session.respond()

    async def say(self, text: str) -> tuple[float, float]:
        self._first = None
        start = self.said_at = time.perf_counter()
        await self.session.say(text)
        end = time.perf_counter()
        # The handle completes at response.done; the consumer may still be one step behind.
        for _ in range(100):
            if self._first is not None:
                break
            await asyncio.sleep(0)
        return (self._first or end) - start, end - start

    async def turn_from_audio(self, pcm: bytes) -> tuple[float, float]:
        for chunk in chunks(pcm):
            await self.session.send_audio(chunk)
        start = time.perf_counter()
        await self.session.input()
        return start, time.perf_counter()

    async def active(self, until: float, probe: LagProbe, text: str) -> None:
        self._probe = probe

        async def speak() -> None:
            while time.perf_counter() < until:
                await self.session.say(text)

        speaker = asyncio.create_task(speak())
        try:
            await paced_sender(self.session.send_audio, until, probe)
        finally:
            speaker.cancel()
            await asyncio.gather(speaker, return_exceptions=True)
            self._probe = None

    async def close(self) -> None:
        await self.session.close()
        self._consumer.cancel()
        await asyncio.gather(self._consumer, return_exceptions=True)


# -- the openai SDK -------------------------------------------------------------------------


class SdkClient(Client):
    """``AsyncOpenAI(...).realtime.connect(model=...)``, iterating its parsed events."""

    name = "sdk"

    def __init__(self) -> None:
        self._ids = 0

    async def open(self, emu: Emulator) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(
            api_key=KEY, base_url=emu.base_url, websocket_base_url=emu.ws_base_url
        )
        self.manager = self.client.realtime.connect(model=MODEL)
        self.conn = await self.manager.enter()
        await self._until("session.created")
        await self.conn.session.update(session=SESSION)  # type: ignore[arg-type]
        await self._until("session.updated")

    async def _until(self, kind: str) -> Any:
        while True:
            event = await self.conn.recv()
            if event.type == "response.output_audio.delta":
                base64.b64decode(event.delta)
            if event.type == kind:
                return event

    async def reply_to_text(self, text: str) -> None:
        await self.conn.conversation.item.create(item=user_text_item(text))  # type: ignore[arg-type]
        await self.conn.response.create()
        await self._until(DONE)

    async def say(self, text: str) -> tuple[float, float]:
        self._ids += 1
        start = self.said_at = time.perf_counter()
        await self.conn.response.create(response=say_response(text, f"r{self._ids}"))  # type: ignore[arg-type]
        first = None
        while True:
            event = await self.conn.recv()
            if event.type == "response.output_audio.delta":
                base64.b64decode(event.delta)
                if first is None:
                    first = time.perf_counter()
            elif event.type == DONE:
                end = time.perf_counter()
                return (first or end) - start, end - start

    async def turn_from_audio(self, pcm: bytes) -> tuple[float, float]:
        for chunk in chunks(pcm):
            await self.conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        start = time.perf_counter()
        await self._until(TRANSCRIBED)
        return start, time.perf_counter()

    async def active(self, until: float, probe: LagProbe, text: str) -> None:
        async def send(pcm: bytes) -> None:
            await self.conn.input_audio_buffer.append(audio=base64.b64encode(pcm).decode())

        async def receive() -> None:
            while True:
                event = await self.conn.recv()
                if event.type == "response.output_audio.delta":
                    pcm = base64.b64decode(event.delta)
                    probe.audio(event.item_id, len(pcm))
                elif event.type == DONE and time.perf_counter() < until:
                    await self.conn.response.create(response=say_response(text, "a"))  # type: ignore[arg-type]

        reader = asyncio.create_task(receive())
        await self.conn.response.create(response=say_response(text, "a"))  # type: ignore[arg-type]
        try:
            await paced_sender(send, until, probe)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def close(self) -> None:
        await self.conn.close()


# -- openai-agents --------------------------------------------------------------------------


class AgentsClient(Client):
    """The Agents SDK's realtime path: ``RealtimeRunner(agent).run(model_config=...)`` with
    the WebSocket model pointed at the emulator (``model_config["url"]``)."""

    name = "agents"

    async def open(self, emu: Emulator) -> None:
        from agents.realtime import RealtimeAgent, RealtimeRunner
        from agents.realtime.openai_realtime import OpenAIRealtimeWebSocketModel

        settings: dict[str, Any] = {
            "model_name": MODEL,
            "voice": "marin",
            "output_modalities": ["audio"],
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": {"model": TRANSCRIPTION_MODEL},
            "turn_detection": {
                "type": "server_vad",
                "create_response": False,
                "interrupt_response": True,
            },
        }
        runner = RealtimeRunner(
            RealtimeAgent(name="bench", instructions=""),
            model=OpenAIRealtimeWebSocketModel(),
            config={"model_settings": settings},  # type: ignore[typeddict-item]
        )
        self.session = await runner.run(model_config={"url": emu.realtime_url, "api_key": KEY})
        await self.session.enter()
        self.events = self.session.__aiter__()
        await self._until_raw("session.updated")

    async def _until_raw(self, kind: str) -> None:
        while True:
            event = await self.events.__anext__()
            if _raw_type(event) == kind:
                return

    async def _raw_send(self, kind: str, **data: Any) -> None:
        from agents.realtime.model_inputs import RealtimeModelSendRawMessage

        await self.session.model.send_event(
            RealtimeModelSendRawMessage(message={"type": kind, "other_data": data})  # type: ignore[typeddict-item]
        )

    async def reply_to_text(self, text: str) -> None:
        await self.session.send_message(text)
        await self._until_raw(DONE)

    async def say(self, text: str) -> tuple[float, float]:
        start = self.said_at = time.perf_counter()
        await self._raw_send("response.create", response=say_response(text, "r"))
        first = None
        while True:
            event = await self.events.__anext__()
            if event.type == "audio" and first is None:
                first = time.perf_counter()
            elif _raw_type(event) == DONE:
                end = time.perf_counter()
                return (first or end) - start, end - start

    async def turn_from_audio(self, pcm: bytes) -> tuple[float, float]:
        for chunk in chunks(pcm):
            await self.session.send_audio(chunk)
        start = time.perf_counter()
        while True:
            event = await self.events.__anext__()
            if (
                event.type == "raw_model_event"
                and event.data.type == "input_audio_transcription_completed"
            ):
                return start, time.perf_counter()

    async def active(self, until: float, probe: LagProbe, text: str) -> None:
        async def receive() -> None:
            while True:
                event = await self.events.__anext__()
                if event.type == "audio":
                    probe.audio(event.item_id, len(event.audio.data))
                elif _raw_type(event) == DONE and time.perf_counter() < until:
                    await self._raw_send("response.create", response=say_response(text, "a"))

        reader = asyncio.create_task(receive())
        await self._raw_send("response.create", response=say_response(text, "a"))
        try:
            await paced_sender(self.session.send_audio, until, probe)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def close(self) -> None:
        await self.session.close()


def _raw_type(event: Any) -> str | None:
    if event.type != "raw_model_event" or event.data.type != "raw_server_event":
        return None
    data = event.data.data
    return data.get("type") if isinstance(data, dict) else None


def make(name: str, transport: str = "websocket") -> Client | LimitClient:
    """A fresh client for contender ``name``."""
    if name == "limit":
        return LimitClient()
    if name == "aiortc":
        from _aiortc_peer import AiortcPeerClient

        return AiortcPeerClient()  # type: ignore[return-value]
    if name == "floor":
        return FloorClient()
    if name == "liveloop":
        return LiveloopClient(transport)
    if name == "sdk":
        return SdkClient()
    if name == "agents":
        return AgentsClient()
    raise ValueError(f"unknown contender {name!r}")


def agents_available() -> str | None:
    """None if ``openai-agents`` imports here, else why not."""
    try:
        import agents.realtime  # noqa: F401
    except Exception as exc:  # ImportError, or a broken install
        return f"openai-agents is not importable in this environment: {exc}"
    return None


async def open_clients(
    contenders: list[str], emu: Emulator, skipped: dict[str, str]
) -> dict[str, Client | LimitClient]:
    """Connect one client per contender; those that cannot run are noted in ``skipped``."""
    if "agents" in contenders and (why := agents_available()):
        skipped["agents"] = why
    clients: dict[str, Client | LimitClient] = {}
    for name in contenders:
        if name in skipped:
            continue
        client = make(name)
        try:
            await client.open(emu)
        except Exception as exc:
            skipped[name] = f"could not connect: {type(exc).__name__}: {exc}"
            continue
        clients[name] = client
    return clients
