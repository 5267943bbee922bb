"""The reliability suite: the ``slow`` marker and an emulator per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from reliability._proxy import Proxy

from liveloop_emulator import Emulator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: full-size reliability runs (deselect with -m 'not slow')"
    )


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(speed=8.0) as emulator:
        yield emulator


@pytest.fixture
async def proxy(emu: Emulator) -> AsyncIterator[Proxy]:
    """A WebSocket proxy in front of ``emu`` (connect liveloop to ``proxy.base_url``)."""
    async with Proxy(emu.base_url) as running:
        yield running
