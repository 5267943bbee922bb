"""The transport contract: how a connection to a provider is opened and carried."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .config import SessionConfig
from .events import AssistantAudio

__all__ = ["Connection", "Connector", "MediaChannel"]


@runtime_checkable
class MediaChannel(Protocol):
    """Audio that travels beside the control events (e.g. WebRTC tracks).

    Audio is PCM16 mono at the session's input/output format; resampling, codecs and
    pacing are the transport's job. So is attribution: ``receive_audio`` returns each
    chunk of assistant audio as an :class:`~liveloop.events.AssistantAudio` carrying the
    provider's response and item ids (a transport that cannot tell which item a chunk
    belongs to holds it until it can, or drops it; it never invents an id).
    ``receive_audio`` raises :class:`~liveloop.errors.ConnectionLost` when the media ends.
    """

    async def send_audio(self, pcm: bytes) -> None:
        """Send user audio."""
        ...

    async def receive_audio(self) -> AssistantAudio:
        """Wait for the next chunk of assistant audio, attributed to its item."""
        ...


@runtime_checkable
class Connection(Protocol):
    """One live link to a provider, carrying the provider's wire messages.

    ``receive`` raises :class:`~liveloop.errors.ConnectionLost` (with the cause) when the
    link is gone; ``close`` returns within a second even if the peer never answers.
    ``media`` is ``None`` when audio rides inside the wire messages.
    """

    media: MediaChannel | None

    async def send(self, message: str) -> None:
        """Send one wire message."""
        ...

    async def receive(self) -> str | bytes:
        """Wait for the next wire message."""
        ...

    async def close(self) -> None:
        """Close the link (bounded: never waits more than about a second)."""
        ...


@runtime_checkable
class Connector(Protocol):
    """Negotiates connections for one provider/transport pair."""

    async def open(self, config: SessionConfig) -> Connection:
        """Open a connection for a session configured by ``config``.

        Raises :class:`~liveloop.errors.ProviderError` when the provider refuses (bad key,
        bad request) and :class:`~liveloop.errors.ConnectionLost` when it cannot be reached;
        both within ``config.connect_timeout``.
        """
        ...
