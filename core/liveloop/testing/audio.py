"""A sound card for tests: :class:`FakeAudio` speaks tone speech into ``liveloop talk`` as
its microphone and keeps, as its speaker, exactly what was played, both in real time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ..audio_io import AudioBackend, AudioDeviceError, AudioStreams, DeviceInfo
from ._emulator import tones_module
from .voice import END_OF_TURN_MS

__all__ = ["FakeAudio", "FakeStreams"]


class FakeAudio(AudioBackend):
    """Devices named ``fake microphone`` and ``fake speaker``; ``streams`` is the last
    opened pair (its ``heard`` is everything the speaker played)."""

    def __init__(self) -> None:
        self.streams: FakeStreams | None = None
        self.opened = asyncio.Event()

    def devices(self) -> list[DeviceInfo]:
        return [
            DeviceInfo(0, "fake microphone", 1, 0, 24000.0),
            DeviceInfo(1, "fake speaker", 0, 1, 24000.0),
        ]

    def open(
        self, *, rate: int, input_device: str | None, output_device: str | None, block_ms: int
    ) -> AudioStreams:
        for wanted, name in ((input_device, "fake microphone"), (output_device, "fake speaker")):
            if wanted is not None and wanted.lower() not in name:
                raise AudioDeviceError(f"no device matches {wanted!r}")
        self.streams = FakeStreams(rate, block_ms)
        self.opened.set()
        return self.streams


class FakeStreams(AudioStreams):
    """Real-time microphone and speaker without hardware: the microphone gives silence or
    what :meth:`say` queued, a block every ``block_ms``; the speaker plays a block of what
    is queued at the same pace into :attr:`heard`."""

    def __init__(self, rate: int, block_ms: int) -> None:
        self.rate = rate
        self._block = rate * block_ms // 1000
        self._block_s = block_ms / 1000
        self._speech = bytearray()
        self._pending = bytearray()
        self._queued = 0
        self._played = 0
        self.heard = bytearray()
        """Everything the speaker played (PCM16), silence included."""
        self.clears = 0
        self._started = time.monotonic()
        self._blocks = 0
        self._closed = False
        self._ticked = asyncio.Event()

    def say(self, text: str, silence_ms: int = END_OF_TURN_MS) -> None:
        """Speak ``text`` into the microphone as tone speech, then ``silence_ms``."""
        speech: bytes = tones_module().encode(text, self.rate)
        self._speech.extend(speech + bytes(self.rate * silence_ms // 1000 * 2))

    @property
    def speaking(self) -> bool:
        return bool(self._speech)

    async def read(self) -> bytes:
        if self._closed:
            raise AudioDeviceError("the fake microphone is closed")
        # Paced by the clock (not by sleeps adding up): block n is due at n * block_ms.
        self._blocks += 1
        await asyncio.sleep(
            max(0.0, self._started + self._blocks * self._block_s - time.monotonic())
        )
        self._play_block()
        size = self._block * 2
        block = bytes(self._speech[:size]).ljust(size, b"\0")
        del self._speech[:size]
        return block

    def _play_block(self) -> None:
        # The speaker keeps time with the microphone: one block played per block read.
        size = self._block * 2
        chunk = bytes(self._pending[:size])
        del self._pending[:size]
        self._played += len(chunk) // 2
        self.heard.extend(chunk.ljust(size, b"\0"))
        self._ticked.set()

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float = 30.0, *, every_ms: int = 100
    ) -> None:
        """Wait (at most ``timeout`` s) until ``condition()`` holds, checking it after each
        ``every_ms`` of blocks played (a condition that decodes all it heard costs more as
        the call goes on: checked at every block, it falls behind on a busy machine)."""
        every = max(1, every_ms * self.rate // 1000)  # samples played between checks

        async def wait() -> None:
            checked = -every
            while True:
                played = len(self.heard) // 2
                if played - checked >= every:
                    checked = played
                    if condition():
                        return
                self._ticked.clear()
                await self._ticked.wait()

        await asyncio.wait_for(wait(), timeout)

    def play(self, pcm: bytes) -> None:
        self._pending.extend(pcm)
        self._queued += len(pcm) // 2

    def clear(self) -> None:
        self.clears += 1
        self._queued -= len(self._pending) // 2
        self._pending.clear()

    @property
    def queued_frames(self) -> int:
        return self._queued

    @property
    def played_frames(self) -> int:
        return self._played

    async def aclose(self) -> None:
        self._closed = True
