"""One bridged call: a Twilio Media Stream on one side, a provider session on the other.

Caller audio (µ-law frames) goes to the session in 100 ms appends while it is steady
(transcoded only for a provider that does not take µ-law): an append per 20 ms frame costs
five times the messages. Where the provider's turn detection decides something, it goes
frame by frame instead: from the first quiet frame after speech for two seconds (so the
end-of-speech silence completes at the provider when it does at the caller, not up to
80 ms later) and for the first 200 ms of speech (so barge-in starts as soon).

Assistant audio goes back to Twilio in whole 20 ms frames, each followed by a mark; the
marks Twilio echoes tell the session what the caller heard (``session.played``), so
barge-in truncates each item to what was heard and ``say()`` completes when its audio was
heard. When the session cuts the assistant off (the caller's speech, ``interrupt()``, a
key press while it talks) the bridge clears Twilio's buffer, even when the provider had
long finished generating, and starts a new mark generation.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

import liveloop
from liveloop import get_logger
from liveloop.events import AssistantAudio, Dtmf, Interrupted, ResponseDone

from .audio import Transcoder, is_loud
from .ledger import Frame, PlaybackLedger

__all__ = ["MAX_MESSAGE_BYTES", "Bridge"]

MAX_MESSAGE_BYTES = 64 * 1024
"""Largest message accepted from Twilio (a 20 ms media message is about 400 bytes)."""
_EARLY_FRAMES = 250  # caller audio kept while the session opens (5 s)
_APPEND_FRAMES = 5  # caller frames per append to the provider while steady (100 ms)
_LIVE_QUIET_FRAMES = 100  # quiet frames after speech appended one by one (2 s)
_LIVE_LOUD_FRAMES = 10  # frames of new speech appended one by one (200 ms)

_log = get_logger("liveloop.twilio")


class Bridge:
    """Carries one call between ``websocket`` (already past ``start``) and a session."""

    def __init__(self, websocket: WebSocket, stream_sid: str, transcoder: Transcoder) -> None:
        self.websocket = websocket
        self.stream_sid = stream_sid
        self.transcoder = transcoder
        self.ledger = PlaybackLedger()
        self.session: liveloop.Session | None = None
        self.ended_by: str | None = None
        """Why the stream ended: ``"stop"``, ``"closed"`` or ``None`` (still open)."""
        self._early: list[bytes] = []
        self._upstream: list[bytes] = []  # caller audio not yet appended to the session
        self._loud = False  # the caller's last frame may be speech
        self._run = _LIVE_QUIET_FRAMES  # frames since it changed (the call starts steady)
        self._reported: tuple[str, int] = ("", 0)  # the newest session.played() report
        self._send_lock = asyncio.Lock()
        # Outgoing messages are built from fixed pieces: json.dumps per 20 ms frame (two
        # messages each) was a large share of the bridge's CPU.
        sid = json.dumps(stream_sid)
        self._media_head = f'{{"event":"media","streamSid":{sid},"media":{{"payload":"'
        self._mark_head = f'{{"event":"mark","streamSid":{sid},"mark":{{"name":'

    # -- Twilio -> session ------------------------------------------------------------------

    async def read_stream(self) -> None:
        """Read Twilio's messages until ``stop`` or the socket closes."""
        # The ASGI messages themselves (not receive_text): this loop runs 100 times a
        # second per call (media and mark echoes), so each layer it skips counts.
        receive = self.websocket.receive
        try:
            while True:
                message = await receive()
                text = message.get("text")
                if text is None:
                    if message["type"] == "websocket.disconnect":
                        self.ended_by = "closed"
                        return
                    _log.warning("ignoring a binary message from Twilio (it sends JSON text)")
                    continue
                if len(text) > MAX_MESSAGE_BYTES:
                    _log.warning("message from Twilio too large; ending the stream")
                    self.ended_by = "closed"
                    return
                if await self._on_message(text):
                    self.ended_by = "stop"
                    await self._flush_upstream()
                    return
        except (WebSocketDisconnect, RuntimeError):
            self.ended_by = "closed"

    async def _on_message(self, text: str) -> bool:
        try:
            message = orjson.loads(text)
            kind = message["event"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            _log.warning("ignoring a message from Twilio that is not a JSON object with an event")
            return False
        if kind == "media":
            # Read here, not by a model: 50 a second per call. Anything but a JSON object
            # with a base64 string payload is refused (logged) and dropped.
            try:
                payload = binascii.a2b_base64(message["media"]["payload"], strict_mode=True)
            except (KeyError, TypeError, ValueError):
                _log.warning("ignoring a media message without a base64 payload")
                return False
            await self._on_media(payload)
        elif kind == "mark":
            self._on_mark(message)
        elif kind == "dtmf":
            await self._flush_upstream()  # the key follows the audio before it
            await self._on_dtmf(message)
        elif kind == "stop":
            return True
        return False

    async def _on_media(self, payload: bytes) -> None:
        audio = self.transcoder.to_provider(payload)
        if self.session is None:
            if len(self._early) < _EARLY_FRAMES:
                self._early.append(audio)
            return
        self._upstream.append(audio)
        loud = is_loud(payload)
        if loud != self._loud:
            self._loud, self._run = loud, 0
        self._run += 1
        live = self._run <= (_LIVE_LOUD_FRAMES if loud else _LIVE_QUIET_FRAMES)
        if live or len(self._upstream) >= _APPEND_FRAMES:
            await self._flush_upstream()

    async def _flush_upstream(self) -> None:
        session = self.session
        if session is None or not self._upstream:
            return
        audio = b"".join(self._upstream)
        self._upstream.clear()
        with contextlib.suppress(liveloop.SessionClosed):
            await session.send_audio(audio)

    def _on_mark(self, message: dict[str, Any]) -> None:
        mark = message.get("mark")
        name = mark.get("name") if isinstance(mark, dict) else None
        heard = self.ledger.ack(name) if isinstance(name, str) else None
        if heard is not None:
            self._report(*heard)

    def _report(self, item_id: str, ms: int) -> None:
        # Only news: a new item, or more of the same one (reports never go backwards).
        if self.session is not None and (item_id != self._reported[0] or ms > self._reported[1]):
            self._reported = (item_id, ms)
            self.session.played(ms, item_id)

    async def _on_dtmf(self, message: dict[str, Any]) -> None:
        dtmf = message.get("dtmf")
        digit = dtmf.get("digit") if isinstance(dtmf, dict) else None
        session = self.session
        if session is None or session.closed:
            return
        try:
            event = Dtmf(digit=digit, raw=message)
        except ValueError:
            _log.warning("ignoring a dtmf message without a key")
            return
        if self.ledger.pending:
            # A key pressed while the assistant talks cuts it off, as the caller's voice does.
            with contextlib.suppress(liveloop.SessionClosed):
                await session.interrupt()
        session.inject(event)

    # -- session -> Twilio ------------------------------------------------------------------

    async def start(self, session: liveloop.Session) -> None:
        """Attach the session: it learns playback from marks; early caller audio goes in."""
        session.played(0)  # this bridge reports what the caller heard
        self.session = session
        early, self._early = self._early, []
        if early:
            await session.send_audio(b"".join(early))

    async def pump(self, events: Callable[[], Any]) -> None:
        """Forward the session's audio to Twilio and act on its interruptions."""
        async for event in events():
            if isinstance(event, AssistantAudio):
                if self.ledger.is_cleared(event.item_id):
                    continue  # late audio of a response the caller cut off
                ulaw = self.transcoder.to_call(event.audio)
                await self._send_frames(self.ledger.audio(event.item_id, event.response_id, ulaw))
            elif isinstance(event, ResponseDone):
                await self._send_frames(self.ledger.finish(event.response_id))
            elif isinstance(event, Interrupted) and event.item_id is not None:
                self.ledger.clear({event.item_id})
                await self._send({"event": "clear", "streamSid": self.stream_sid})

    async def _send_frames(self, frames: list[Frame]) -> None:
        if not frames:
            return
        send = self.websocket.send
        b64 = binascii.b2a_base64
        async with self._send_lock:
            for frame in frames:
                payload = b64(frame.audio, newline=False).decode("ascii")
                # Mark names are the ledger's own "g<n>.<n>": nothing in them to escape.
                try:
                    await send(
                        {"type": "websocket.send", "text": f'{self._media_head}{payload}"}}}}'}
                    )
                    await send(
                        {"type": "websocket.send", "text": f'{self._mark_head}"{frame.mark}"}}}}'}
                    )
                except (WebSocketDisconnect, RuntimeError):
                    return

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def close(self, code: int = 1000) -> None:
        """Close the stream (Twilio then ends the call's stream)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.close(code), 1.0)


async def run_until_first(*waits: Awaitable[Any]) -> set[asyncio.Task[Any]]:
    """Run ``waits`` until the first finishes; cancel and await the others. Returns the done."""
    tasks = {asyncio.ensure_future(w) for w in waits}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.wait(tasks, timeout=1.0)
    return done
