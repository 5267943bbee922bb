"""The Gemini side of the sessions on the bundled emulator, read from the records its
Gemini Live front end keeps per connection (client messages' kinds, finished responses,
audio sent per item)."""

from __future__ import annotations

from typing import Any

from liveloop.testing.emulator import EmulatorThread
from liveloop.testing.target import ProviderSide, Truncation

from .defaults import OUTPUT_RATE

__all__ = ["GeminiEmulatorSide"]

_BYTES_PER_MS = OUTPUT_RATE * 2 // 1000  # PCM16, mono


class GeminiEmulatorSide(ProviderSide):
    """Observes the Gemini Live sessions of a running emulator.

    Gemini names no items on the wire, so the truncations reported carry the emulator's
    own item ids (:attr:`names_items` is False): the kit matches them by count, not id.
    """

    names_items = False

    def __init__(self, emulator: EmulatorThread) -> None:
        self._emulator = emulator

    def _latest(self) -> Any:
        try:
            sessions = self._emulator.emulator.gemini.sessions
        except RuntimeError:  # the emulator was stopped
            return None
        return sessions[-1] if sessions else None

    def _received(self) -> list[tuple[str, bool]]:
        latest = self._latest()
        return [] if latest is None else list(latest.received)

    def session_id(self) -> str | None:
        latest = self._latest()
        return None if latest is None else str(latest.id)

    def call_id(self) -> str | None:
        return None  # Gemini Live has no calls

    def closed(self) -> bool:
        latest = self._latest()
        return latest is not None and bool(latest.closed)

    def truncations(self) -> list[Truncation]:
        # The server cuts an interrupted response to the audio it had sent.
        latest = self._latest()
        if latest is None:
            return []
        found = []
        for response in list(latest.responses):
            if response.status == "completed":
                continue
            for item in response.output:
                sent = latest.audio_sent.get(item.get("id"), 0)
                if sent:
                    found.append(Truncation(str(item["id"]), sent // _BYTES_PER_MS, "provider"))
        return found

    def tool_outputs(self) -> int:
        latest = self._latest()
        return 0 if latest is None else int(latest.tool_results)

    def responses_after_tool_output(self) -> int:
        # A toolResponse asks for the model's answer by itself, as do the later messages
        # that ask for a reply.
        received = self._received()
        kinds = [kind for kind, _ in received]
        if "ToolResponse" not in kinds:
            return 0
        return sum(asks for _, asks in received[kinds.index("ToolResponse") :])

    def responses_requested(self) -> int:
        return sum(asks for _, asks in self._received())

    def completed_responses(self) -> list[str]:
        latest = self._latest()
        if latest is None:
            return []
        return [str(r.id) for r in list(latest.responses) if r.status == "completed"]

    def played_responses(self) -> list[str]:
        return []  # every session's audio passes through this process
