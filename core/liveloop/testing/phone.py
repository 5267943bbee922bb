"""A simulated phone caller on Twilio Media Streams, for testing a bridge end to end.

:class:`TwilioCaller` does what Twilio does when a number's call arrives: it posts the
signed voice webhook, follows the ``<Connect><Stream>`` TwiML, opens the stream's WebSocket
with an ``X-Twilio-Signature`` (valid, wrong or missing), sends ``connected`` and ``start``,
then streams the caller's µ-law audio in 20 ms frames at real-time pace (tone speech when
told to speak, silence otherwise). What the server sends back is played at real-time pace:
a mark is echoed only once the audio queued before it has played, and ``clear`` drops the
unplayed audio and returns every pending mark. The caller records what it heard and when
(on its own clock), presses DTMF keys, and hangs up with ``stop``.

Needs ``liveloop-twilio`` (the ``twilio`` package signs the requests) and the bundled
emulator (tone speech)::

    async with TwilioCaller(f"{base}/phone/twilio/concierge", auth_token=token) as caller:
        await caller.speak("hello there")
        await caller.wait_heard("you said: hello there")
        await caller.hang_up()
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from typing import Any, Literal

from ._emulator import tones_module
from ._stream import FRAME_BYTES, FRAME_MS, RATE, CallRefused, Heard, Playout, follow_twiml, sid

__all__ = ["CallRefused", "Heard", "TwilioCaller"]

_TICK_S = 0.005
_MISSING = "the simulated phone caller needs liveloop-twilio: pip install liveloop-twilio"

Signature = Literal["valid", "wrong", "none"]


class TwilioCaller:
    """One simulated call to ``webhook_url`` (a number's voice webhook).

    ``auth_token`` signs the webhook and the stream upgrade (``signature="wrong"`` signs
    with another token, ``"none"`` sends no signature; ``stream_signature`` does the same
    for the upgrade alone). ``parameters`` replaces the TwiML's stream ``<Parameter>``s in
    ``start`` (to test a missing or reused per-call token).
    """

    def __init__(
        self,
        webhook_url: str,
        *,
        auth_token: str,
        from_: str = "+15550001111",
        to: str = "+15550002222",
        signature: Signature = "valid",
        stream_signature: Signature | None = None,
        parameters: dict[str, str] | None = None,
    ) -> None:
        try:
            import httpx
            import websockets
            from twilio.request_validator import RequestValidator
        except ImportError as exc:
            raise ImportError(_MISSING) from exc
        from . import _g711

        self._httpx, self._websockets, self._g711 = httpx, websockets, _g711
        self._validator = RequestValidator(auth_token)
        self._wrong = RequestValidator(auth_token + "-wrong")
        self._tones = tones_module()
        self.webhook_url = webhook_url
        self.from_, self.to = from_, to
        self.signature = signature
        self.stream_signature = stream_signature or signature
        self.parameters_override = parameters
        self.account_sid, self.call_sid, self.stream_sid = sid("AC"), sid("CA"), sid("MZ")

        self.twiml = ""
        """The TwiML the webhook answered."""
        self.stream_url: str | None = None
        self.parameters: dict[str, str] = {}
        """The stream ``<Parameter>``s of the TwiML."""
        self.heard: list[Heard] = []
        """Everything played to the caller, in order."""
        self.received: list[dict[str, Any]] = []
        """Every message the server sent, in order."""
        self.received_at: list[float] = []
        """When each of ``received`` arrived (seconds after the stream started)."""
        self.violations: list[str] = []
        """Messages Twilio would refuse (error 31924), described."""
        self.sent_at: list[float] = []
        """When each caller ``media`` frame went out (caller clock): chunk ``i + 1`` at
        ``sent_at[i]``."""
        self.media_sizes: list[int] = []
        """Bytes of audio in each ``media`` message the server sent."""
        self.clears: list[float] = []
        """When each ``clear`` arrived (seconds after the stream started)."""
        self.echoed: list[str] = []
        """Mark names echoed back, in order."""
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        """Set when the stream's WebSocket closed (by either side)."""

        self._ws: Any = None
        self._send_lock = asyncio.Lock()
        self._sequence = 0
        self._outgoing = bytearray()
        self._spoken = asyncio.Event()
        self._playout = Playout()
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = 0.0
        self._loop = asyncio.get_running_loop()

    # -- placing the call -------------------------------------------------------------------

    def _sign(self, how: Signature, url: str, params: dict[str, str]) -> dict[str, str]:
        if how == "none":
            return {}
        validator = self._validator if how == "valid" else self._wrong
        return {"X-Twilio-Signature": validator.compute_signature(url, params)}

    async def ring(self) -> str:
        """Post the voice webhook; returns the TwiML (raises :class:`CallRefused` on non-2xx)."""
        params = {
            "AccountSid": self.account_sid,
            "CallSid": self.call_sid,
            "From": self.from_,
            "To": self.to,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        headers = self._sign(self.signature, self.webhook_url, params)
        async with self._httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(self.webhook_url, data=params, headers=headers)
        if not response.is_success:
            raise CallRefused("webhook", response.status_code, response.text)
        self.twiml = response.text
        self._follow(response.text)
        return self.twiml

    def _follow(self, twiml: str) -> None:
        self.stream_url, self.parameters = follow_twiml(twiml)

    async def connect(self) -> None:
        """Open the stream's WebSocket and send ``connected`` and ``start``."""
        if self.stream_url is None:
            raise AssertionError(f"the TwiML connects no stream: {self.twiml}")
        headers = self._sign(self.stream_signature, self.stream_url, {})
        try:
            self._ws = await self._websockets.connect(
                self.stream_url, additional_headers=headers, open_timeout=10
            )
        except self._websockets.InvalidStatus as exc:
            raise CallRefused("stream upgrade", exc.response.status_code) from None
        self._started = self._loop.time()
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        params = self.parameters if self.parameters_override is None else self.parameters_override
        start = {
            "streamSid": self.stream_sid,
            "accountSid": self.account_sid,
            "callSid": self.call_sid,
            "tracks": ["inbound"],
            "customParameters": params,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1},
        }
        await self._send({"event": "start", "streamSid": self.stream_sid, "start": start})
        self._tasks = [
            asyncio.create_task(self._microphone(), name="twilio-caller-mic"),
            asyncio.create_task(self._receive(), name="twilio-caller-receive"),
            asyncio.create_task(self._play(), name="twilio-caller-play"),
        ]

    async def __aenter__(self) -> TwilioCaller:
        await self.ring()
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- what the caller does ---------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the stream started, on the caller's clock."""
        return self._loop.time() - self._started

    async def speak(self, text: str, *, silence_ms: int = 1000, wait: bool = True) -> None:
        """Say ``text`` as tone speech (then ``silence_ms`` of silence), at real-time pace.

        Returns once the speech is sent (with ``wait=False``: at once, while it streams).
        """
        pcm = self._tones.encode(text, RATE)
        self._outgoing += self._g711.pcm16_to_ulaw(pcm)
        self._outgoing += bytes([self._g711.SILENCE]) * (RATE // 1000 * silence_ms)
        self._spoken.clear()
        if wait:
            await self._spoken.wait()

    async def press(self, digits: str) -> None:
        """Press DTMF keys (one ``dtmf`` message per digit, 100 ms apart)."""
        for digit in digits:
            dtmf = {"track": "inbound_track", "digit": digit}
            await self._send({"event": "dtmf", "streamSid": self.stream_sid, "dtmf": dtmf})
            await asyncio.sleep(0.1)

    async def hang_up(self) -> None:
        """Send ``stop`` and close the stream (the caller hung up)."""
        with contextlib.suppress(Exception):
            stop = {"accountSid": self.account_sid, "callSid": self.call_sid}
            await self._send({"event": "stop", "streamSid": self.stream_sid, "stop": stop})
        await self.close()

    async def close(self, code: int = 1000) -> None:
        """Close the WebSocket without ``stop`` (an abrupt end) and stop every task."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(code), 1.0)
        self.closed.set()

    # -- what the caller heard --------------------------------------------------------------

    @property
    def played_ms(self) -> float:
        """Milliseconds of the server's audio played to the caller so far."""
        return sum(len(h.audio) for h in self.heard) / (RATE / 1000)

    def heard_audio(self, since: float = 0.0) -> bytes:
        """The µ-law the caller heard from ``since`` seconds after the stream started."""
        return b"".join(h.audio for h in self.heard if h.at >= since)

    def heard_text(self, since: float = 0.0) -> str:
        """The tone speech the caller heard (from ``since``), decoded."""
        pcm = self._g711.ulaw_to_pcm16(self.heard_audio(since))
        text: str = self._tones.decode(pcm, RATE)
        return text

    async def wait_heard(self, text: str, timeout: float = 15.0, since: float = 0.0) -> str:
        """Wait until ``text`` (sanitized) was heard; returns everything heard since ``since``."""
        want = self._tones.sanitize(text)
        heard = ""

        async def wait() -> None:
            nonlocal heard
            while True:
                self._changed.clear()
                heard = self.heard_text(since)
                if want in heard:
                    return
                if self.closed.is_set():
                    raise AssertionError(f"the call ended; heard only {heard!r}")
                await asyncio.sleep(0.1)
                await self._changed.wait()

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out waiting to hear {want!r}; heard {heard!r}") from None
        return heard

    async def wait_played(self, ms: float, timeout: float = 15.0) -> float:
        """Wait until ``ms`` of the server's audio have played to the caller; returns how
        much had played (on the caller's clock)."""

        async def wait() -> float:
            while self.played_ms < ms:
                if self.closed.is_set():
                    raise AssertionError(f"the call ended after {self.played_ms} ms played")
                self._changed.clear()
                await self._changed.wait()
            return self.played_ms

        return await asyncio.wait_for(wait(), timeout)

    async def wait_for(
        self, event: str, timeout: float = 10.0, *, after: int | None = None
    ) -> dict[str, Any]:
        """Wait for a server message of kind ``event`` (``media``/``mark``/``clear``): the
        next one, or the first after ``received[after]`` when ``after`` is given."""
        seen = len(self.received) if after is None else after

        async def wait() -> dict[str, Any]:
            nonlocal seen
            while True:
                for message in self.received[seen:]:
                    if message.get("event") == event:
                        return message
                seen = len(self.received)
                if self.closed.is_set():
                    raise AssertionError(f"the call ended before a {event!r} message")
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    # -- the three loops --------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            if message["event"] != "connected":
                self._sequence += 1
                message["sequenceNumber"] = str(self._sequence)
            await self._ws.send(json.dumps(message))

    async def _microphone(self) -> None:
        # One 20 ms frame per 20 ms of clock, on deadlines so the pace never drifts.
        chunk = 0
        next_at = self._loop.time()
        while True:
            frame = bytes(self._outgoing[:FRAME_BYTES])
            del self._outgoing[:FRAME_BYTES]
            if not self._outgoing:
                self._spoken.set()
            frame += bytes([self._g711.SILENCE]) * (FRAME_BYTES - len(frame))
            chunk += 1
            media = {
                "track": "inbound",
                "chunk": str(chunk),
                "timestamp": str((chunk - 1) * FRAME_MS),
                "payload": base64.b64encode(frame).decode(),
            }
            try:
                await self._send({"event": "media", "streamSid": self.stream_sid, "media": media})
            except self._websockets.ConnectionClosed:
                return
            self.sent_at.append(self.now())
            next_at += FRAME_MS / 1000
            await asyncio.sleep(max(0.0, next_at - self._loop.time()))

    async def _receive(self) -> None:
        try:
            async for text in self._ws:
                self._on_message(text)
        except self._websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self._ws.close_code
            self.closed.set()
            self._changed.set()

    def _on_message(self, text: str | bytes) -> None:
        try:
            message = json.loads(text)
            kind = message["event"]
        except (ValueError, KeyError, TypeError):
            self.violations.append(f"not a JSON message with an event: {text[:80]!r}")
            return
        self.received.append(message)
        self.received_at.append(self.now())
        self._changed.set()
        if message.get("streamSid") != self.stream_sid:
            self.violations.append(f"{kind} with streamSid {message.get('streamSid')!r}")
        if kind == "media":
            try:
                audio = base64.b64decode(message["media"]["payload"], validate=True)
            except (KeyError, TypeError, binascii.Error):
                self.violations.append("media without a base64 payload")
                return
            if not audio or audio.startswith(b"RIFF"):
                self.violations.append("media payload empty or a file with a header")
                return
            self.media_sizes.append(len(audio))
            self._playout.queue.append(audio)
        elif kind == "mark":
            name = message.get("mark", {}).get("name")
            if not isinstance(name, str):
                self.violations.append("mark without a string name")
                return
            self._playout.queue.append(name)
            self._drain_marks()
        elif kind == "clear":
            self.clears.append(self.now())
            pending = self._playout.pending_marks()
            self._playout.queue.clear()
            for name in pending:
                self._echo(name)
        else:
            self.violations.append(f"unknown event {kind!r}")

    def _drain_marks(self) -> None:
        # Marks at the head of the queue have nothing unplayed before them.
        queue = self._playout.queue
        while queue and isinstance(queue[0], str):
            self._echo(str(queue.popleft()))

    def _echo(self, name: str) -> None:
        self.echoed.append(name)
        message = {"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}}
        task = asyncio.create_task(self._send_quietly(message))
        self._tasks.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _send_quietly(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            await self._send(message)

    async def _play(self) -> None:
        # Plays 8 bytes per ms of clock; an idle buffer does not bank time for later.
        last = self._loop.time()
        budget = 0.0
        while True:
            await asyncio.sleep(_TICK_S)
            now = self._loop.time()
            queue = self._playout.queue
            budget += (now - last) * RATE
            last = now
            if not self._playout.has_audio:
                budget = 0.0
            while queue and budget >= 1:
                head = queue[0]
                if isinstance(head, str):
                    self._echo(str(queue.popleft()))
                    continue
                take = min(len(head), int(budget))
                self.heard.append(Heard(now - self._started, head[:take]))
                budget -= take
                if take == len(head):
                    queue.popleft()
                else:
                    queue[0] = head[take:]
            self._drain_marks()
            self._changed.set()
