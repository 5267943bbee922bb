"""The emulator's own capacity, so the other benchmarks know they measure the client.

- ``throughput``: one floor client asks for long replies from an emulator that paces as
  fast as it can (speed 1000); the events per second it delivers and its CPU per event,
  next to the event rate the per-event-cost benchmark asks of it (its pacing at speed 50).
- ``realtime``: N floor sessions with the concurrency benchmark's traffic (real-time audio
  both ways); the emulator's CPU per session-second, and from it the number of such
  sessions one emulator core can serve, next to the largest count the concurrency
  benchmarks use. The figure holds only at real-time pace: clients that fall behind send
  and read less, which flatters the server, so the run records whether the clients kept up
  (their lag, send ticks and audio against its schedule, within one chunk at p95).
"""

from __future__ import annotations

import time
from typing import Any

import concurrency
import event_cost
from _clients import FloorClient
from _common import CHUNK_MS, emit, emulator, header, parser, pin_self, process_cpu_seconds, run

REALTIME_SESSIONS = 100
"""Sessions of the real-time measurement: enough that the emulator's per-session cost, not
its fixed cost per loop pass, is what is measured; few enough that the measuring client
keeps real time on its core."""


def _emulator_loop() -> str:
    """The loop the standalone emulator runs on (its CLI picks it, as here)."""
    from liveloop_emulator.cli import loop_factory

    try:
        return "asyncio" if loop_factory() is None else "uvloop"
    except ValueError as exc:
        return f"unknown ({exc})"


async def main() -> int:
    p = parser(__doc__ or "")
    args = p.parse_args()
    pin_self()
    reps = args.reps or (1 if args.quick else 5)
    doc: dict[str, Any] = {}
    with emulator(args.emulator_url, speed=1000.0) as emu:
        doc.update(header("emulator_capacity", args, emu))
        client = FloorClient()
        await client.open(emu)
        text = event_cost.TEXT if args.quick else " ".join([event_cost.TEXT] * 2)
        await client.reply_to_text(text)
        rates, cpu_per_event = [], []
        for _ in range(reps):
            before = client.received
            e0, w0 = process_cpu_seconds(emu.pid), time.perf_counter()
            await client.reply_to_text(text)
            wall = time.perf_counter() - w0
            e1 = process_cpu_seconds(emu.pid)
            events = client.received - before
            rates.append(events / wall)
            if e0 is not None and e1 is not None:
                cpu_per_event.append((e1 - e0) / events * 1e6)
        await client.close()
        # event_cost asks for audio at SPEED x real time: 1000/CHUNK_MS chunks per second
        # each, with about as many transcript deltas again (bounded above by 2x).
        asked = 1000 / CHUNK_MS * event_cost.SPEED * 2
        doc["throughput"] = {
            "events_per_s": round(max(rates)),
            "emulator_cpu_us_per_event": round(min(cpu_per_event), 1) if cpu_per_event else None,
            "event_cost_pacing_events_per_s_at_most": round(asked),
            "exceeds_event_cost_load": max(rates) > asked,
            "note": "above its max rate the emulator only spaces the events more; per-event "
            "CPU cost is a ratio of CPU time to events and does not depend on the rate",
        }
    with emulator(args.emulator_url, speed=1.0) as emu:
        count = 2 if args.quick else REALTIME_SESSIONS
        result = await concurrency.step(
            "floor",
            count,
            emu.base_url,
            emu.pid,
            0.5 if args.quick else 5.0,
            "websocket",
            settle=0.3 if args.quick else 1.0,
        )
        share = result["emulator_cpu_share_of_core"]
        per_session = None if not share else share / result["opened"]
        capacity = None if not per_session else int(concurrency.EMULATOR_SATURATED / per_session)
        largest = max(concurrency.FULL_STEPS)
        lag_p95 = result["lag_ms"]["p95"]
        doc["realtime"] = {
            "sessions": count,
            "emulator_loop": None if args.emulator_url else _emulator_loop(),
            "emulator_cpu_share_of_core": share,
            "emulator_cpu_share_per_session": None
            if per_session is None
            else round(per_session, 5),
            "emulator_cpu_ms_per_session_second": None
            if per_session is None
            else round(per_session * 1000, 3),
            "sessions_one_emulator_core_serves": capacity,
            "largest_concurrency_step": largest,
            "exceeds_every_concurrency_step": None if capacity is None else capacity >= largest,
            "client_lag_ms": result["lag_ms"],
            "real_time_pace": lag_p95 is not None and lag_p95 <= CHUNK_MS,
            "failures": result["open_failure_count"] + result["active_error_count"],
        }
    emit(doc)
    return 0


if __name__ == "__main__":
    run(main)
