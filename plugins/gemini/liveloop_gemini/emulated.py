"""Gemini sessions on the bundled emulator: the provider's part of the test fixtures,
``liveloop demo`` and the conformance kit (:attr:`ProviderSpec.emulator
<liveloop.plugin.ProviderSpec>`).

Light to import: the emulator's records are read only once a test asks (``side``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from liveloop.testing.emulator import EmulatorThread
    from liveloop.testing.target import ProviderSide

__all__ = ["EMULATOR_KEY", "GeminiEmulated"]

EMULATOR_KEY = "AIza-liveloop-test"
"""The key sessions present to the emulator (it accepts any ``AIza`` key by default)."""


class GeminiEmulated:
    """How a Gemini session reaches the emulator's Gemini Live front end, and what a test
    sees of it there."""

    def options(self, emulator: Any) -> dict[str, Any]:
        """``provider``, the emulator's Gemini ``base_url`` and a test key."""
        return {
            "provider": "gemini",
            "base_url": str(emulator.gemini_base_url),
            "api_key": EMULATOR_KEY,
        }

    def side(self, emulator: EmulatorThread) -> ProviderSide:
        """The Gemini side of the sessions on ``emulator``."""
        from ._emulator_side import GeminiEmulatorSide

        return GeminiEmulatorSide(emulator)
