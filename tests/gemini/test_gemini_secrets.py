"""Gemini credentials stay secret: an API key and an ephemeral token appear in no log line
at any level (the WebSocket handshake, tracebacks included), however the session ends."""

from __future__ import annotations

import asyncio
import io
import logging
import traceback
from collections.abc import Iterator

import pytest

import liveloop
from liveloop.log import get_logger
from liveloop_emulator import Emulator, Rule

KEY = "AIzaSECRET0gemini0key0123456789abcdef"
REFUSED = "AIzaREFUSED0gemini0key0987654321fedcb"


def weather(city: str) -> str:
    """The weather."""
    return f"sunny in {city}"


class Records(logging.Handler):
    """Every raw log record, formatted without liveloop's formatter."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter("%(name)s %(message)s").format(record))


@pytest.fixture
def logs() -> Iterator[tuple[io.StringIO, Records]]:
    """liveloop's logging at DEBUG, and every raw record at the root."""
    buffer = io.StringIO()
    liveloop.configure_logging("DEBUG", json=False, stream=buffer)
    raw = Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(raw)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer, raw
    finally:
        root.removeHandler(raw)
        root.setLevel(level)
        liveloop.configure_logging("WARNING")


async def test_no_gemini_key_or_token_in_any_log_line(
    logs: tuple[io.StringIO, Records],
) -> None:
    script = [Rule(match="weather", tool="weather", arguments={"city": "Paris"})]
    errors: list[str] = []
    async with Emulator(speed=8.0, script=script, api_keys=[KEY]) as emu:
        token = emu.gemini.tokens.mint(uses=1).name
        for credential in (KEY, token):
            async with liveloop.connect(
                provider="gemini", api_key=credential, base_url=emu.gemini_base_url, tools=[weather]
            ) as session:
                await session.send_text("what is the weather")
                await asyncio.wait_for(session.input(), 10)
        try:
            await liveloop.open_session(
                provider="gemini", api_key=REFUSED, base_url=emu.gemini_base_url, reconnect=None
            )
        except liveloop.ProviderError as exc:
            get_logger("liveloop.tests").exception("connecting failed")
            errors += ["".join(traceback.format_exception(exc)), repr(exc), str(exc)]
        else:
            raise AssertionError("the refused key connected")
    formatted, raw = logs
    output = formatted.getvalue() + "\n".join(raw.lines) + "\n".join(errors)
    assert "session started" in output and "connecting failed" in output
    assert "API key not valid" in output  # the cause is named, the key is not
    # The handshake was logged (websockets at DEBUG), its credentials masked.
    assert "x-goog-api-key: ***" in output and "Authorization: ***" in output
    secret_parts = (KEY, KEY[4:], token, token.split("/")[-1], REFUSED, REFUSED[4:])
    assert [part for part in secret_parts if part in output] == []
