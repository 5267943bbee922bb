"""The browser example in headless Chromium, through ``liveloop serve``, to the emulator.

Chromium is Debian's (``/usr/bin/chromium``; ``.ci/run`` installs it), driven by
Playwright's Python API pointed at that executable: no browser download. Its fake
microphone plays a WAV of tone speech; the page is ``examples/browser/`` served by
``liveloop serve`` (uvicorn in this process on a free 127.0.0.1 port). The test checks
that the server handler's ``input()`` gets the exact words, and that the audio the page
receives (captured in the page with WebAudio) decodes to the text the handler said.
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import importlib.util
import os
import shutil
import time
import wave
from pathlib import Path

import pytest

import liveloop
from liveloop_emulator import Emulator, tones
from liveloop_serve import create_app, serving

from .conftest import KEY

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SPOKEN = "book a table for two"
# The fake microphone starts with getUserMedia: the call must connect within this silence,
# which is generous because a loaded machine can take seconds to set up the peer.
LEAD_SILENCE_S = 8.0

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

CAPTURE = """() => {
  window.captured = [];
  window.captureRate = 0;
  const poll = setInterval(() => {
    const stream = window.liveloop && window.liveloop.remoteStream;
    if (!stream) return;
    clearInterval(poll);
    const ctx = new AudioContext();
    window.captureRate = ctx.sampleRate;
    const source = ctx.createMediaStreamSource(stream);
    const tap = ctx.createScriptProcessor(4096, 1, 1);
    tap.onaudioprocess = (e) => {
      window.captured.push(new Float32Array(e.inputBuffer.getChannelData(0)));
    };
    source.connect(tap);
    tap.connect(ctx.destination);
    ctx.resume();
    window.captureContext = ctx;
  }, 20);
}"""

FETCH = """() => {
  const total = window.captured.reduce((n, c) => n + c.length, 0);
  const pcm = new Int16Array(total);
  let at = 0;
  for (const chunk of window.captured) {
    for (let i = 0; i < chunk.length; i++) {
      const v = Math.max(-1, Math.min(1, chunk[i]));
      pcm[at++] = v < 0 ? v * 32768 : v * 32767;
    }
  }
  const bytes = new Uint8Array(pcm.buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return { rate: window.captureRate, data: btoa(text) };
}"""


def _speech_wav(path: Path) -> Path:
    rate = 48000
    pcm = (
        b"\x00\x00" * int(rate * LEAD_SILENCE_S)
        + tones.encode(SPOKEN, rate)
        + b"\x00\x00" * int(rate * 3)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path


def load_example() -> object:
    """``examples/browser/app.py`` (its demo token is the page's), which contributes
    ``/caller_token`` and verifies the caller tokens it issues."""
    os.environ["LIVELOOP_DEMO_TOKEN"] = "page-token"
    spec = importlib.util.spec_from_file_location("browser_example_app", EXAMPLE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_browser_example_talks_to_the_handler(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    turns: list[liveloop.SessionTurn] = []
    heard_turn = asyncio.Event()
    said = asyncio.Event()
    example = load_example()
    app = liveloop.App(authorize=example.authorize, auto_respond=False)  # type: ignore[attr-defined]

    @app.session("echo")
    async def echo(session: liveloop.Session) -> None:
        turns.append(await session.input())
        heard_turn.set()
        await session.say(f"you said {turns[0].text}").wait(15)
        said.set()
        await session.input()

    wav = _speech_wav(tmp_path / "speech.wav")
    args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--allow-loopback-in-peer-connection",
        "--no-first-run",
    ]
    async with Emulator(speed=4.0) as emu:
        asgi = create_app(app, provider_base_url=emu.base_url, api_key=KEY, static_dir=EXAMPLE)
        server = asgi.state.liveloop
        async with serving(asgi) as url, async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=args, timeout=20_000
            )
            try:
                page = await browser.new_page()
                page.set_default_timeout(15_000)
                await page.goto(f"{url}/#token=page-token&session=echo")
                await page.evaluate(CAPTURE)
                started = time.monotonic()
                await page.click("#start")
                # Connecting during the lead silence is the precondition: later, the speech
                # would be lost. A timeout here says so rather than failing on the words.
                await page.wait_for_function(
                    "() => window.liveloop.status.startsWith('connected')",
                    timeout=LEAD_SILENCE_S * 1000,
                )
                assert time.monotonic() - started < LEAD_SILENCE_S, "connected after the speech"

                await asyncio.wait_for(heard_turn.wait(), 30)
                assert turns[0].text == SPOKEN
                await asyncio.wait_for(said.wait(), 30)

                # Decode once the speech is over: decoding in this event loop while the
                # emulator (same loop) paces its audio would delay packets, and the page's
                # jitter buffer would stretch the tones.
                expected = f"you said {SPOKEN}"
                heard = ""
                await asyncio.sleep(1.0)
                for _ in range(6):  # a few looks: the page may still be playing the tail
                    captured = await page.evaluate(FETCH)
                    if captured["rate"]:
                        pcm = base64.b64decode(captured["data"])
                        heard = await asyncio.to_thread(tones.decode, pcm, int(captured["rate"]))
                        if heard == expected:
                            break
                    await asyncio.sleep(1.0)
                # On a loaded machine a late packet can stretch or drop a tone in the page's
                # jitter buffer; the point is that the handler's speech reached the page
                # (the exact words are checked on the transcript below).
                similarity = difflib.SequenceMatcher(None, heard, expected).ratio()
                assert similarity >= 0.8, heard
                await page.wait_for_function(  # the transcript from the data channel
                    "(said) => window.liveloop.lines.some(l => l.text === said)",
                    arg=f"you said {SPOKEN}",
                    timeout=15_000,
                )

                await page.click("#hangup")
                for _ in range(200):  # counted polls: stretches with the machine's load
                    if server.active == 0:
                        break
                    await asyncio.sleep(0.05)
                assert server.active == 0
            finally:
                await browser.close()
                liveloop.plugin.unregister(example.ROUTES_PLUGIN)  # type: ignore[attr-defined]
