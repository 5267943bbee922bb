"""Recordings end to end against the emulator: the WAV holds what each side said on one
timeline (an interrupted reply cut where it was cut), the transcript says what happened,
both are on disk while the call goes on, and ``liveloop report`` reads them back."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import liveloop
from liveloop.recording import FLUSH_S, HOLD_S, recording_paths
from liveloop.testing import Heard, ToolLog, speak
from liveloop_emulator import Emulator, Rule, tones

KEY = "sk-test-recording"
LONG = " ".join(["this answer goes on and on"] * 30)  # about 25 s of speech
LIVELOOP = Path(sys.executable).parent / "liveloop"


def lookup_weather(city: str) -> dict[str, str]:
    """Look up today's weather in a city."""
    return {"city": city, "sky": "sunny"}


SCRIPT = [
    Rule(match="story", reply=LONG),
    Rule(match="weather", tool="lookup_weather", arguments={"city": "Paris"}),
]


def channels(path: Path) -> tuple[int, np.ndarray, np.ndarray, float]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (2, 2)
        rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    stereo = np.frombuffer(frames, dtype="<i2").reshape(-1, 2)
    return rate, stereo[:, 0], stereo[:, 1], len(stereo) / rate


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def heard_text(samples: np.ndarray, rate: int) -> str:
    return str(tones.decode(samples.astype("<i2").tobytes(), rate))


async def recorded_until_the_end_of(base: Path, reply: str, *, replies: int) -> None:
    """Wait until the WAV (written HOLD_S behind real time) reaches the end of the last of
    ``replies`` replies, ``reply``: from its ``assistant.audio_started``, its length."""
    wav_path, transcript = recording_paths(base)
    length = tones.duration_ms(reply) / 1000
    async with asyncio.timeout(30):
        while True:
            # Only whole lines: the last one may be half-written.
            written = transcript.read_text().split("\n")[:-1]
            starts = [
                line
                for line in map(json.loads, written)
                if line["type"] == "assistant.audio_started"
            ]
            if len(starts) >= replies:
                with wave.open(str(wav_path), "rb") as wav:
                    seconds = wav.getnframes() / wav.getframerate()
                if seconds >= starts[replies - 1]["at"] + length:
                    return
            await asyncio.sleep(FLUSH_S)


