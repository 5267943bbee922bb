"""Session configuration: what a session asks of the provider and the transport.

Every model here is strict: unknown keys, wrong types (no silent coercion of ``"0.5"``
to ``0.5``), NaN, negative durations and out-of-range values raise
:class:`~liveloop.errors.ConfigError` naming the field and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from ._model import StrictModel
from .errors import ConfigError

__all__ = [
    "AudioFormat",
    "InputTranscription",
    "ReconnectPolicy",
    "SemanticVAD",
    "ServerVAD",
    "SessionConfig",
    "ToolDefinition",
    "TurnDetection",
]

Milliseconds = Annotated[StrictInt, Field(ge=0, le=3_600_000)]
Seconds = Annotated[StrictFloat, Field(gt=0, le=3600)]


class ServerVAD(StrictModel):
    """Voice activity detection by audio energy, run by the provider.

    ``threshold`` (0..1) is how loud audio must be to count as speech; a turn ends after
    ``silence_duration_ms`` of silence; ``prefix_padding_ms`` of audio before speech is
    kept. ``create_response`` makes the model answer each turn on its own;
    ``interrupt_response`` lets user speech cut off the assistant (barge-in).
    """

    type: Literal["server_vad"] = "server_vad"
    threshold: Annotated[StrictFloat, Field(ge=0.0, le=1.0)] = 0.5
    prefix_padding_ms: Milliseconds = 300
    silence_duration_ms: Milliseconds = 500
    idle_timeout_ms: Milliseconds | None = None
    create_response: StrictBool = True
    interrupt_response: StrictBool = True


class SemanticVAD(StrictModel):
    """Turn detection by a model that judges whether the user has finished.

    ``eagerness`` trades latency for fewer cut-offs (``high`` answers soonest).
    """

    type: Literal["semantic_vad"] = "semantic_vad"
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"
    create_response: StrictBool = True
    interrupt_response: StrictBool = True


TurnDetection = Annotated[ServerVAD | SemanticVAD, Field(discriminator="type")]


class InputTranscription(StrictModel):
    """Transcription of the user's audio, which gives spoken turns their ``text``.

    ``model`` ``None`` takes the provider's transcription model (its spec's defaults).
    """

    model: Annotated[StrictStr, Field(min_length=1)] | None = None
    language: StrictStr | None = None
    prompt: StrictStr | None = None


class AudioFormat(StrictModel):
    """PCM16 mono little-endian at ``rate`` Hz, or 8 kHz G.711 (µ-law / A-law).

    A session that leaves its ``input_audio`` / ``output_audio`` unset takes the
    provider's formats (its spec's defaults), not this model's own field defaults.
    """

    encoding: Literal["pcm16", "g711_ulaw", "g711_alaw"] = "pcm16"
    rate: Annotated[StrictInt, Field(ge=8000, le=48000)] = 24000

    @model_validator(mode="after")
    def _g711_is_8k(self) -> AudioFormat:
        if self.encoding != "pcm16" and self.rate != 8000:
            raise ValueError(f"{self.encoding} audio is 8000 Hz, not {self.rate}")
        return self

    @property
    def bytes_per_ms(self) -> float:
        """Bytes of audio per millisecond in this format."""
        width = 2 if self.encoding == "pcm16" else 1
        return self.rate * width / 1000


class ToolDefinition(StrictModel):
    """A function tool as the model sees it: name, description, JSON-schema parameters."""

    name: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: StrictStr = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ReconnectPolicy(StrictModel):
    """How a session survives a dropped connection.

    Up to ``attempts`` reconnections with exponential backoff (starting at
    ``initial_delay`` seconds, doubling), all within ``within`` seconds; then the session
    closes with the cause. A refused key is not retried.
    """

    attempts: Annotated[StrictInt, Field(ge=0, le=100)] = 3
    within: Seconds = 5.0
    initial_delay: Annotated[StrictFloat, Field(ge=0, le=60)] = 0.1


ToolChoice = Literal["auto", "none", "required"] | Annotated[StrictStr, Field(min_length=1)]


class SessionConfig(StrictModel):
    """Everything one session needs: which provider and transport, and what to ask of them.

    Defaults are what a voice app expects: server VAD, input transcription on (so spoken
    turns have text), and the model answering turns on its own (``auto_respond``).
    ``api_key`` is a secret: it never appears in ``repr`` or logs. ``extras`` is merged
    into the provider's session configuration as is. ``call_id`` attaches the session to
    a call that already exists (sideband transports: the call's media flows between the
    end user and the provider, the control events through here).

    What depends on the provider comes from the provider: a field a session leaves unset
    (or ``None``: ``provider``, ``transport``, ``model``, ``voice``) takes the value the
    provider plugin declares in its spec's ``defaults`` when the session opens — the
    transport, model, voice, audio formats and transcription model. ``provider`` unset
    picks the installed provider (see :func:`liveloop.connect`). A live session's
    ``session.config`` has them all filled in.

    ``dtmf_turns`` makes the keys a phone caller presses come back from ``input()`` as
    turns (``channel="dtmf"``), ended by ``#`` or ``dtmf_pause_ms`` without a key.

    ``reconnect`` (``None`` = never) says how a dropped connection is restored;
    ``max_session_seconds`` overrides the provider's session length limit, before which
    the session rolls over to a fresh connection at a quiet moment.
    """

    provider: Annotated[StrictStr, Field(min_length=1)] | None = None
    transport: Annotated[StrictStr, Field(min_length=1)] | None = None
    model: Annotated[StrictStr, Field(min_length=1)] | None = None
    api_key: SecretStr | None = None
    base_url: StrictStr | None = None
    call_id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")] | None = None
    instructions: StrictStr = ""
    voice: Annotated[StrictStr, Field(min_length=1)] | None = None
    output_modalities: tuple[Literal["audio", "text"], ...] = ("audio",)
    turn_detection: TurnDetection | None = Field(default_factory=ServerVAD)
    input_transcription: InputTranscription | None = Field(default_factory=InputTranscription)
    tools: tuple[ToolDefinition, ...] = ()
    tool_choice: ToolChoice = "auto"
    input_audio: AudioFormat = Field(default_factory=AudioFormat)
    output_audio: AudioFormat = Field(default_factory=AudioFormat)
    auto_respond: StrictBool = True
    dtmf_turns: StrictBool = False
    dtmf_pause_ms: Annotated[StrictInt, Field(ge=100, le=60_000)] = 2000
    tool_timeout: Seconds = 30.0
    connect_timeout: Seconds = 10.0
    reconnect: ReconnectPolicy | None = Field(default_factory=ReconnectPolicy)
    max_session_seconds: Annotated[StrictFloat, Field(gt=0, le=86_400)] | None = None
    extras: dict[str, Any] = Field(default_factory=dict)

    @field_validator("turn_detection", mode="before")
    @classmethod
    def _turn_detection_shorthand(cls, value: Any) -> Any:
        # "server_vad" / "semantic_vad" / "none" are accepted as shorthands for the defaults.
        if value == "server_vad":
            return ServerVAD()
        if value == "semantic_vad":
            return SemanticVAD()
        if value == "none":
            return None
        return value

    @field_validator("output_modalities")
    @classmethod
    def _one_modality(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) != 1:
            raise ValueError("exactly one output modality: ('audio',) or ('text',)")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an http:// or https:// URL with a host")
        return value.rstrip("/")

    @field_validator("tools")
    @classmethod
    def _unique_tools(cls, value: tuple[ToolDefinition, ...]) -> tuple[ToolDefinition, ...]:
        # A field validator (not a model one): the error names `tools` and shows only the
        # tools, never the whole input (which may hold the api_key).
        names = [tool.name for tool in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate tool names: {', '.join(duplicates)}")
        return value

    @property
    def pair(self) -> str:
        """The ``provider/transport`` pair this config asks for (``?`` where still unset)."""
        return f"{self.provider or '?'}/{self.transport or '?'}"

    def with_defaults(self, defaults: Mapping[str, Any]) -> SessionConfig:
        """This config with ``defaults`` (SessionConfig fields, as a provider's spec
        declares them) filled in where the session left a field unset.

        A field the session set wins, except ``None`` for ``provider``, ``transport``,
        ``model`` and ``voice``, which means "the provider's". Nested settings merge
        field by field (``InputTranscription(language="fr")`` keeps the provider's
        transcription model). A config that already has every default is returned as is.
        """
        if not defaults:
            return self
        dumped = self.model_dump()
        given = {name: dumped[name] for name in self.model_fields_set}
        mine = {
            name: value
            for name, value in given.items()
            if not (value is None and name in _PROVIDER_CHOSEN)
        }
        merged = _merge_defaults(dict(defaults), mine)
        if merged == given:
            return self
        try:
            return SessionConfig.model_validate(merged)
        except ConfigError as exc:
            raise ConfigError(f"provider defaults: {exc}", exc.errors) from None


_PROVIDER_CHOSEN = ("provider", "transport", "model", "voice")
"""Fields whose ``None`` means "the provider's default"."""


def _merge_defaults(defaults: dict[str, Any], mine: dict[str, Any]) -> dict[str, Any]:
    # A nested setting the session gave is whole, except that a None inside it leaves the
    # provider's value in place (InputTranscription(language="fr") keeps its model).
    merged = dict(defaults)
    for key, value in mine.items():
        default = merged.get(key)
        if isinstance(value, dict) and isinstance(default, dict):
            kept = {k: v for k, v in value.items() if v is not None or k not in default}
            merged[key] = {**default, **kept}
        else:
            merged[key] = value
    return merged
