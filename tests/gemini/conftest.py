"""Fixtures for the Gemini codec tests."""

from __future__ import annotations

import pytest
from _gemini_helpers import ready_codec

from liveloop_gemini import GeminiCodec


@pytest.fixture
def codec() -> GeminiCodec:
    return ready_codec()