async def test_a_call_with_a_tool_and_a_barge_in_is_recorded(tmp_path: Path) -> None:
    base = tmp_path / "calls" / "first"
    # Replies arrive ahead of playback, as they do from OpenAI (and on a busy machine
    # still do: audio arriving slower than it plays would stutter in the recording, as it
    # would from a speaker).
    async with Emulator(speed=8.0, script=SCRIPT) as emu:
        async with liveloop.connect(
            api_key=KEY, base_url=emu.base_url, tools=[lookup_weather], record=base
        ) as session:
            heard, tools = Heard(session), ToolLog(session)
            await speak(session, "hello there", pace=1.0)
            await heard.wait_for("you said: hello there")
            await session.send_text("what is the weather in paris")
            await tools.wait_for_results(1)
            await heard.wait_for_lines(2, timeout=20)  # the answer about the weather, heard
            await speak(session, "tell me a story", pace=1.0)
            await heard.wait_for("this answer goes on and on", timeout=30)
            await speak(session, "stop", pace=1.0)
            await heard.wait_for_interruption()
            await heard.wait_for("you said: stop")
            # It arrived 8x faster than it plays: the call goes on until the recording's
            # speaker has played it out.
            await recorded_until_the_end_of(base, "you said: stop", replies=4)
        ended = session.metrics
    wav_path, transcript = recording_paths(base)
    rate, user, assistant, seconds = channels(wav_path)
    lines = records(transcript)
    summary = lines[-1]
    assert summary["type"] == "summary"
    # Bounded by the session: the audio ends when the session did.
    assert abs(seconds - summary["duration_s"]) < 0.1

    # Left: the user's words; right: the assistant's, as the user heard them, each reply
    # from where its audio started.
    left = heard_text(user, rate)
    assert left.index("hello there") < left.index("tell me a story") < left.index("stop")
    starts = [line for line in lines if line["type"] == "assistant.audio_started"]
    bounds = [int(line["at"] * rate) for line in starts] + [len(assistant)]
    replies = [heard_text(assistant[a:b], rate) for a, b in itertools.pairwise(bounds)]
    assert len(replies) == 4, replies
    # (Replies can follow each other without a gap: a boundary in milliseconds may catch
    # a sliver of the next one.)
    assert replies[0].startswith("you said: hello there")
    # (It may still be playing when "stop" cuts the speaker: its beginning is certain.)
    assert replies[1].startswith("the lookupweather tool says")
    # The story plays after what was still playing (replies arrive 8x faster than they
    # play) and is cut when "stop" begins: whatever of it was heard, it is its beginning.
    assert "this answer goes on and on".startswith(replies[2][:26])
    assert len(replies[2]) < len(LONG) * 0.8  # cut off
    assert replies[3].startswith("you said: stop")

    [barge_in] = [line for line in lines if line["type"] == "barge_in"]
    assert barge_in["response_id"] == starts[2]["response_id"]
    cut_at = int(barge_in["at"] * rate)
    # Nothing of the interrupted reply plays after the barge-in: silence until "stop" is
    # answered.
    assert not np.abs(assistant[cut_at + rate // 50 : bounds[3] - rate // 50]).any()
    heard_ms = max(0.0, (barge_in["at"] - starts[2]["at"]) * 1000)
    assert barge_in["heard_ms"] == pytest.approx(heard_ms, abs=25)

    kinds = [line["type"] for line in lines]
    assert kinds[0] == "session" and lines[0]["sample_rate"] == rate
    turns = [line["text"] for line in lines if line["type"] == "user.turn"]
    assert turns == ["hello there", "what is the weather in paris", "tell me a story", "stop"]
    [call] = [line for line in lines if line["type"] == "tool.call"]
    [result] = [line for line in lines if line["type"] == "tool.result"]
    assert (call["name"], json.loads(call["arguments"])) == ("lookup_weather", {"city": "Paris"})
    assert json.loads(result["output"]) == {"city": "Paris", "sky": "sunny"}
    said = [line for line in lines if line["type"] == "assistant.said"]
    assert any(line.get("cut") for line in said)
    assert [line["latency_ms"] for line in said if "latency_ms" in line]
    assert summary["tokens"] == ended.total_tokens > 0
    assert summary["turns"] == 4 and summary["tool_calls"] == 1
    usage = [line["usage"] for line in lines if line["type"] == "response.done"]
    assert all(u["total_tokens"] > 0 for u in usage)


async def test_the_files_are_written_while_the_call_goes_on(tmp_path: Path) -> None:
    base = tmp_path / "live"
    async with (
        Emulator(speed=1.0) as emu,
        liveloop.connect(api_key=KEY, base_url=emu.base_url, record=base) as session,
    ):
        heard = Heard(session)
        started = time.monotonic()
        await speak(session, "a crash would lose at most a second of this", pace=1.0)
        await heard.wait_for("you said")
        elapsed = time.monotonic() - started
        wav_path, transcript = recording_paths(base)
        _, user, _, seconds = channels(wav_path)  # readable mid-call: sizes are current
        # What a crash now would lose: the audio held back for late barge-ins, and one
        # flush period.
        assert seconds >= elapsed - (HOLD_S + FLUSH_S + 0.25)
        assert "user.turn" in [line["type"] for line in records(transcript)]
        assert np.abs(user).any()


async def test_app_record_dir_records_each_session(tmp_path: Path) -> None:
    app = liveloop.App()

    @app.session("echo", record_dir=tmp_path / "rec")
    async def echo(session: liveloop.Session) -> None:
        await session.say("hello caller")

    async with Emulator(speed=4.0) as emu:
        for _ in range(2):
            async with app.start("echo", api_key=KEY, base_url=emu.base_url) as run:
                await run.wait(10)
    transcripts = sorted((tmp_path / "rec").glob("*-echo-*.jsonl"))
    assert len(transcripts) == 2
    for transcript in transcripts:
        said = [line for line in records(transcript) if line["type"] == "assistant.said"]
        assert [line["text"] for line in said] == ["hello caller"]
        assert transcript.with_suffix(".wav").is_file()


async def test_a_sideband_is_recorded_as_a_transcript(tmp_path: Path) -> None:
    base = tmp_path / "sideband"
    async with Emulator(speed=4.0) as emu:
        call_id = await emu.open_headless_call()
        async with liveloop.connect(
            transport="webrtc_sideband",
            call_id=call_id,
            api_key=KEY,
            base_url=emu.base_url,
            record=base,
        ) as session:
            await emu.speak_into_call(call_id, tones.encode("hello there") + bytes(48000))
            turn = await asyncio.wait_for(session.input(), 10)
            assert turn.text == "hello there"
        await emu.hangup(call_id)
    wav_path, transcript = recording_paths(base)
    assert not wav_path.exists()
    lines = records(transcript)
    assert "outside this process" in lines[0]["audio"]
    assert [line["text"] for line in lines if line["type"] == "user.turn"] == ["hello there"]


def test_liveloop_report_prints_the_conversation_and_draws_it(tmp_path: Path) -> None:
    base = tmp_path / "demo"
    demo = subprocess.run(
        [str(LIVELOOP), "demo", "--record", str(base)],
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert demo.returncode == 0, demo.stderr
    report = subprocess.run(
        [str(LIVELOOP), "report", str(base) + ".jsonl"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.returncode == 0, report.stderr
    out = report.stdout
    assert "user       hello, can i book a table for two at half past seven" in out
    assert "assistant  Booked: a table for 2 at 19:30, booking number 1." in out
    assert 'tool       book_table({"name": "Ann", "people": 2, "time": "19:30"})' in out
    assert "end        3 user turn(s), 1 tool call(s)" in out
    png = base.with_suffix(".png")
    assert out.rstrip().endswith(f"timeline: {png}")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rate, user, assistant, _ = channels(base.with_suffix(".wav"))
    assert "do you have a terrace" in heard_text(user, rate)
    assert "yes, we have a terrace with six tables." in heard_text(assistant, rate)


def test_liveloop_report_of_nothing_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(LIVELOOP), "report", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    missing = tmp_path / "missing"
    assert result.stderr.strip().splitlines() == [
        f"error: no recording at {missing}: {missing}.jsonl does not exist"
    ]
