"""Feature flags: what a provider codec or a transport can do, and so what a pair can do.

A plain frozen dataclass: plugins declare their features in code when they register
(``liveloop capabilities``, the start of every session), and building a pydantic model
class and its validator there was about half of that command's time. A declaration that
is not what the fields say is a ``TypeError`` naming the field when the plugin loads.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

__all__ = ["Features"]

Interruption = Literal["none", "client_truncates", "server_truncates"]
MediaPath = Literal["none", "events", "track", "direct"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "interruption": get_args(Interruption),
    "media": get_args(MediaPath),
}


@dataclass(frozen=True)
class Features:
    """Truthful flags for one provider codec, one transport, or one provider/transport pair.

    - ``audio_in`` / ``audio_out``: user audio reaches the provider / assistant audio
      comes back, through this process (``send_audio`` / ``audio_out``).
    - ``text``: typed user messages and text replies.
    - ``server_vad`` / ``semantic_vad``: the provider detects turns.
    - ``interruption``: barge-in support and who cuts the assistant item to what was heard
      (``client_truncates``: this process sends the truncate; ``server_truncates``).
    - ``tools``: function calls routed to Python tools.
    - ``verbatim_say``: ``say(text)`` voices exactly the text.
    - ``sideband``: the handler runs over a control channel attached to a call whose media
      goes elsewhere (a browser).
    - ``media``: where audio flows: ``events`` (base64 in control events through this
      process), ``track`` (RTP through this process), ``direct`` (between the end user and
      the provider, not through this process), ``none``.
    - ``audio_formats``: the formats the audio can be exchanged in (e.g. ``pcm16``).
    """

    audio_in: bool = False
    audio_out: bool = False
    text: bool = False
    server_vad: bool = False
    semantic_vad: bool = False
    interruption: Interruption = "none"
    tools: bool = False
    verbatim_say: bool = False
    sideband: bool = False
    media: MediaPath = "none"
    audio_formats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A declaration is code, not user input: say which field is wrong, coerce nothing
        # but a list of formats (written as a list, meant as the tuple).
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name in _CHOICES:
                if value not in _CHOICES[spec.name]:
                    _wrong(spec.name, value, " or ".join(map(repr, _CHOICES[spec.name])))
            elif spec.name == "audio_formats":
                if isinstance(value, str) or not isinstance(value, tuple | list):
                    _wrong(spec.name, value, "a tuple of format names")
                if not all(isinstance(fmt, str) for fmt in value):
                    _wrong(spec.name, value, "a tuple of format names")
                object.__setattr__(self, "audio_formats", tuple(value))
            elif not isinstance(value, bool):
                _wrong(spec.name, value, "True or False")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (formats as a list), fields in declaration order."""
        out = {spec.name: getattr(self, spec.name) for spec in fields(self)}
        out["audio_formats"] = list(self.audio_formats)
        return out

    def combine(self, transport: Features) -> Features:
        """The features of a pair: what this provider codec and ``transport`` both support.

        Booleans must hold on both sides; the transport decides where media flows and who
        truncates (unless the provider cannot interrupt at all); audio formats are those
        both sides speak, in the transport's order.
        """
        formats = tuple(fmt for fmt in transport.audio_formats if fmt in self.audio_formats)
        return Features(
            audio_in=self.audio_in and transport.audio_in,
            audio_out=self.audio_out and transport.audio_out,
            text=self.text and transport.text,
            server_vad=self.server_vad and transport.server_vad,
            semantic_vad=self.semantic_vad and transport.semantic_vad,
            interruption="none" if self.interruption == "none" else transport.interruption,
            tools=self.tools and transport.tools,
            verbatim_say=self.verbatim_say and transport.verbatim_say,
            sideband=self.sideband and transport.sideband,
            media=transport.media,
            audio_formats=formats,
        )


def _wrong(name: str, value: object, expected: str) -> None:
    raise TypeError(f"Features.{name}: expected {expected}, got {value!r}")
