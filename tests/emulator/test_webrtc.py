"""The emulator's WebRTC side, over real WebRTC on 127.0.0.1 with aiortc as the client.

Offers (raw SDP and multipart), refusals before any peer connection, the ``oai-events`` data
channel, tone speech on both audio tracks, ``output_audio_buffer.*`` and server-side truncation,
the sideband WebSocket, hang-up. Every server event (data channel and sideband) is validated
with the schema oracle by the ``make_emulator`` fixture; events received here are validated too.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
import av
import httpx
import pytest
from _realtime_oracle import validate_server_event
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from conftest import MakeEmulator
from openai import AsyncOpenAI
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from liveloop_emulator import SAY_INSTRUCTIONS, Emulator, tones, webrtc
from liveloop_emulator.webrtc import offer_loopback_candidates

KEY = "sk-test-webrtc"
TRANSCRIBE = {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}
WAIT = 10.0


class ToneMic(MediaStreamTrack):
    """A microphone that plays tone speech on demand, silence otherwise (48 kHz, 20 ms)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        self._start: float | None = None
        self._pts = 0

    def say(self, text: str) -> None:
        self._pending += tones.encode(text, 48000)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._pts += 960
            wait = self._start + self._pts / 48000 - now
            if wait > 0:
                await asyncio.sleep(wait)
        chunk = bytes(self._pending[:1920])
        del self._pending[:1920]
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(chunk + bytes(1920 - len(chunk)))
        frame.pts = self._pts
        frame.sample_rate = 48000
        frame.time_base = fractions.Fraction(1, 48000)
        return frame


@dataclass
class Client:
    pc: RTCPeerConnection
    mic: ToneMic
    response: httpx.Response | None = None
    call_id: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)  # the remote track, PCM16 24 kHz
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    frames: int = 0  # 20 ms frames received on the remote track
    frame_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    channel_closed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.channel = self.pc.createDataChannel("oai-events")

        @self.channel.on("message")
        def on_message(message: str) -> None:
            event = json.loads(message)
            validate_server_event(event)
            self.events.append(event)
            self.arrived.set()

        self.channel.on("close", self.channel_closed.set)

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tasks.append(asyncio.ensure_future(self._record(track)))

    async def _record(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=24000)
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                for out in resampler.resample(frame):
                    self.audio += out.to_ndarray().tobytes()
                self.frames += 1
                self.frame_arrived.set()

    async def wait_frames(self, count: int) -> None:
        """Wait until ``count`` more frames arrived on the remote track: track time, which
        a loaded machine does not shorten as it does wall-clock time."""
        wanted = self.frames + count
        while self.frames < wanted:
            self.frame_arrived.clear()
            await asyncio.wait_for(self.frame_arrived.wait(), WAIT)

    def send(self, event: dict[str, Any]) -> None:
        self.channel.send(json.dumps(event))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    async def next(self, kind: str, *, after: int = 0, timeout: float = WAIT) -> dict[str, Any]:
        """The first event of ``kind`` at index >= ``after`` (waits for it, bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[after:]:
                if event["type"] == kind:
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [e["type"] for e in self.events[after:]]
                raise AssertionError(f"no {kind!r} within {timeout}s; got {seen}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), left)

    async def close(self) -> None:
        await asyncio.wait_for(self.pc.close(), 5)
        for task in self.tasks:
            task.cancel()


def offer_headers(key: str | None = KEY) -> dict[str, str]:
    headers = {"Accept": "application/sdp"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


async def make_offer() -> tuple[Client, str]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    mic = ToneMic()
    client = Client(pc, mic)
    pc.addTrack(mic)
    offer_loopback_candidates(pc)
    await pc.setLocalDescription(await pc.createOffer())
    return client, pc.localDescription.sdp


@contextlib.asynccontextmanager
async def call(
    emu: Emulator, *, session: dict[str, Any] | None = None, key: str = KEY
) -> AsyncIterator[Client]:
    """A connected call: raw SDP offer, or multipart when ``session`` is given."""
    client, sdp = await make_offer()
    try:
        async with httpx.AsyncClient(timeout=WAIT) as http:
            url = f"{emu.base_url}/realtime/calls"
            if session is None:
                headers = {**offer_headers(key), "Content-Type": "application/sdp"}
                response = await http.post(url, content=sdp, headers=headers)
            else:
                files = {
                    "sdp": (None, sdp.encode(), "application/sdp"),
                    "session": (None, json.dumps(session).encode(), "application/json"),
                }
                response = await http.post(url, files=files, headers=offer_headers(key))
        assert response.status_code == 201, response.text
        client.response = response
        client.call_id = response.headers["location"].rsplit("/", 1)[-1]
        await client.pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        await client.next("session.created")
        yield client
    finally:
        await client.close()


def heard(client: Client) -> str:
    return tones.decode(bytes(client.audio))


async def played(client: Client, after: int) -> str:
    """Wait for the reply's playout to stop, then decode what arrived on the remote track."""
    await client.next("output_audio_buffer.stopped", after=after)
    await client.wait_frames(10)  # the last frames are still in the receiver's jitter buffer
    return heard(client)


