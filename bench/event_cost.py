"""Per-event cost: CPU time per server event through each contender's receive path.

Traffic: a typed user message and ``response.create``; the emulator (in its own process,
on its own core, pacing audio ``SPEED`` times faster than real time) echoes a long text as
tone-speech audio deltas interleaved with transcript deltas, inside the full response
cascade. Each repetition measures ``time.process_time()`` of this (pinned) process around
one whole response, divided by the number of server events it carried (counted by the
floor; the traffic is identical for every contender). Contenders alternate within each
repetition, so drifting machine load hits them alike.

``--profile`` adds a cProfile of liveloop's receive path (top functions by own time).
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import pstats
import time
from typing import Any

from _clients import Client, FloorClient, open_clients
from _common import (
    Samples,
    chosen,
    emit,
    emulator,
    header,
    parser,
    pin_self,
    ratio,
    run,
)

SPEED = 50.0
REPLY_TIMEOUT = 60.0
TEXT = (
    "thank you for calling the front desk, your table for four is booked at seven thirty "
    "tonight, we will hold it for fifteen minutes, is there anything else i can do for you?"
)


async def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--profile", action="store_true", help="cProfile liveloop's receive path")
    p.add_argument("--text-repeat", type=int, help="repeat the reply text this many times")
    args = p.parse_args()
    contenders = chosen(args, default=("limit", "floor", "liveloop", "sdk"))
    reps = args.reps or (2 if args.quick else 15)
    repeat = args.text_repeat or (1 if args.quick else 2)
    text = " ".join([TEXT] * repeat) if not args.quick else TEXT[:60]
    core = pin_self()
    doc: dict[str, Any] = {}
    with emulator(args.emulator_url, speed=SPEED) as emu:
        doc.update(header("event_cost", args, emu))
        doc["measured_core"] = core
        doc["traffic"] = {"reply_chars": len(text), "emulator_speed": SPEED}
        skipped: dict[str, str] = {}
        clients = await open_clients(contenders, emu, skipped)
        floor = clients["floor"]
        assert isinstance(floor, FloorClient)
        # Warm-up (imports, first-response paths) and the event count of one response.
        for client in clients.values():
            await client.reply_to_text(text)
        before = floor.received
        await floor.reply_to_text(text)
        events = floor.received - before
        doc["traffic"]["events_per_response"] = events

        cpu = Samples()
        wall = Samples()
        timeouts: dict[str, int] = {}
        order = list(clients)
        for rep in range(reps):
            rotated = order[rep % len(order) :] + order[: rep % len(order)]
            for name in rotated:
                refresh = getattr(clients[name], "refresh", None)
                if refresh is not None:  # the limit client: see LimitClient.refresh
                    await refresh()
                gc.collect()
                c0, w0 = time.process_time(), time.perf_counter()
                try:
                    # Bounded: a response that never completes is reported, not waited on.
                    await asyncio.wait_for(clients[name].reply_to_text(text), REPLY_TIMEOUT)
                except TimeoutError:
                    timeouts[name] = timeouts.get(name, 0) + 1
                    continue
                cpu.add(name, (time.process_time() - c0) / events * 1e6)
                wall.add(name, time.perf_counter() - w0)

        results: dict[str, Any] = {}
        floor_median = cpu.summaries()["floor"]["median"]
        for name, stats in cpu.summaries(3).items():
            results[name] = {
                "cpu_us_per_event": stats,
                "ratio_vs_floor": ratio(stats["median"], floor_median),
                "response_wall_s": wall.summaries()[name],
            }
        doc["results"] = results
        doc["skipped"] = skipped
        doc["reply_timeouts"] = timeouts
        if "liveloop" in clients and "agents" in clients:
            doc["agents_vs_liveloop"] = ratio(
                results["agents"]["cpu_us_per_event"]["median"],
                results["liveloop"]["cpu_us_per_event"]["median"],
            )
        if args.profile and "liveloop" in clients:
            doc["profile"] = await profile(
                clients["liveloop"], text, events, 2 if args.quick else 6
            )
        for client in clients.values():
            await client.close()
    emit(doc)
    return 0


async def profile(client: Client, text: str, events: int, reps: int) -> dict[str, Any]:
    """cProfile of liveloop handling ``reps`` responses: the top functions by own time."""
    profiler = cProfile.Profile(time.process_time)  # CPU time: waiting in epoll is not cost
    profiler.enable()
    for _ in range(reps):
        await client.reply_to_text(text)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total_events = events * reps
    rows = []
    raw: Any = stats.stats  # type: ignore[attr-defined]
    for (filename, line, function), (_cc, ncalls, tottime, cumtime, _) in raw.items():
        rows.append(
            {
                "function": function,
                "where": f"{_short(filename)}:{line}",
                "calls_per_event": round(ncalls / total_events, 2),
                "own_us_per_event": round(tottime / total_events * 1e6, 2),
                "cum_us_per_event": round(cumtime / total_events * 1e6, 2),
            }
        )
    rows.sort(key=lambda row: row["own_us_per_event"], reverse=True)
    total = sum(row["own_us_per_event"] for row in rows)
    return {
        "events": total_events,
        "total_us_per_event_profiled": round(total, 2),
        "top_by_own_time": rows[:25],
        "top_by_cumulative_time": sorted(rows, key=lambda r: r["cum_us_per_event"], reverse=True)[
            :25
        ],
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/core/", "/plugins/", "/lib/python"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


if __name__ == "__main__":
    run(main)
