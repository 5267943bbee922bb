"""Where a provider's sessions run in tests: the contract a provider plugin fulfils so the
fixtures, ``liveloop demo`` and the conformance kit can run its pairs offline.

A provider plugin sets :attr:`ProviderSpec.emulator <liveloop.plugin.ProviderSpec>` to an
:class:`EmulatedProvider`: how a session reaches the provider's front end of the bundled
emulator (``liveloop_emulator.Emulator``), and a :class:`ProviderSide` that observes and
drives what happens there, in the provider's own wire terms, reported in neutral ones.

The conformance kit runs against a :class:`ConformanceTarget`. By default that is an
:class:`EmulatorTarget` (the bundled emulator, through the provider's
:class:`EmulatedProvider`); a plugin tested against its own emulator or a live endpoint
overrides the kit's ``liveloop_conformance_target`` fixture in its ``conftest.py`` with
any :class:`ConformanceTarget`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from ..plugins import PluginManager
    from ..specs import ProviderSpec
    from .emulator import EmulatorThread

__all__ = [
    "ConformanceTarget",
    "EmulatedProvider",
    "EmulatorTarget",
    "ProviderSide",
    "Truncation",
    "emulated_provider",
]


@dataclass(frozen=True)
class Truncation:
    """An assistant item cut to what was heard: by this process (``client``, a truncate
    it sent) or by the provider on its own (``provider``, e.g. over WebRTC)."""

    item_id: str
    audio_end_ms: int
    by: Literal["client", "provider"]


class ProviderSide(ABC):
    """The provider's side of the sessions a test opens, latest session first in mind.

    Observations read the provider's records (an emulator's, or a recording proxy's) and
    never block; the kit polls them with its own bounds. Call methods drive calls whose
    media bypasses this process (sideband pairs); a provider without calls keeps the
    defaults, which raise :class:`NotImplementedError`.
    """

    names_items: bool = True
    """Whether the provider's item ids are the ones sessions see (a protocol that names
    no items on the wire reports its own ids; then truncations match by count)."""

    @abstractmethod
    def session_id(self) -> str | None:
        """The provider's id of the latest session (``None`` before one opened)."""

    @abstractmethod
    def call_id(self) -> str | None:
        """The call the latest session belongs to (``None``: not a call's session)."""

    @abstractmethod
    def closed(self) -> bool:
        """Whether the latest session's connection is closed on the provider's side (for a
        sideband: whether its control connection to the call is)."""

    @abstractmethod
    def truncations(self) -> list[Truncation]:
        """Every truncation of the latest session's assistant items, in order."""

    @abstractmethod
    def tool_outputs(self) -> int:
        """How many tool results the latest session sent the provider."""

    @abstractmethod
    def responses_after_tool_output(self) -> int:
        """How many responses the session asked for after its first tool result."""

    @abstractmethod
    def responses_requested(self) -> int:
        """How many responses the latest session asked the provider for."""

    @abstractmethod
    def completed_responses(self) -> list[str]:
        """The ids of the latest session's responses that completed (not interrupted)."""

    @abstractmethod
    def played_responses(self) -> list[str]:
        """The ids of responses whose audio began playing on the user's device (calls
        whose media bypasses this process; empty otherwise)."""

    async def open_call(self) -> str:
        """Open a call without a user's device (its audio plays out in real time) and
        return its id, for a sideband session to attach to."""
        raise NotImplementedError(f"{type(self).__name__} has no calls")

    async def hang_up(self, call_id: str) -> None:
        """End the call ``call_id``."""
        raise NotImplementedError(f"{type(self).__name__} has no calls")

    async def speak_into_call(self, call_id: str, pcm: bytes) -> None:
        """Play ``pcm`` (PCM16 at 24 kHz) into the call as the user's microphone."""
        raise NotImplementedError(f"{type(self).__name__} has no calls")


class EmulatedProvider(Protocol):
    """What a provider plugin declares so its sessions run on the bundled emulator."""

    def options(self, emulator: Any) -> dict[str, Any]:
        """``liveloop.connect()`` keywords that reach this provider's front end of the
        running ``liveloop_emulator.Emulator`` ``emulator``: at least ``provider``,
        ``base_url`` and ``api_key`` (the emulator accepts any well-formed test key)."""
        ...

    def side(self, emulator: EmulatorThread) -> ProviderSide:
        """The provider's side of the sessions on ``emulator`` (running on its thread)."""
        ...


class ConformanceTarget(ABC):
    """What the conformance kit runs one pair against: a provider endpoint (usually an
    emulator), the connect options that reach it, and its :class:`ProviderSide`.

    A target is a context manager: started before the kit's first check, stopped after
    the last.
    """

    @abstractmethod
    def start(self) -> None:
        """Start serving (returns once sessions can connect)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving: every open connection to the target drops (bounded)."""

    @abstractmethod
    def options(self) -> dict[str, Any]:
        """``liveloop.connect()`` keywords for a session on this target (provider,
        base_url, api_key, and a model where the provider's default does not serve)."""

    @property
    @abstractmethod
    def side(self) -> ProviderSide:
        """The provider's side of this target's sessions."""

    @abstractmethod
    def fresh(self) -> ConformanceTarget:
        """Another target like this one, not started: the kit starts it and stops it
        under a live session to check what a dropped connection does."""

    def __enter__(self) -> ConformanceTarget:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmulatorTarget(ConformanceTarget):
    """The bundled emulator on a background thread, reached through a provider's
    :class:`EmulatedProvider` (``emulator_options`` go to ``liveloop_emulator.Emulator``)."""

    def __init__(self, emulated: EmulatedProvider, **emulator_options: Any) -> None:
        from .emulator import EmulatorThread

        self._emulated = emulated
        self._emulator_options: Mapping[str, Any] = dict(emulator_options)
        self._thread = EmulatorThread(**emulator_options)
        self._side: ProviderSide | None = None

    @property
    def emulator(self) -> EmulatorThread:
        """The running emulator's thread."""
        return self._thread

    def start(self) -> None:
        self._thread.start()
        self._side = self._emulated.side(self._thread)

    def stop(self) -> None:
        self._thread.stop()

    def options(self) -> dict[str, Any]:
        return self._emulated.options(self._thread.emulator)

    @property
    def side(self) -> ProviderSide:
        if self._side is None:
            raise RuntimeError("the target is not started")
        return self._side

    def fresh(self) -> EmulatorTarget:
        return EmulatorTarget(self._emulated, **self._emulator_options)


def emulated_provider(
    provider: str | None = None, plugins: PluginManager | None = None
) -> tuple[ProviderSpec, EmulatedProvider]:
    """The spec of ``provider`` (default: the provider a session naming none gets) and
    how its sessions run on the bundled emulator.

    Raises :class:`~liveloop.LiveloopError` when the provider is not installed or
    declares no emulator support.
    """
    from ..errors import LiveloopError
    from ..matrix import default_provider
    from ..plugins import get_plugin_manager

    manager = plugins or get_plugin_manager()
    name = provider or default_provider(manager)
    registered = manager.providers().get(name)
    if registered is None:
        installed = ", ".join(sorted(manager.providers())) or "none"
        raise LiveloopError(f"provider {name} is not installed (installed: {installed})")
    if registered.spec.emulator is None:
        raise LiveloopError(
            f"provider {name} ({registered.distribution}) declares no way to run on the "
            "bundled emulator (ProviderSpec.emulator)"
        )
    return registered.spec, registered.spec.emulator
