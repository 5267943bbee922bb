"""The standalone server's cheaper paths keep their behaviour: the loop it picks, writes held
to the end of a loop pass, and the fast base64 decoder deciding nothing on its own."""

from __future__ import annotations

import asyncio
import binascii
import random
import string
import subprocess
import sys

import pytest

from liveloop_emulator import cli
from liveloop_emulator.realtime import items
from liveloop_emulator.realtime.errors import ProtocolError
from liveloop_emulator.server import wsprotocol


def test_loop_choice_follows_liveloop_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cli.LOOP_ENV, "asyncio")
    assert cli.loop_factory() is None
    monkeypatch.setenv(cli.LOOP_ENV, "epoll")
    with pytest.raises(ValueError, match="expected auto, uvloop or asyncio"):
        cli.loop_factory()
    pytest.importorskip("uvloop")
    import uvloop

    for setting in ("uvloop", "auto", ""):
        monkeypatch.setenv(cli.LOOP_ENV, setting)
        assert cli.loop_factory() is uvloop.new_event_loop


def test_a_bad_loop_setting_is_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "liveloop_emulator.cli", "--port", "0"],
        env={"LIVELOOP_LOOP": "fast", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "liveloop-emulator: error: LIVELOOP_LOOP='fast': expected auto, uvloop or asyncio"
    )


class _Transport:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def close(self) -> None:
        self.calls.append(("close", b""))
        self.closing = True

    def abort(self) -> None:
        self.calls.append(("abort", b""))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_writes_of_one_loop_pass_go_out_as_one() -> None:
    flusher = wsprotocol._flusher(asyncio.get_running_loop())
    first, second = _Transport(), _Transport()
    held_first = wsprotocol._CoalescingTransport(first, flusher)
    held_second = wsprotocol._CoalescingTransport(second, flusher)
    held_first.write(b"a")
    held_second.write(b"x")
    held_first.write(b"")
    held_first.write(b"bc")
    assert first.calls == [] and second.calls == []
    await asyncio.sleep(0)
    assert first.calls == [("write", b"abc")]
    assert second.calls == [("write", b"x")]
    assert held_first.get_extra_info("peername") == "info:peername"

    held_first.write(b"last words")
    held_first.close()  # what is held goes out before the close
    assert first.calls[1:] == [("write", b"last words"), ("close", b"")]
    held_second.write(b"lost")
    held_second.abort()  # a cut connection loses it
    await asyncio.sleep(0)
    assert second.calls[1:] == [("abort", b"")]


def _a2b(data: str) -> bytes | None:
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def _decoded(data: str) -> bytes | None:
    try:
        return items.decode_base64(data, "audio")
    except ProtocolError as exc:
        assert exc.message == "Invalid 'audio'. Expected base64-encoded audio data."
        assert exc.param == "audio"
        return None


def test_audio_base64_accepts_and_refuses_what_strict_a2b_does() -> None:
    edge = ["", "QUJD", "QUI=", "QQ==", "AAAA=", "AAAA====", "AA==AA==", "A===", "QUJD\n"]
    edge += [" QUJD", "QUJ-", "QUJ_", "QUJDé", "QUJD\x00", "QQ=", "QQ", "Q"]
    alphabet = string.ascii_letters + string.digits + "+/"
    odd = "=\n -_.é"
    rng = random.Random(7)
    randomized = [
        "".join(
            rng.choice(alphabet) if rng.random() < 0.85 else rng.choice(odd)
            for _ in range(rng.randint(0, 16))
        )
        + "=" * rng.randint(0, 3)
        for _ in range(20_000)
    ]
    for data in edge + randomized:
        assert _decoded(data) == _a2b(data), data
    assert _decoded("AAAA=") == b"\x00\x00\x00"  # accepted, as strict a2b accepts it
