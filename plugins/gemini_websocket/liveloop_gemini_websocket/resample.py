"""User audio to the 16 kHz Gemini Live takes, with a maintained resampler (soxr)."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import soxr

__all__ = ["TARGET_RATE", "InputResampler"]

TARGET_RATE = 16_000
_AUDIO = re.compile(r'\{\s*"realtimeInput"\s*:\s*\{\s*"audio"')
_RATE = re.compile(r"rate=(\d+)")


class InputResampler:
    """Rewrites ``realtimeInput`` audio messages at another rate to 16 kHz.

    One streaming resampler per input rate keeps its filter state across chunks, so the
    converted stream is continuous. Other messages pass through untouched (and cheaply:
    only a prefix is looked at).
    """

    def __init__(self) -> None:
        self._streams: dict[int, soxr.ResampleStream] = {}

    def convert(self, message: str) -> str:
        """``message``, with its audio at 16 kHz."""
        if _AUDIO.match(message) is None:
            return message
        match = _RATE.search(message, 0, 120)
        if match is None or int(match.group(1)) == TARGET_RATE:
            return message
        rate = int(match.group(1))
        data = json.loads(message)
        audio = data["realtimeInput"]["audio"]
        pcm = np.frombuffer(base64.b64decode(audio["data"]), dtype="<i2")
        stream = self._streams.get(rate)
        if stream is None:
            stream = soxr.ResampleStream(rate, TARGET_RATE, 1, dtype="int16", quality="HQ")
            self._streams[rate] = stream
        out = stream.resample_chunk(pcm).astype("<i2").tobytes()
        audio["data"] = base64.b64encode(out).decode("ascii")
        audio["mimeType"] = f"audio/pcm;rate={TARGET_RATE}"
        return json.dumps(data, separators=(",", ":"))
