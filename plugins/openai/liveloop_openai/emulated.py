"""OpenAI sessions on the bundled emulator: the provider's part of the test fixtures,
``liveloop demo`` and the conformance kit (:attr:`ProviderSpec.emulator
<liveloop.plugin.ProviderSpec>`).

Light to import: the emulator's records are read only once a test asks (``side``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from liveloop.testing.emulator import EmulatorThread
    from liveloop.testing.target import ProviderSide

__all__ = ["EMULATOR_KEY", "OpenAIEmulated"]

EMULATOR_KEY = "sk-liveloop-test"
"""The key sessions present to the emulator (it accepts any ``sk-`` key by default)."""


class OpenAIEmulated:
    """How an OpenAI session reaches the emulator's OpenAI Realtime front end, and what a
    test sees of it there."""

    def options(self, emulator: Any) -> dict[str, Any]:
        """``provider``, the emulator's OpenAI ``base_url`` and a test key."""
        return {"provider": "openai", "base_url": str(emulator.base_url), "api_key": EMULATOR_KEY}

    def side(self, emulator: EmulatorThread) -> ProviderSide:
        """The OpenAI side of the sessions on ``emulator``."""
        from ._emulator_side import EmulatorSide

        return EmulatorSide(emulator)
