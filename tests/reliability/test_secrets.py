"""Keys stay secret: an API key and an ``ek_`` client secret appear in no log line at any
level (tracebacks included), in no ``repr``/``str`` of a config, and in no output of
``liveloop plugins`` / ``liveloop capabilities``."""

from __future__ import annotations

import asyncio
import io
import logging
import traceback
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

import liveloop
import liveloop.cli
from liveloop.log import get_logger
from liveloop_emulator import Emulator, Rule

KEY = "sk-proj-SECRET0reliability0key0123456789"
OTHER_KEY = "sk-proj-ANOTHER0secret0key0987654321"
UNKNOWN_SECRET = "ek_UNKNOWN0client0secret0123456789"


def secrets_in(text: str, *secrets: str) -> list[str]:
    """The secrets (or their distinctive part, after the prefix) found in ``text``."""
    return [s for s in secrets if s in text or s[3:] in text]


def weather(city: str) -> str:
    """The weather."""
    return f"sunny in {city}"


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    """liveloop's logging at DEBUG (every logger, redacted by liveloop's formatter)."""
    buffer = io.StringIO()
    liveloop.configure_logging("DEBUG", json=False, stream=buffer)
    try:
        yield buffer
    finally:
        liveloop.configure_logging("WARNING")


class Records(logging.Handler):
    """Every raw log record, formatted without liveloop's formatter (an app's own set-up)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter("%(name)s %(message)s").format(record))


@pytest.fixture
def raw_records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def _sessions_and_refusals(emu: Emulator, secret: str) -> list[str]:
    """A session with the key, one with the client secret, and refused connections; returns
    the text of the errors raised."""
    errors: list[str] = []
    for credential in (KEY, secret):
        async with liveloop.connect(
            api_key=credential, base_url=emu.base_url, tools=[weather]
        ) as session:
            await session.send_text("what is the weather")
            await asyncio.wait_for(session.input(), 10)
            await asyncio.sleep(0.3)  # the tool call and its follow-up
    for refused in (OTHER_KEY, UNKNOWN_SECRET):
        try:
            await liveloop.open_session(api_key=refused, base_url=emu.base_url)
        except liveloop.ProviderError as exc:
            get_logger("liveloop.tests").exception("connecting failed", key=refused)
            errors.append("".join(traceback.format_exception(exc)))
            errors.append(repr(exc))
        else:
            raise AssertionError("the connection was not refused")
    return errors


async def test_no_key_or_client_secret_in_any_log_line_at_debug(debug_logs: io.StringIO) -> None:
    script = [Rule(match="weather", tool="weather", arguments={"city": "Paris"})]
    async with Emulator(speed=8.0, script=script, api_keys=[KEY]) as emu:
        secret = emu.create_client_secret().value
        errors = await _sessions_and_refusals(emu, secret)
    output = debug_logs.getvalue()
    assert "session started" in output and "connecting failed" in output
    assert "Traceback" in output  # the exception path was logged
    assert "Authorization" in output  # the handshake's headers were logged, masked
    assert secrets_in(output, KEY, secret, OTHER_KEY, UNKNOWN_SECRET) == []
    assert secrets_in("\n".join(errors), KEY, secret, OTHER_KEY, UNKNOWN_SECRET) == []


async def test_no_key_in_raw_log_records_without_liveloops_formatter(
    raw_records: Records,
) -> None:
    async with Emulator(speed=8.0, api_keys=[KEY]) as emu:
        secret = emu.create_client_secret().value
        for credential in (KEY, secret):
            async with liveloop.connect(api_key=credential, base_url=emu.base_url) as session:
                await session.send_text("hello")
                await asyncio.wait_for(session.input(), 10)
    output = "\n".join(raw_records.lines)
    assert "Authorization" in output
    assert secrets_in(output, KEY, secret) == []


def test_no_key_in_the_repr_or_str_of_a_config() -> None:
    config = liveloop.SessionConfig(api_key=KEY, base_url="http://127.0.0.1:1/v1")
    secret_config = liveloop.SessionConfig(api_key=UNKNOWN_SECRET)
    texts = [
        repr(config),
        str(config),
        repr(secret_config),
        str(secret_config),
        str(config.model_dump()),
        config.model_dump_json(),
    ]
    with pytest.raises(liveloop.ConfigError) as caught:
        liveloop.SessionConfig(api_key=KEY, voice="", tool_timeout=-1)
    texts += [str(caught.value), repr(caught.value), repr(caught.value.errors)]
    assert secrets_in("\n".join(texts), KEY, UNKNOWN_SECRET) == []


@pytest.mark.parametrize(
    "args", [["plugins"], ["plugins", "--json"], ["capabilities"], ["capabilities", "--json"]]
)
def test_no_key_in_plugins_or_capabilities_output(args: list[str]) -> None:
    env = {"OPENAI_API_KEY": KEY, "LIVELOOP_LOG_LEVEL": "DEBUG"}
    result = CliRunner().invoke(liveloop.cli.cli, args, env=env)
    assert result.exit_code == 0, result.output
    assert "openai" in result.output
    assert secrets_in(result.output, KEY) == []