# ------------------------------------------------------------------------------------ offers


async def test_raw_sdp_offer_answers_with_location_and_session_created(
    make_emulator: MakeEmulator,
) -> None:
    async with make_emulator(api_keys=[KEY]) as emu, call(emu) as client:
        response = client.response
        assert response is not None
        assert response.headers["content-type"].startswith("application/sdp")
        assert re.fullmatch(r"/v1/realtime/calls/rtc_[0-9a-f]{20,}", response.headers["location"])
        answer = response.text
        assert answer.startswith("v=0")
        assert "a=rtpmap:" in answer and "opus/48000/2" in answer
        assert "webrtc-datachannel" in answer
        # loopback ICE: the emulator serves on 127.0.0.1 and offers a candidate there
        assert re.search(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host", answer)
        created = client.of("session.created")
        assert len(created) == 1
        assert created[0]["session"]["model"] == "gpt-realtime"
        live = emu.calls[client.call_id]
        assert live.session.call_id == client.call_id
        assert live.session in emu.sessions
        assert live.session.server_events[0]["type"] == "session.created"


async def test_multipart_offer_from_the_sdk_applies_the_session(
    make_emulator: MakeEmulator,
) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        client, sdp = await make_offer()
        try:
            sdk = AsyncOpenAI(api_key=KEY, base_url=emu.base_url)
            raw = await sdk.realtime.calls.with_raw_response.create(
                sdp=sdp,
                session={
                    "type": "realtime",
                    "model": "gpt-realtime-mini",
                    "instructions": "Be brief.",
                    "audio": {"input": {"transcription": {"model": "whisper-1"}}},
                },
            )
            assert raw.status_code == 201
            location = raw.headers["location"]
            assert location.startswith("/v1/realtime/calls/rtc_")
            answer = raw.http_response.content.decode()
            await client.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            created = await client.next("session.created")
            session = created["session"]
            assert session["model"] == "gpt-realtime-mini"
            assert session["instructions"] == "Be brief."
            assert session["audio"]["input"]["transcription"]["model"] == "whisper-1"
            call_id = location.rsplit("/", 1)[-1]
            assert emu.calls[call_id].session.model == "gpt-realtime-mini"
            # the SDK's hang-up reaches the emulator too
            await sdk.realtime.calls.hangup(call_id)
            assert emu.calls[call_id].session.closed
        finally:
            await client.close()


async def test_client_secret_offers_use_the_secret_session(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        secret = emu.create_client_secret(session={"instructions": "From the secret."})
        async with call(emu, key=secret.value) as client:
            assert client.of("session.created")[0]["session"]["instructions"] == (
                "From the secret."
            )


async def test_refusals_come_before_any_peer_connection(
    make_emulator: MakeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[RTCPeerConnection] = []
    original = webrtc.peer_connection

    def counting() -> RTCPeerConnection:
        pc = original()
        created.append(pc)
        return pc

    monkeypatch.setattr(webrtc, "peer_connection", counting)
    client, sdp = await make_offer()
    await client.close()
    async with make_emulator(api_keys=[KEY]) as emu, httpx.AsyncClient(timeout=WAIT) as http:
        url = f"{emu.base_url}/realtime/calls"
        sdp_type = {"Content-Type": "application/sdp"}

        async def refused(status: int, **request: Any) -> dict[str, Any]:
            response = await http.post(url, **request)
            assert response.status_code == status, response.text
            body = response.json()
            assert set(body) == {"error"}
            assert set(body["error"]) >= {"message", "type", "code", "param"}
            assert body["error"]["type"] == "invalid_request_error"
            assert KEY not in response.text
            return dict(body["error"])

        error = await refused(401, content=sdp, headers={**offer_headers(None), **sdp_type})
        assert error["code"] == "invalid_api_key"
        await refused(401, content=sdp, headers={**offer_headers("sk-wrong"), **sdp_type})
        error = await refused(
            415, content=sdp, headers={**offer_headers(), "Content-Type": "text/plain"}
        )
        assert error["code"] == "unsupported_content_type"
        huge = sdp + "a=x-padding:" + "x" * (64 * 1024) + "\r\n"
        error = await refused(413, content=huge, headers={**offer_headers(), **sdp_type})
        assert error["code"] == "request_too_large"
        files = {"sdp": (None, huge.encode(), "application/sdp")}
        await refused(413, files=files, headers=offer_headers())
        for broken in ("hello", "v=0\r\n", sdp.replace("a=ice-ufrag", "a=x-ufrag")):
            error = await refused(400, content=broken, headers={**offer_headers(), **sdp_type})
            assert error["param"] == "sdp"
        files = {"sdp": (None, b"not sdp", "application/sdp")}
        await refused(400, files=files, headers=offer_headers())
        files = {
            "sdp": (None, sdp.encode(), "application/sdp"),
            "session": (None, b'{"type": "realtime", "modalities": ["audio"]}', "application/json"),
        }
        error = await refused(400, files=files, headers=offer_headers())
        assert error["code"] == "unknown_parameter"
        files = {
            "sdp": (None, sdp.encode(), "application/sdp"),
            "session": (None, b"[1]", "application/json"),
        }
        await refused(400, files=files, headers=offer_headers())
        await refused(
            400, files={"session": (None, b"{}", "application/json")}, headers=offer_headers()
        )
        assert created == []
        assert emu.calls == {} and emu.sessions == []


# ---------------------------------------------------------------------------------- audio


async def test_audio_turn_transcribed_and_reply_spoken_on_the_track(
    make_emulator: MakeEmulator,
) -> None:
    async with make_emulator(api_keys=[KEY]) as emu, call(emu, session=TRANSCRIBE) as client:
        await asyncio.sleep(0.3)  # let the tracks settle
        client.mic.say("hello there")
        done = await client.next("conversation.item.input_audio_transcription.completed")
        assert done["transcript"] == "hello there"
        start = len(client.events)
        client.audio.clear()
        started = await client.next("output_audio_buffer.started", after=start)
        response_done = await client.next("response.done", after=start)
        stopped = await client.next("output_audio_buffer.stopped", after=start)
        rid = response_done["response"]["id"]
        assert started["response_id"] == rid == stopped["response_id"]
        kinds = [e["type"] for e in client.events]
        assert kinds.index("response.content_part.added") < client.events.index(started)
        assert client.events.index(response_done) < client.events.index(stopped)
        assert "response.output_audio.delta" not in kinds
        assert "response.output_audio.done" in kinds
        transcript = (await client.next("response.output_audio_transcript.done"))["transcript"]
        assert transcript == "You said: hello there"
        assert await played(client, start) == "you said: hello there"
        # the session record holds the data channel's traffic
        record = emu.calls[client.call_id].session
        assert [e["event_id"] for e in record.server_events] == [
            e["event_id"] for e in client.events
        ]


async def test_barge_in_clears_playout_and_truncates_server_side(
    make_emulator: MakeEmulator,
) -> None:
    # (Long: on a busy machine the barge-in may take seconds to come through.)
    text = (
        "this reply is long enough to be interrupted well before its end, even on a machine "
        "so busy that the interruption takes seconds to arrive"
    )
    async with make_emulator(api_keys=[KEY]) as emu, call(emu, session=TRANSCRIBE) as client:
        client.send(
            {
                "type": "response.create",
                "response": {"instructions": SAY_INSTRUCTIONS.format(text=text)},
            }
        )
        started = await client.next("output_audio_buffer.started")
        at = len(client.events)
        await client.wait_frames(50)  # a second of the reply has been played
        client.mic.say("stop")
        await client.next("input_audio_buffer.speech_started", after=at)
        cleared = await client.next("output_audio_buffer.cleared", after=at)
        assert cleared["response_id"] == started["response_id"]
        truncated = await client.next("conversation.item.truncated", after=at)
        full_ms = tones.duration_ms(text)
        assert 800 <= truncated["audio_end_ms"] < full_ms
        assert client.events.index(cleared) < client.events.index(truncated)
        assert not client.of("output_audio_buffer.stopped")[at:] or all(
            e["response_id"] != started["response_id"]
            for e in client.events[at:]
            if e["type"] == "output_audio_buffer.stopped"
        )
        # the item now holds what was played
        item_id = truncated["item_id"]
        mark = len(client.events)
        client.send({"type": "conversation.item.retrieve", "item_id": item_id})
        item = (await client.next("conversation.item.retrieved", after=mark))["item"]
        heard_words = item["content"][0]["transcript"]
        assert heard_words == tones.played_words(text, truncated["audio_end_ms"])
        assert heard_words and len(heard_words) < len(text)
        await emu.hangup(client.call_id)


async def test_late_generation_is_played_late_not_with_gaps(make_emulator: MakeEmulator) -> None:
    # An engine slower than real time (as on a starved machine): the track waits for the
    # audio rather than playing silence into the middle of the reply.
    text = "late but whole"
    async with make_emulator(api_keys=[KEY], speed=0.6) as emu, call(emu) as client:
        at = len(client.events)
        client.audio.clear()
        client.send(
            {
                "type": "response.create",
                "response": {"instructions": SAY_INSTRUCTIONS.format(text=text)},
            }
        )
        assert await played(client, at) == text
        assert not emu.calls[client.call_id].buffer.starved()


async def test_output_audio_buffer_clear_from_the_client(make_emulator: MakeEmulator) -> None:
    # (Long: on a busy machine the clear may take seconds to come through.)
    text = (
        "a reply that the client cuts off with a clear, long before its end, even on a "
        "machine so busy that the clear takes seconds to arrive"
    )
    async with make_emulator(api_keys=[KEY]) as emu, call(emu) as client:
        client.send(
            {
                "type": "response.create",
                "response": {"instructions": SAY_INSTRUCTIONS.format(text=text)},
            }
        )
        started = await client.next("output_audio_buffer.started")
        await client.wait_frames(25)  # half a second of the reply has been played
        at = len(client.events)
        client.send({"type": "output_audio_buffer.clear", "event_id": "evt_clear"})
        cleared = await client.next("output_audio_buffer.cleared", after=at)
        assert cleared["response_id"] == started["response_id"]
        truncated = await client.next("conversation.item.truncated", after=at)
        assert 300 <= truncated["audio_end_ms"] < tones.duration_ms(text)
        await asyncio.sleep(0.3)
        assert not client.of("error")
        assert emu.calls[client.call_id].buffer.playing is None


# ------------------------------------------------------------------------------- sideband


async def sideband_events(ws: ClientConnection, into: list[dict[str, Any]]) -> None:
    with contextlib.suppress(Exception):
        async for message in ws:
            event = json.loads(message)
            validate_server_event(event)
            into.append(event)


async def test_sideband_attaches_and_speaks_into_the_call(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu, call(emu) as client:
        url = f"{emu.ws_base_url}/realtime?call_id={client.call_id}"
        headers = {"Authorization": f"Bearer {KEY}"}
        async with ws_connect(url, additional_headers=headers) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
            assert first["type"] == "session.created"
            validate_server_event(first)
            seen: list[dict[str, Any]] = []
            reader = asyncio.create_task(sideband_events(ws, seen))
            at = len(client.events)
            client.audio.clear()
            text = "spoken from the server"
            await ws.send(
                json.dumps(
                    {
                        "type": "response.create",
                        "response": {"instructions": SAY_INSTRUCTIONS.format(text=text)},
                    }
                )
            )
            done = await client.next("response.done", after=at)
            assert await played(client, at) == text
            # both sides got the same events, in the same order
            ids = [e["event_id"] for e in client.events[at:]]
            assert [e["event_id"] for e in seen][: len(ids)] == ids
            assert done["event_id"] in {e["event_id"] for e in seen}
            record = emu.calls[client.call_id].session
            assert any(e["type"] == "response.create" for e in record.client_events)
            reader.cancel()
        # detaching the sideband leaves the call up
        assert not emu.calls[client.call_id].session.closed


async def test_sideband_to_an_unknown_call_is_refused(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        url = f"{emu.ws_base_url}/realtime?call_id=rtc_nosuchcall"
        with pytest.raises(InvalidStatus) as info:
            async with ws_connect(url, additional_headers={"Authorization": f"Bearer {KEY}"}):
                pass
        assert info.value.response.status_code == 404
        body = json.loads(info.value.response.body or b"{}")
        assert body["error"]["code"] == "call_not_found"
        with pytest.raises(InvalidStatus) as info:
            async with ws_connect(url):
                pass
        assert info.value.response.status_code == 401


# -------------------------------------------------------------------------------- hang-up


async def test_hangup_closes_the_call(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu, call(emu) as client:
        url = f"{emu.base_url}/realtime/calls/{client.call_id}/hangup"
        sideband = await ws_connect(
            f"{emu.ws_base_url}/realtime?call_id={client.call_id}",
            additional_headers={"Authorization": f"Bearer {KEY}"},
        )
        async with httpx.AsyncClient(timeout=WAIT) as http:
            assert (await http.post(url)).status_code == 401
            missing = await http.post(
                f"{emu.base_url}/realtime/calls/rtc_unknown/hangup", headers=offer_headers()
            )
            assert missing.status_code == 404
            assert missing.json()["error"]["code"] == "call_not_found"
            response = await http.post(url, headers=offer_headers())
            assert response.status_code == 200
            assert response.content == b""
            live = emu.calls[client.call_id]
            assert live.session.closed
            await asyncio.wait_for(client.channel_closed.wait(), 5)
            assert live.pc.connectionState == "closed"
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(5):
                    while True:
                        await sideband.recv()
            assert (await http.post(url, headers=offer_headers())).status_code == 404
        await sideband.close()


async def test_peer_closing_ends_the_call(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu:
        async with call(emu) as client:
            live = emu.calls[client.call_id]
        await asyncio.wait_for(live.closed.wait(), 5)
        assert live.session.closed


async def test_shutdown_with_live_calls_is_fast(make_emulator: MakeEmulator) -> None:
    async with make_emulator(api_keys=[KEY]) as emu, call(emu) as client:
        client.send({"type": "response.create", "response": {"instructions": "x"}})
        await client.next("response.created")
        started = time.monotonic()
        await emu.stop()
        assert time.monotonic() - started < 1.0
        assert all(s.closed for s in emu.sessions)
        assert all(c.closed.is_set() for c in emu.calls.values())


async def test_loopback_only_machine(
    make_emulator: MakeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no interface but loopback (aioice finds no host address), calls still connect."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: [])
    async with make_emulator(api_keys=[KEY]) as emu, call(emu) as client:
        assert client.response is not None
        candidates = re.findall(r"a=candidate:.*", client.response.text)
        assert candidates
        assert all(" 127.0.0.1 " in c for c in candidates)
        text = "over loopback"
        client.send(
            {
                "type": "response.create",
                "response": {"instructions": SAY_INSTRUCTIONS.format(text=text)},
            }
        )
        assert await played(client, 0) == text
