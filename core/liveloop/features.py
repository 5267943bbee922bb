"""Feature flags: what a provider codec or a transport can do, and so what a pair can do."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Features"]

Interruption = Literal["none", "client_truncates", "server_truncates"]
MediaPath = Literal["none", "events", "track", "direct"]


class Features(BaseModel):
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

    model_config = ConfigDict(frozen=True, extra="forbid")

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
