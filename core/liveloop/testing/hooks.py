"""The pytest hook a plugin implements to give the conformance kit its own target.

Implement it in the ``conftest.py`` of the project that runs the kit::

    def pytest_liveloop_conformance_target(config, capability):
        if capability.provider == "acme":
            return AcmeSandboxTarget()  # a liveloop.testing.ConformanceTarget
        return None  # the provider's bundled emulator

The first implementation that returns a target wins; with none, the kit runs against the
bundled emulator, reached the way the provider plugin declares
(:attr:`ProviderSpec.emulator <liveloop.plugin.ProviderSpec>`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..matrix import Capability
    from .target import ConformanceTarget


@pytest.hookspec(firstresult=True)
def pytest_liveloop_conformance_target(
    config: pytest.Config, capability: Capability
) -> ConformanceTarget | None:
    """The :class:`~liveloop.testing.ConformanceTarget` to run the kit's checks of
    ``capability`` (the pair under test) against, not started yet; ``None`` for the
    default.

    The target's model must call the tool ``lookup_weather`` with ``{"city": "Paris"}``
    when the user mentions the weather (the kit's tool check), and otherwise answer and
    transcribe as the bundled emulator does (``say()`` voiced verbatim, tone speech).
    """
    return None
