"""Load the bundled emulator lazily, with an actionable error when it is not installed."""

from __future__ import annotations

from types import ModuleType

__all__ = ["emulator_module", "tones_module"]

_MISSING = (
    "liveloop's testing kit needs the bundled emulator: pip install liveloop-emulator "
    "(and the plugins of the provider and transport under test)"
)


def emulator_module() -> ModuleType:
    """The ``liveloop_emulator`` package, or ImportError naming what to install."""
    try:
        import liveloop_emulator
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return liveloop_emulator


def tones_module() -> ModuleType:
    """The emulator's tone-speech codec (``liveloop_emulator.tones``)."""
    emulator_module()
    from liveloop_emulator import tones

    return tones
