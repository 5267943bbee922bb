"""Sound devices for ``liveloop talk``: a small interface, and its PortAudio implementation.

:class:`AudioBackend` lists devices and opens :class:`AudioStreams`: microphone blocks in,
assistant audio out, ``clear()`` to stop playback at once, and ``played_frames``, how much
of the queued audio the output has really played (so a barge-in truncates to what was
heard). :class:`SoundDeviceBackend` is PortAudio through ``sounddevice``
(``pip install 'liveloop[talk]'``); the testing kit has a fake one.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from .errors import LiveloopError

__all__ = ["AudioBackend", "AudioDeviceError", "AudioStreams", "DeviceInfo", "SoundDeviceBackend"]


class AudioDeviceError(LiveloopError):
    """No audio backend, or no such device; the message says what to do."""


@dataclass(frozen=True)
class DeviceInfo:
    """One sound device: its index and name, channel counts, default sample rate."""

    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float


class AudioStreams(ABC):
    """An open microphone and speaker, PCM16 mono at ``rate``."""

    rate: int

    @abstractmethod
    async def read(self) -> bytes:
        """The next block of microphone audio (waits for it)."""

    @abstractmethod
    def play(self, pcm: bytes) -> None:
        """Queue ``pcm`` after what is queued already."""

    @abstractmethod
    def clear(self) -> None:
        """Stop playing now: drop everything queued."""

    @property
    @abstractmethod
    def queued_frames(self) -> int:
        """Frames queued for playback so far, in all (cleared ones count as not queued)."""

    @property
    @abstractmethod
    def played_frames(self) -> int:
        """Frames of queued audio the output has really played so far, in all."""

    @abstractmethod
    async def aclose(self) -> None:
        """Stop and release the devices."""


class AudioBackend(ABC):
    """Where sound devices come from."""

    @abstractmethod
    def devices(self) -> list[DeviceInfo]:
        """Every device, inputs and outputs."""

    @abstractmethod
    def open(
        self, *, rate: int, input_device: str | None, output_device: str | None, block_ms: int
    ) -> AudioStreams:
        """Open the microphone and the speaker (default devices when ``None``)."""


class SoundDeviceBackend(AudioBackend):
    """PortAudio through ``sounddevice``."""

    def __init__(self) -> None:
        try:
            import sounddevice
        except ImportError:
            raise AudioDeviceError(
                "liveloop talk needs sounddevice: pip install 'liveloop[talk]'"
            ) from None
        except OSError:  # sounddevice imports, PortAudio (its C library) is missing
            raise AudioDeviceError(
                "liveloop talk needs the PortAudio library: apt install libportaudio2 "
                "(Debian, Ubuntu) or brew install portaudio (macOS)"
            ) from None
        self._sd: Any = sounddevice

    def devices(self) -> list[DeviceInfo]:
        return [
            DeviceInfo(
                index=int(device["index"]),
                name=str(device["name"]),
                inputs=int(device["max_input_channels"]),
                outputs=int(device["max_output_channels"]),
                default_rate=float(device["default_samplerate"]),
            )
            for device in self._sd.query_devices()
        ]

    def open(
        self, *, rate: int, input_device: str | None, output_device: str | None, block_ms: int
    ) -> AudioStreams:
        inp, out = self._find(input_device, "input"), self._find(output_device, "output")
        try:
            self._sd.check_input_settings(device=inp, channels=1, dtype="int16", samplerate=rate)
            self._sd.check_output_settings(device=out, channels=1, dtype="int16", samplerate=rate)
        except Exception as exc:  # PortAudioError or ValueError, with PortAudio's reason
            raise AudioDeviceError(f"the sound device cannot do {rate} Hz mono: {exc}") from None
        return _PortAudioStreams(self._sd, rate, inp, out, rate * block_ms // 1000)

    def _find(self, wanted: str | None, kind: str) -> int | None:
        if wanted is None:
            return None
        found = [
            device
            for device in self.devices()
            if (device.inputs if kind == "input" else device.outputs) > 0
            and (wanted == str(device.index) or wanted.lower() in device.name.lower())
        ]
        if not found:
            raise AudioDeviceError(
                f"no {kind} device matches {wanted!r} (liveloop talk --devices lists them)"
            )
        return found[0].index


class _PortAudioStreams(AudioStreams):
    # PortAudio calls back on its own thread: the queue and counters are under a lock, and
    # microphone blocks cross to the event loop through call_soon_threadsafe.

    def __init__(self, sd: Any, rate: int, inp: int | None, out: int | None, block: int) -> None:
        self.rate = rate
        self._loop = asyncio.get_running_loop()
        self._mic: asyncio.Queue[bytes] = asyncio.Queue(maxsize=50)
        self._lock = threading.Lock()
        self._pending = bytearray()
        self._queued = 0
        self._consumed = 0
        self._latency = 0
        try:
            self._input = sd.RawInputStream(
                samplerate=rate, blocksize=block, device=inp, channels=1, dtype="int16",
                callback=self._on_input,
            )  # fmt: skip
            self._output = sd.RawOutputStream(
                samplerate=rate, blocksize=block, device=out, channels=1, dtype="int16",
                callback=self._on_output,
            )  # fmt: skip
            self._input.start()
            self._output.start()
        except Exception as exc:
            raise AudioDeviceError(f"cannot open the sound devices: {exc}") from None
        self._latency = int(float(self._output.latency) * rate)

    def _on_input(self, data: Any, frames: int, when: Any, status: Any) -> None:
        block = bytes(data)
        self._loop.call_soon_threadsafe(self._put_mic, block)

    def _put_mic(self, block: bytes) -> None:
        if self._mic.full():
            self._mic.get_nowait()  # a stalled reader loses the oldest audio, not memory
        self._mic.put_nowait(block)

    def _on_output(self, data: Any, frames: int, when: Any, status: Any) -> None:
        size = frames * 2
        with self._lock:
            chunk = bytes(self._pending[:size])
            del self._pending[:size]
            self._consumed += len(chunk) // 2
        data[:] = chunk.ljust(size, b"\0")

    async def read(self) -> bytes:
        return await self._mic.get()

    def play(self, pcm: bytes) -> None:
        with self._lock:
            self._pending.extend(pcm)
            self._queued += len(pcm) // 2

    def clear(self) -> None:
        with self._lock:
            self._queued -= len(self._pending) // 2
            self._pending.clear()

    @property
    def queued_frames(self) -> int:
        return self._queued

    @property
    def played_frames(self) -> int:
        # What went to the device, less what its buffers still hold (its output latency).
        with self._lock:
            return max(0, self._consumed - self._latency)

    async def aclose(self) -> None:
        for stream in (self._input, self._output):
            try:
                stream.abort()
                stream.close()
            except Exception:  # closing a device that vanished: nothing left to release
                continue
