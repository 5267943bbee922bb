"""WebRTC peer-mode concurrency: liveloop over ``openai/webrtc`` (aiortc: Opus encode and
decode, 24 <-> 48 kHz resampling, paced outgoing track), sessions with audio both ways at
real-time pace in one process on one core, against the emulator's WebRTC endpoint
(``/v1/realtime/calls``); the floor is a raw aiortc peer doing the same media
(``bench/_aiortc_peer.py``). Same method as ``concurrency.py`` (lag limit 50 ms, RSS per
session), plus CPU per session. Reports ``"skipped"`` when the transport or the
emulator's WebRTC endpoint is not available.
"""

from __future__ import annotations

import sys
from typing import Any

import concurrency
from _common import emit, header, parser, run

FULL_STEPS = (5, 10, 20, 30, 40)
QUICK_STEPS = (1,)


def unavailable() -> str | None:
    """Why liveloop's openai/webrtc cannot be benchmarked here (None: it can)."""
    try:
        import liveloop

        pairs = {f"{c.provider}/{c.transport}" for c in liveloop.capabilities()}
    except Exception as exc:
        return f"liveloop capabilities failed: {type(exc).__name__}: {exc}"
    if "openai/webrtc" not in pairs:
        return "the openai/webrtc transport plugin is not installed"
    try:
        from liveloop_emulator import server

        if not hasattr(server, "open_call"):
            return "the emulator has no WebRTC endpoint (/v1/realtime/calls)"
    except Exception as exc:
        return f"the emulator cannot be imported: {exc}"
    return None


async def main() -> int:
    if "--child-step" not in sys.argv and (why := unavailable()):
        p = parser(__doc__ or "")
        concurrency.add_options(p)
        args = p.parse_args()
        doc: dict[str, Any] = header("webrtc_concurrency", args, None)
        doc["skipped"] = why
        doc["results"] = {}
        emit(doc)
        return 0
    return await concurrency.main(
        name="webrtc_concurrency",
        default=("liveloop",),
        transport="webrtc",
        full_steps=FULL_STEPS,
        quick_steps=QUICK_STEPS,
    )


if __name__ == "__main__":
    run(main)
