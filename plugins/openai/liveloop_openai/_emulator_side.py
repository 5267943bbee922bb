"""The OpenAI side of the sessions on the bundled emulator, read from its records of the
wire events (client events received, server events sent)."""

from __future__ import annotations

import asyncio
from typing import Any

from liveloop.testing.emulator import EmulatorThread
from liveloop.testing.target import ProviderSide, Truncation

__all__ = ["EmulatorSide"]


class EmulatorSide(ProviderSide):
    """Observes and drives the OpenAI Realtime sessions of a running emulator."""

    def __init__(self, emulator: EmulatorThread) -> None:
        self._emulator = emulator

    def _latest(self) -> Any:
        sessions = self._emulator.sessions
        return sessions[-1] if sessions else None

    def _received(self, event_type: str) -> list[dict[str, Any]]:
        latest = self._latest()
        if latest is None:
            return []
        return [e for e in list(latest.client_events) if e.get("type") == event_type]

    def _sent(self, event_type: str) -> list[dict[str, Any]]:
        latest = self._latest()
        return [] if latest is None else list(latest.events_of(event_type))

    def session_id(self) -> str | None:
        latest = self._latest()
        return None if latest is None else str(latest.id)

    def call_id(self) -> str | None:
        latest = self._latest()
        return None if latest is None else latest.call_id

    def closed(self) -> bool:
        latest = self._latest()
        if latest is None:
            return False
        if latest.closed:
            return True
        call = self._emulator.emulator.calls.get(latest.call_id) if latest.call_id else None
        # A headless call (no peer) lives on after its sideband: the sideband is the
        # session under test there.
        return call is not None and call.pc is None and not call.sidebands

    def truncations(self) -> list[Truncation]:
        asked = {e["item_id"]: e for e in self._received("conversation.item.truncate")}
        found = [
            Truncation(str(e["item_id"]), int(e["audio_end_ms"]), "client") for e in asked.values()
        ]
        # What the server truncated without being asked (WebRTC: to what was played).
        found += [
            Truncation(str(e["item_id"]), int(e["audio_end_ms"]), "provider")
            for e in self._sent("conversation.item.truncated")
            if e["item_id"] not in asked
        ]
        return found

    def _tool_output_positions(self) -> tuple[list[dict[str, Any]], list[int]]:
        latest = self._latest()
        events = [] if latest is None else list(latest.client_events)
        positions = [
            index
            for index, e in enumerate(events)
            if e.get("type") == "conversation.item.create"
            and (e.get("item") or {}).get("type") == "function_call_output"
        ]
        return events, positions

    def tool_outputs(self) -> int:
        return len(self._tool_output_positions()[1])

    def responses_after_tool_output(self) -> int:
        events, positions = self._tool_output_positions()
        if not positions:
            return 0
        return sum(e.get("type") == "response.create" for e in events[positions[0] :])

    def responses_requested(self) -> int:
        return len(self._received("response.create"))

    def completed_responses(self) -> list[str]:
        return [
            str(e["response"]["id"])
            for e in self._sent("response.done")
            if e["response"]["status"] == "completed"
        ]

    def played_responses(self) -> list[str]:
        return [str(e["response_id"]) for e in self._sent("output_audio_buffer.started")]

    async def open_call(self) -> str:
        running = self._emulator.emulator
        call_id: str = await asyncio.to_thread(
            self._emulator.call, lambda: running.open_headless_call()
        )
        return call_id

    async def hang_up(self, call_id: str) -> None:
        try:
            running = self._emulator.emulator
        except RuntimeError:
            return  # the emulator was stopped: the call ended with it
        await asyncio.to_thread(self._emulator.call, lambda: running.hangup(call_id))

    async def speak_into_call(self, call_id: str, pcm: bytes) -> None:
        running = self._emulator.emulator
        await asyncio.to_thread(self._emulator.call, lambda: running.speak_into_call(call_id, pcm))
