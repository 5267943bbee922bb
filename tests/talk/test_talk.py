"""``liveloop talk`` end to end against the emulator, with a fake sound card: tone speech
into its microphone, and what its speaker played is what the assertions listen to."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liveloop.audio_io import AudioDeviceError
from liveloop.talk import run_talk
from liveloop.testing import EmulatorThread
from liveloop.testing.audio import FakeAudio, FakeStreams
from liveloop_emulator import tones

LONG = " ".join(["this answer goes on and on"] * 30)
LIVELOOP = Path(sys.executable).parent / "liveloop"

APP = f"""
import liveloop

app = liveloop.App()


@app.session("echo")
async def echo(session):
    while True:
        await session.input()


@app.session("talker", auto_respond=False)
async def talker(session):
    await session.say({LONG!r})
    turn = await session.input()
    await session.say("you said " + turn.text)
    await session.input()
"""


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "talkapp.py").write_text(textwrap.dedent(APP))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def heard(streams: FakeStreams) -> str:
    return str(tones.decode(bytes(streams.heard), streams.rate))


def said_and_quiet(streams: FakeStreams, text: str) -> bool:
    """Whether the speaker played ``text`` (looked at once it has gone quiet after sound:
    decoding all it heard takes longer as the call goes on, and would hold up the loop
    the bundled emulator paces its real-time audio on, so that it arrives late, with gaps)."""
    quiet = streams.rate // 2 * 2  # the last half second, in bytes
    tail = streams.heard[-quiet:]
    if len(tail) < quiet or tail.count(0) < quiet or streams.heard.count(0) == len(streams.heard):
        return False
    return text in heard(streams)


async def talking(**options: Any) -> tuple[asyncio.Task[None], FakeStreams]:
    fake = FakeAudio()
    task = asyncio.create_task(run_talk(backend=fake, stream=io.StringIO(""), **options))
    opened = asyncio.create_task(fake.opened.wait())
    await asyncio.wait({task, opened}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises what went wrong
    assert fake.streams is not None
    return task, fake.streams


async def hang_up(task: asyncio.Task[None]) -> None:
    task.cancel()  # what Ctrl-C does to the command
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)


async def test_typed_lines_are_spoken_as_tone_speech_and_the_reply_is_heard(
    app_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeAudio()
    task = asyncio.create_task(
        run_talk(
            "talkapp:app", "echo", tone=True, backend=fake, stream=io.StringIO("hello there\n")
        )
    )
    await asyncio.wait_for(fake.opened.wait(), 30)
    streams = fake.streams
    assert streams is not None
    await streams.wait_until(lambda: said_and_quiet(streams, "you said: hello there"))
    await hang_up(task)
    out = capsys.readouterr().out
    assert "tone speech" in out
    assert "caller     hello there  (audio)" in out
    assert "assistant  you said: hello there" in out


@pytest.fixture
def emulator_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorThread]:
    with EmulatorThread(speed=4.0) as emulator:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-talk")
        monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
        yield emulator


async def test_barge_in_stops_the_speaker_and_truncates_to_what_it_played(
    app_dir: Path, emulator_env: EmulatorThread, capsys: pytest.CaptureFixture[str]
) -> None:
    # --live: the provider is whatever OPENAI_BASE_URL points at, here an emulator whose
    # records show what the session told it.
    task, streams = await talking(target="talkapp:app", name="talker", live=True)
    # (Generous bounds: the speaker plays in real time, whatever the machine's load.)
    await streams.wait_until(lambda: "this answer goes on and on this" in heard(streams), 60)
    streams.say("stop")
    await streams.wait_until(lambda: "you said stop" in heard(streams), 60)
    await hang_up(task)

    assert streams.clears >= 1  # the speaker stopped at once
    spoken = heard(streams)
    story = spoken[: spoken.index("you said stop")]
    assert len(story) < len(LONG) * 0.6, story  # cut off, not played out
    events = emulator_env.sessions[0].client_events
    [truncate] = [e for e in events if e["type"] == "conversation.item.truncate"]
    # The emulator sent the story four times faster than it plays: what the speaker had
    # played when "stop" began is far less than what had arrived, and that is what counts.
    played_ms = len(tones.encode(story.strip(), streams.rate)) // 2 * 1000 // streams.rate
    assert abs(truncate["audio_end_ms"] - played_ms) < 1200
    sent = emulator_env.sessions[0].events_of("response.output_audio.delta")
    assert truncate["audio_end_ms"] < len(sent) * 40 - 1000
    assert "caller     stop" in capsys.readouterr().out


async def test_the_call_is_recorded_with_record(
    app_dir: Path, emulator_env: EmulatorThread
) -> None:
    task, streams = await talking(
        target="talkapp:app", name="echo", live=True, record=app_dir / "call"
    )
    streams.say("good morning")
    await streams.wait_until(lambda: "you said: good morning" in heard(streams))
    await hang_up(task)
    transcript = (app_dir / "call.jsonl").read_text()
    assert '"text": "good morning"' in transcript
    assert (app_dir / "call.wav").stat().st_size > 44


async def test_an_unknown_device_is_one_cause() -> None:
    with pytest.raises(AudioDeviceError, match="no device matches 'usb headset'"):
        FakeAudio().open(rate=24000, input_device="usb headset", output_device=None, block_ms=20)


def test_talk_without_a_sound_library_says_what_to_install() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVELOOP_", "OPENAI_"))}
    result = subprocess.run(
        [str(LIVELOOP), "talk", "--devices"], capture_output=True, text=True, timeout=60, env=env
    )
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError):
        # No sounddevice, or no PortAudio under it: one line naming what to install.
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("error: liveloop talk needs ")
        assert "liveloop[talk]" in line or "portaudio" in line.lower()
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("index  device")
