"""The WebRTC side of the emulator: calls answered with aiortc.

A call is one :class:`~liveloop_emulator.realtime.RealtimeFrontEnd` reached three ways: the
client's ``oai-events`` data channel (JSON events both ways), its audio track (48 kHz Opus in,
resampled to 24 kHz for turn detection and transcription), and any number of sideband
WebSockets attached with ``/v1/realtime?call_id=`` (:mod:`.call`). The model's speech goes out
on a real-time audio track (:class:`SpeechTrack`) fed by a :class:`PlayoutBuffer`, the engine's
output sink for WebRTC, which also reports when playout starts and stops and what a clear cut
(:mod:`.playout`). Offers are checked before any peer exists, and ICE works on loopback
(:mod:`.offer`).
"""

from __future__ import annotations

from .call import DATA_CHANNEL_LABEL, TextHandler, WebRTCCall, answer, new_call_id, peer_connection
from .offer import check_offer, loopback_addresses, offer_loopback_candidates
from .playout import PREBUFFER_MS, SAMPLE_RATE, HeadlessPlayout, PlayoutBuffer, SpeechTrack

__all__ = [
    "DATA_CHANNEL_LABEL",
    "PREBUFFER_MS",
    "SAMPLE_RATE",
    "HeadlessPlayout",
    "PlayoutBuffer",
    "SpeechTrack",
    "TextHandler",
    "WebRTCCall",
    "answer",
    "check_offer",
    "loopback_addresses",
    "new_call_id",
    "offer_loopback_candidates",
    "peer_connection",
]
