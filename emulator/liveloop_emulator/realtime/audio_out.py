"""The WebSocket's output audio: each chunk of speech a ``response.output_audio.delta``."""

from __future__ import annotations

import base64
import functools
from collections.abc import Awaitable
from typing import Any, Protocol

from .. import audio
from ..engine import AudioTarget, ClearedAudio
from .render import new_event_id

__all__ = ["EventAudioOutput"]


class _Front(Protocol):
    session: dict[str, Any]

    def send_event(self, event: dict[str, Any]) -> Awaitable[None]: ...


@functools.lru_cache(maxsize=1024)
def _delta(pcm: bytes, kind: str) -> str:
    """A chunk as a delta carries it: base64 of the chunk in the output format. Tone speech
    repeats (the engine keeps each reply's chunks), so most chunks are encoded once; the
    bytes' hash is computed once per chunk object and kept by it."""
    return base64.b64encode(audio.to_format(pcm, {"type": kind})).decode("ascii")


class EventAudioOutput:
    """The WebSocket behaviour: audio goes out as ``response.output_audio.delta`` events in
    the session's output format."""

    paced = False

    def __init__(self, front: _Front) -> None:
        self._front = front

    async def write(self, pcm: bytes, target: AudioTarget) -> None:
        front = self._front
        kind = audio.format_type(front.session["audio"]["output"]["format"])
        # Built whole, in the order the other events have: every chunk is one of these.
        await front.send_event(
            {
                "type": "response.output_audio.delta",
                "event_id": new_event_id(),
                "response_id": target.response_id,
                "item_id": target.item_id,
                "output_index": target.output_index,
                "content_index": target.content_index,
                "delta": _delta(pcm, kind),
            }
        )

    async def end(self, target: AudioTarget) -> None:
        return None

    async def clear(self) -> ClearedAudio | None:
        return None
