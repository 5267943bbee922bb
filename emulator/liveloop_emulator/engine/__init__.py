"""The emulator's protocol-neutral engine: one session's deterministic "model".

The engine knows conversations, user audio, turn detection, responses, tone speech, the
reply policy (:mod:`liveloop_emulator.replies`) and real-time pacing; it knows no protocol.
A *front end* (``liveloop_emulator.openai`` for the OpenAI Realtime API) parses its
protocol's client messages, calls the engine, and renders the engine's events as its
protocol's server messages. A second front end reuses the engine the same way.

Making one: ``Engine(events, settings=Settings(...), script=rules, speed=1.0, chunk_ms=40,
output=sink)``. ``events`` is an async callback receiving every :data:`EngineEvent` (see
:mod:`.events`) in order; it runs inside the engine's calls and its response tasks, so it
should render and send, nothing more. ``output`` is where speech goes (:class:`OutputAudio`):
a sink that sends audio chunks as messages (``paced = False``: the engine paces them at real
time divided by ``speed``), or a playout buffer that a media track drains (its ``clear``
reports what was cut, and the engine truncates those items). It may be set later through
``engine.output``, before any response.

What a front end calls (requests it cannot carry out raise an :class:`EngineError`
subclass, leaving the session unchanged; the front end words them in its protocol):

- ``configure(settings)``: new :class:`Settings` (instructions, modalities, turn detection,
  input transcription, whether tools may be called).
- ``feed_audio(pcm)``: user audio, PCM16 24 kHz mono. With turn detection on this emits
  ``SpeechStarted`` (cancelling the running response and clearing the playout buffer when
  ``interrupt_response``), ``SpeechStopped``, ``InputCommitted`` and the user item, and
  starts a response when ``create_response``. ``commit_input()`` / ``clear_input()`` do it
  by hand (``BufferTooSmall`` under 100 ms).
- ``add_item(item, after=None, pcm=None)``, ``delete_item(id)``,
  ``truncate_item(id, content_index, audio_end_ms)``; ``conversation`` holds the items
  (``conversation.get(id)``, ``conversation.audio[id]``). ``hear(item, pcm)`` lets the model
  hear audio of an item given only as a response's context.
- ``create_response(ResponseRequest(...))`` starts a response in a task of its own
  (``ResponseActive`` while a conversation response runs); a response the engine starts
  itself (turn detection) carries ``tag`` None, which the front end may set when it sees its
  ``ResponseStarted``; ``cancel_response(id=None)``
  (``NoActiveResponse``); ``clear_output()`` (``NoPlayoutBuffer`` for message sinks).
- ``close()`` cancels what runs; nothing is emitted afterwards.

Items are plain dicts: ``{"id", "type": "message", "role": "user" | "assistant" |
"system", "status", "content": [parts]}`` with parts ``{"type": "input_text" |
"output_text", "text"}``, ``{"type": "input_audio" | "output_audio", "transcript"}`` or
``{"type": "input_image", ...}``; ``{"id", "type": "function_call", "status", "name",
"call_id", "arguments"}``; ``{"id", "type": "function_call_output", "status", "call_id",
"output"}``. A front end converts its protocol's items to and from this form.

Events, in the order a turn produces them: ``SpeechStarted``, ``SpeechStopped``,
``InputCommitted``, ``ItemAdded``/``ItemDone`` (a complete item), optionally
``TranscriptionDelta``... ``TranscriptionCompleted``; then ``ResponseStarted``,
``OutputItemAdded``, ``ItemAdded`` (conversation responses), ``PartAdded``,
``TextDelta``... ``TextDone`` or (audio chunks to the sink with) ``TranscriptDelta``...
``AudioDone``, ``TranscriptDone``, or ``ArgumentsDelta``... ``ArgumentsDone`` for a tool
call; ``PartDone``, ``OutputItemDone``, ``ItemDone``, and ``ResponseDone`` (status,
cancel reason, usage). ``ItemDeleted``, ``ItemTruncated``, ``InputCleared`` and
``OutputCleared`` answer requests or barge-in; ``PlayoutStarted``/``PlayoutStopped`` come
from playout-buffer sinks that report them.
"""

from __future__ import annotations

from . import events
from .conversation import Conversation, count_tokens, new_id
from .core import Engine, EventSink
from .errors import (
    BufferTooSmall,
    DuplicateItem,
    EngineError,
    ItemNotFound,
    NoActiveResponse,
    NoPlayoutBuffer,
    NotAssistantAudio,
    NotAssistantMessage,
    ResponseActive,
    TruncateTooLong,
)
from .events import EngineEvent, Position
from .output import AudioTarget, ClearedAudio, OutputAudio
from .responses import Response, ResponseRequest, Usage
from .settings import MIN_COMMIT_MS, UNINTELLIGIBLE, Settings, TurnDetection

__all__ = [
    "MIN_COMMIT_MS",
    "UNINTELLIGIBLE",
    "AudioTarget",
    "BufferTooSmall",
    "ClearedAudio",
    "Conversation",
    "DuplicateItem",
    "Engine",
    "EngineError",
    "EngineEvent",
    "EventSink",
    "ItemNotFound",
    "NoActiveResponse",
    "NoPlayoutBuffer",
    "NotAssistantAudio",
    "NotAssistantMessage",
    "OutputAudio",
    "Position",
    "Response",
    "ResponseActive",
    "ResponseRequest",
    "Settings",
    "TruncateTooLong",
    "TurnDetection",
    "Usage",
    "count_tokens",
    "events",
    "new_id",
]
