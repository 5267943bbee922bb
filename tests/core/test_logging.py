"""Logging: secrets never reach any line (JSON or console, any level, any logger),
context variables are bound to every line, and the environment picks level and format."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from typing import Any

import pytest

import liveloop
from liveloop.log import redact

KEY = "sk-proj-ABCDEFghijkl1234567890_-xyz"
CLIENT_SECRET = "ek_68af3c2b1e0d4f5a9b8c7d6e"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.payload.signature"
SECRETS = (KEY, KEY[3:], CLIENT_SECRET, CLIENT_SECRET[3:], TOKEN)


def _assert_clean(output: str) -> None:
    for secret in SECRETS:
        assert secret not in output


def _log_everything() -> None:
    """One line per way a secret can reach a log, each with a marker to find it by."""
    log = liveloop.get_logger("liveloop.test")
    log.debug("marker-config", config=liveloop.SessionConfig(api_key=KEY))  # type: ignore[arg-type]
    log.debug("marker-headers", headers={"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "x"})
    log.debug(
        "marker-nested",
        request={
            "url": "https://api.openai.com/v1/realtime/calls",
            "body": [{"session": {"api_key": KEY}}, {"text": f"use {KEY} please"}],
            "headers": [("Authorization", f"Bearer {TOKEN}"), ("X-Api-Key", KEY)],
            "by_key": {KEY: "sess_1"},
        },
    )
    log.debug(f"marker-free-text the key is {KEY}, the token Bearer {TOKEN}")
    log.debug("marker-client-secret", client_secret={"value": CLIENT_SECRET, "expires_at": 1})
    log.debug("marker-secret-text", response=f'{{"value": "{CLIENT_SECRET}"}}')
    log.debug("marker-positional %s", KEY)
    log.debug("marker-bytes", frame=f"Authorization: Bearer {KEY}".encode())
    log.debug("marker-subprotocol", subprotocols=[f"openai-insecure-api-key.{KEY}"])
    try:
        raise RuntimeError(f"request failed with key {KEY}")
    except RuntimeError as exc:
        log.exception("marker-traceback")
        log.debug("marker-exception-object", error=exc)
    foreign = logging.getLogger("websockets.client")
    foreign.debug("> Authorization: Bearer %s", KEY)
    foreign.debug("marker-foreign-args %s", {"api_key": KEY})
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("marker-foreign-traceback")


MARKERS = [
    "marker-config",
    "marker-headers",
    "marker-nested",
    "marker-free-text",
    "marker-client-secret",
    "marker-secret-text",
    "marker-positional",
    "marker-bytes",
    "marker-subprotocol",
    "marker-traceback",
    "marker-exception-object",
    "> Authorization: Bearer ***",
    "marker-foreign-args",
    "marker-foreign-traceback",
]


def test_debug_json_run_never_prints_a_secret() -> None:
    buf = io.StringIO()
    liveloop.configure_logging("DEBUG", json=True, stream=buf)

    _log_everything()

    output = buf.getvalue()
    _assert_clean(output)
    lines = [json.loads(line) for line in output.splitlines()]
    events = " ".join(line["event"] for line in lines)
    for marker in MARKERS:
        assert marker in events
    by_event = {line["event"]: line for line in lines}
    assert by_event["marker-headers"]["headers"] == {"Authorization": "***", "OpenAI-Beta": "x"}
    assert "api_key=SecretStr('**********')" in by_event["marker-config"]["config"]
    assert by_event["marker-client-secret"]["client_secret"] == "***"
    nested = by_event["marker-nested"]["request"]
    assert nested["url"] == "https://api.openai.com/v1/realtime/calls"
    assert nested["body"][0] == {"session": {"api_key": "***"}}
    assert nested["body"][1] == {"text": "use sk-*** please"}
    assert nested["headers"] == [["Authorization", "Bearer ***"], ["X-Api-Key", "sk-***"]]
    assert nested["by_key"] == {"sk-***": "sess_1"}
    assert by_event["marker-bytes"]["frame"] == f"<{len('Authorization: Bearer ' + KEY)} bytes>"
    traceback = by_event["marker-traceback"]["exception"]
    assert "Traceback (most recent call last)" in traceback
    assert "RuntimeError: request failed with key sk-***" in traceback
    assert "ValueError: bad key sk-***" in by_event["marker-foreign-traceback"]["exception"]
    assert by_event["marker-foreign-traceback"]["logger"] == "uvicorn.error"


def test_debug_console_run_never_prints_a_secret() -> None:
    buf = io.StringIO()
    liveloop.configure_logging("DEBUG", json=False, stream=buf)

    _log_everything()

    output = buf.getvalue()
    _assert_clean(output)
    for marker in MARKERS:
        assert marker in output
    assert "RuntimeError: request failed with key sk-***" in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output.splitlines()[0])


def test_redaction_happens_at_source_without_configure(caplog: pytest.LogCaptureFixture) -> None:
    # An application that never calls configure_logging still gets masked lines.
    with caplog.at_level(logging.DEBUG, logger="liveloop.test"):
        liveloop.get_logger("liveloop.test").debug("marker", api_key=KEY, note=f"Bearer {KEY}")

    [record] = [r for r in caplog.records if r.name == "liveloop.test"]
    _assert_clean(str(record.msg))
    _assert_clean(caplog.text)
    assert "marker" in str(record.msg)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"key {KEY}", "key sk-***"),
        (f"Bearer {TOKEN}", "Bearer ***"),
        (f"bearer {TOKEN}", "Bearer ***"),
        (CLIENT_SECRET, "ek_***"),
        ("gemini key AIzaSyA1b2C3d4E5f6G7h8", "gemini key AIza***"),
        ("wss://host/ws?key=s3cr3t&alt=json", "wss://host/ws?key=***&alt=json"),
        ({"key": "s3cr3t", "monkey": "banana"}, {"key": "***", "monkey": "banana"}),
        ({"Proxy-Authorization": "Basic abc"}, {"Proxy-Authorization": "***"}),
        ({"openai_api_key": "x"}, {"openai_api_key": "***"}),
        ({"password": "hunter2", "user": "me"}, {"password": "***", "user": "me"}),
        ((1, 2.5, None, True), [1, 2.5, None, True]),
        (
            "nothing to hide: sk-a, task-1234, desk_top",
            "nothing to hide: sk-a, task-1234, desk_top",
        ),
    ],
)
def test_redact(value: Any, expected: Any) -> None:
    assert redact(value) == expected


def test_redact_masks_object_reprs() -> None:
    class Holder:
        def __repr__(self) -> str:
            return f"Holder(key={KEY!r})"

    assert redact(Holder()) == "Holder(key='sk-***')"


# -- context -------------------------------------------------------------------------------


def test_bound_context_appears_in_json_lines() -> None:
    buf = io.StringIO()
    liveloop.configure_logging("DEBUG", json=True, stream=buf)
    log = liveloop.get_logger("liveloop.test")

    with liveloop.bind_context(
        session_id="sess_123", provider="openai", transport="websocket", call_id="call_9"
    ):
        log.info("inside")
        logging.getLogger("websockets.client").info("foreign inside")
    log.info("outside")

    inside, foreign, outside = (json.loads(line) for line in buf.getvalue().splitlines())
    for line in (inside, foreign):
        assert line["session_id"] == "sess_123"
        assert line["provider"] == "openai"
        assert line["transport"] == "websocket"
        assert line["call_id"] == "call_9"
    assert foreign["logger"] == "websockets.client"
    assert "session_id" not in outside
    assert inside["level"] == "info"
    assert "timestamp" in inside


async def test_bound_context_follows_tasks() -> None:
    buf = io.StringIO()
    liveloop.configure_logging("INFO", json=True, stream=buf)

    async def work() -> None:
        liveloop.get_logger("liveloop.test").info("in task")

    with liveloop.bind_context(session_id="sess_task"):
        await asyncio.create_task(work())

    assert json.loads(buf.getvalue())["session_id"] == "sess_task"


# -- level and format from the environment -------------------------------------------------


def _run_with_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name in ("LIVELOOP_LOG_LEVEL", "LIVELOOP_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    buf = io.StringIO()
    liveloop.configure_logging(stream=buf)
    log = liveloop.get_logger("liveloop.test")
    log.debug("a debug line", api_key=KEY)
    log.info("an info line")
    log.warning("a warning line")
    return buf.getvalue()


def test_environment_json_and_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    output = _run_with_env(monkeypatch, LIVELOOP_LOG_FORMAT="json", LIVELOOP_LOG_LEVEL="debug")

    lines = [json.loads(line) for line in output.splitlines()]
    assert [line["event"] for line in lines] == ["a debug line", "an info line", "a warning line"]
    assert lines[0]["api_key"] == "***"
    _assert_clean(output)


def test_environment_level_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    output = _run_with_env(monkeypatch, LIVELOOP_LOG_FORMAT="JSON", LIVELOOP_LOG_LEVEL="WARNING")

    assert [json.loads(line)["event"] for line in output.splitlines()] == ["a warning line"]


def test_environment_defaults_to_console_at_info(monkeypatch: pytest.MonkeyPatch) -> None:
    output = _run_with_env(monkeypatch)

    assert "a debug line" not in output
    assert "an info line" in output
    assert "a warning line" in output
    assert not output.startswith("{")


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVELOOP_LOG_FORMAT", "console")
    monkeypatch.setenv("LIVELOOP_LOG_LEVEL", "ERROR")
    buf = io.StringIO()

    liveloop.configure_logging("INFO", json=True, stream=buf)
    liveloop.get_logger("liveloop.test").info("shown")

    assert json.loads(buf.getvalue())["event"] == "shown"


def test_configure_twice_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    liveloop.configure_logging("INFO", json=True, stream=first)
    liveloop.configure_logging("INFO", json=True, stream=second)

    liveloop.get_logger("liveloop.test").info("once")

    assert first.getvalue() == ""
    assert len(second.getvalue().splitlines()) == 1


def test_environment_configures_logging_on_first_use() -> None:
    # A fresh process with only the environment set: no configure_logging call at all.
    code = (
        "import liveloop\n"
        f"liveloop.get_logger('liveloop.app').debug('hello', api_key={KEY!r}, note={KEY!r})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(LIVELOOP_LOG_FORMAT="json", LIVELOOP_LOG_LEVEL="DEBUG"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    line = json.loads(result.stderr)
    assert (line["event"], line["level"], line["api_key"]) == ("hello", "debug", "***")
    assert line["note"] == "sk-***"
    _assert_clean(result.stderr + result.stdout)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVELOOP_")}
    env.update(extra)
    return env
