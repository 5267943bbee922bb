"""Test liveloop handlers offline: the emulator, a simulated user, and observers.

A handler test in a few lines (the ``liveloop_options`` fixture comes from liveloop's
pytest plugin, which pytest loads automatically)::

    async def test_greeting(liveloop_options):
        async with liveloop.connect(**liveloop_options) as session:
            heard = Heard(session)
            await speak(session, "hello there")
            turn = await session.input()
            assert turn.text == "hello there"
            assert await heard.wait_for("you said: hello there")

Everything here loads the bundled emulator (``liveloop-emulator``) lazily and raises an
ImportError naming what to install when it is missing.

The conformance kit's target contract is here too: a provider plugin declares an
:class:`EmulatedProvider` (its sessions on the bundled emulator, and its
:class:`ProviderSide`); a project tested elsewhere returns its own
:class:`ConformanceTarget` from the ``pytest_liveloop_conformance_target`` hook.
"""

from .emulator import EmulatorThread
from .observe import Heard, ToolLog
from .target import (
    ConformanceTarget,
    EmulatedProvider,
    EmulatorTarget,
    ProviderSide,
    Truncation,
    emulated_provider,
)
from .voice import silence, speak, utterance

__all__ = [
    "ConformanceTarget",
    "EmulatedProvider",
    "EmulatorTarget",
    "EmulatorThread",
    "Heard",
    "ProviderSide",
    "ToolLog",
    "Truncation",
    "emulated_provider",
    "silence",
    "speak",
    "utterance",
]
