"""Responses: what a front end asks for, the running response, and its token usage."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .conversation import Conversation, count_tokens

__all__ = ["Response", "ResponseRequest", "Usage", "usage_of"]


@dataclass(frozen=True)
class ResponseRequest:
    """What a front end asks of a response.

    ``conversation`` False makes an out-of-band response (its items stay out of the
    conversation, and it may run beside a conversation response). ``modalities``,
    ``allow_tools``: None takes the session's settings. ``instructions`` are per-response
    instructions (the say form is voiced verbatim). ``context``: the items the response sees
    (None: the whole conversation). ``tag`` is the front end's own data (formats, voice,
    metadata...), carried on the :class:`Response` untouched.
    """

    conversation: bool = True
    modalities: tuple[str, ...] | None = None
    instructions: str | None = None
    allow_tools: bool | None = None
    context: list[dict[str, Any]] | None = None
    tag: Any = None


@dataclass(frozen=True, slots=True)
class Usage:
    """A response's token usage, as the emulator bills it (deterministic estimates)."""

    input_text_tokens: int
    input_audio_tokens: int
    cached_tokens: int
    output_text_tokens: int
    output_audio_tokens: int

    @property
    def input_tokens(self) -> int:
        return self.input_text_tokens + self.input_audio_tokens

    @property
    def output_tokens(self) -> int:
        return self.output_text_tokens + self.output_audio_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(eq=False)
class Response:
    """One response as it runs.

    ``status`` is ``in_progress``, then ``completed`` or ``cancelled``; ``cancel_reason``
    is ``client_cancelled`` (a request, or the session closing) or ``turn_detected`` (the
    user spoke over it). ``output`` holds a copy of each finished output item.
    """

    id: str
    conversation: bool
    modalities: tuple[str, ...]
    instructions: str | None
    allow_tools: bool
    context: list[dict[str, Any]]
    tag: Any = None
    output: list[dict[str, Any]] = field(default_factory=list)
    status: str = "in_progress"
    cancel_reason: str | None = None
    usage: Usage | None = None
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    waiter: asyncio.Future[None] | None = field(default=None, repr=False)
    """What the response's task is waiting on between two pieces (resolved by a cancel)."""
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def cancelled(self) -> bool:
        return self.cancel_reason is not None


def usage_of(response: Response, conversation: Conversation, session_instructions: str) -> Usage:
    """Bill ``response``: its context (text and audio) and instructions in, its output out."""
    text_in = 0
    audio_in = 0
    for item in response.context:
        for part in item.get("content") or []:
            if isinstance(part, dict):
                text_in += count_tokens(str(part.get("text") or part.get("transcript") or ""))
        if item.get("type") in ("function_call", "function_call_output"):
            text_in += count_tokens(str(item.get("arguments") or item.get("output") or ""))
        pcm = conversation.audio.get(str(item.get("id")))
        if pcm:
            audio_in += max(1, len(pcm) // 48 // 100)
    text_in += count_tokens(response.instructions or session_instructions)
    return Usage(
        input_text_tokens=text_in,
        input_audio_tokens=audio_in,
        cached_tokens=(text_in // 2) // 64 * 64,
        output_text_tokens=response.output_text_tokens,
        output_audio_tokens=response.output_audio_tokens,
    )
