"""RESULTS.md sections on one client's cost: the emulator's capacity (§0), per-event cost
(§1), JSON decoding and added latency (§2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from _report_util import fmt, get, ratio, skip_note

if TYPE_CHECKING:
    from report import Report


def capacity(rep: Report) -> None:
    doc = rep.runs.get("emulator_capacity") or {}
    rep.add("## 0. The emulator's own capacity", "")
    if note := skip_note(doc):
        rep.add(note, "")
    t, r = doc.get("throughput") or {}, doc.get("realtime") or {}
    rep.table(
        ["measure", "value"],
        [
            ["events/s it delivers (one client, no pacing)", t.get("events_per_s")],
            ["emulator CPU per event (µs)", t.get("emulator_cpu_us_per_event")],
            [
                "event rate the per-event benchmark asks (at most)",
                t.get("event_cost_pacing_events_per_s_at_most"),
            ],
            ["real-time sessions measured", r.get("sessions")],
            ["emulator's event loop", r.get("emulator_loop")],
            [
                "emulator CPU ms per real-time session-second",
                r.get("emulator_cpu_ms_per_session_second"),
            ],
            [
                "clients kept real time (lag p95 ≤ one chunk)",
                f"{r.get('real_time_pace')} (p95 {fmt(get(r, 'client_lag_ms', 'p95'))} ms)"
                if r
                else None,
            ],
            [
                "real-time sessions one emulator core serves (at 90%)",
                r.get("sessions_one_emulator_core_serves"),
            ],
        ],
    )
    serves = r.get("sessions_one_emulator_core_serves")
    rep.target(
        "the emulator serves ≥ 500 real-time sessions (audio both ways) per core",
        f"{fmt(serves)} (from its CPU per session at {fmt(r.get('sessions'))} sessions"
        + (")" if r.get("real_time_pace", True) else "; the clients fell behind real time)"),
        None if serves is None else serves >= 500,
        "absolute: this machine's",
    )
    rep.add(
        f"The emulator delivers events faster than the per-event benchmark asks, so "
        f"that benchmark measures the client. For real-time sessions, one emulator core "
        f"serves about **{fmt(serves)}** sessions with audio both ways: concurrency "
        "steps beyond that are limited by the server, and the concurrency benchmark "
        "marks them so (it watches the emulator's CPU) instead of blaming the client. "
        "Past that point the sessions-per-core figure for the client is its CPU per "
        "session, extrapolated to one core.",
        "",
    )


def event_cost(rep: Report) -> None:
    doc = rep.runs.get("event_cost") or {}
    uv_doc = rep.runs.get("event_cost+uvloop") or {}
    agents_doc = rep.runs.get("event_cost+agents") or {}
    rep.add("## 1. Per-event cost", "")
    rep.add(
        "CPU time (`time.process_time`, measured process pinned to one core) per server "
        "event for whole responses: a typed message, then the emulator's echo as "
        f"tone-speech audio deltas interleaved with transcript deltas in the full "
        f"response cascade ({fmt(get(doc, 'traffic', 'events_per_response'))} events "
        f"per response, {fmt(get(doc, 'traffic', 'reply_chars'))} characters). "
        "Contenders alternate within each repetition of a run. Three runs: asyncio "
        "(limit, floor, liveloop, SDK), uvloop (limit, floor, liveloop) and the pinned "
        "openai-agents environment (its own floor). **limit**: the bytes arrive on a plain "
        "asyncio protocol and nothing is parsed, the least any client of that loop can "
        "cost; **floor**: `websockets` + `json.loads` + `base64.b64decode`, the least a "
        "client that reads every event costs with the usual library.",
        "",
    )
    for label, d in (("asyncio run", doc), ("uvloop run", uv_doc), ("agents run", agents_doc)):
        if note := skip_note(d):
            rep.add(f"{label}: {note}", "")
    floor = get(doc, "results", "floor", "cpu_us_per_event", "median")
    live = get(doc, "results", "liveloop", "cpu_us_per_event", "median")
    rows = []
    axis: dict[str, dict[str, Any]] = {}
    for loop, d in (("asyncio", doc), ("uvloop", uv_doc)):
        for name in ("limit", "floor", "liveloop", "sdk"):
            r = get(d, "results", name)
            if r is None:
                continue
            s = r["cpu_us_per_event"]
            label = f"{name} ({loop})"
            axis[label] = s
            rows.append(
                [
                    label,
                    s.get("median"),
                    f"{s.get('p5')}–{s.get('p95')}",
                    s.get("n"),
                    r.get("ratio_vs_floor"),
                    ratio(s.get("median"), floor),
                    ratio(s.get("median"), live),
                ]
            )
    agents_ratio = get(agents_doc, "results", "agents", "ratio_vs_floor")
    agents_s = get(agents_doc, "results", "agents", "cpu_us_per_event")
    if agents_s is not None:
        live_ratio = get(doc, "results", "liveloop", "ratio_vs_floor")
        # Its own process and floor: placed on this axis through the floors.
        on_axis = None if floor is None or agents_ratio is None else agents_ratio * floor
        axis["agents (asyncio, own run)"] = {
            k: (v * floor / agents_s["median"] if floor and agents_s["median"] else None)
            for k, v in agents_s.items()
            if k in ("median", "p5", "p95")
        }
        rows.append(
            [
                "agents (asyncio, own run)",
                agents_s.get("median"),
                f"{agents_s.get('p5')}–{agents_s.get('p95')}",
                agents_s.get("n"),
                agents_ratio,
                agents_ratio,
                ratio(on_axis, live) if live_ratio else None,
            ]
        )
    rep.table(
        [
            "contender (loop)",
            "µs/event (median)",
            "p5–p95",
            "reps",
            "ratio vs its run's floor",
            "ratio vs asyncio floor",
            "ratio vs liveloop (asyncio)",
        ],
        rows,
    )
    rep.add(
        "Ratios across runs (uvloop, agents) compare separate processes run one after "
        "the other; the agents row is placed on the axis through its own run's floor "
        "(agents/its floor × the asyncio floor).",
        "",
    )
    live_ratio = get(doc, "results", "liveloop", "ratio_vs_floor")
    live_uv = get(uv_doc, "results", "liveloop", "cpu_us_per_event", "median")
    uv_vs_floor = ratio(live_uv, floor)
    versus = (
        None if live_ratio is None or agents_ratio is None else round(agents_ratio / live_ratio, 2)
    )
    rep.target(
        "per event: no regression from the split, liveloop ≤ 1.35x the floor (asyncio)",
        f"{fmt(live_ratio)}x",
        None if live_ratio is None else live_ratio <= 1.35,
        "ratio",
    )
    rep.target(
        "per event: liveloop ≤ 1.1x the floor (asyncio)",
        f"{fmt(live_ratio)}x",
        None if live_ratio is None else live_ratio <= 1.1,
        "ratio",
    )
    rep.target(
        "per event: liveloop on uvloop ≤ 0.9x the asyncio floor",
        f"{fmt(uv_vs_floor)}x",
        None if uv_vs_floor is None else uv_vs_floor <= 0.9,
        "ratio across two runs",
    )
    rep.target(
        "per event: openai-agents ≥ 1.5x liveloop",
        f"{fmt(versus)}x",
        None if versus is None else versus >= 1.5,
        "ratio of floor-normalized costs",
    )
    rep.bar_chart("event_cost.png", "CPU per server event (µs, median; p5–p95)", axis)
    profile = doc.get("profile")
    if profile:
        rep.add(
            "### Profile of liveloop's receive path",
            "",
            f"cProfile (CPU-time clock) over {profile['events']} events; own time per "
            "event of the top functions (profiling inflates absolute numbers; the order "
            "is what matters):",
            "",
        )
        rows = [
            [
                r["function"],
                f"`{r['where']}`",
                r["calls_per_event"],
                r["own_us_per_event"],
                r["cum_us_per_event"],
            ]
            for r in profile["top_by_own_time"][:15]
        ]
        rep.table(["function", "where", "calls/event", "own µs/event", "cum µs/event"], rows)


def json_decode(rep: Report) -> None:
    doc = rep.runs.get("json_decode") or {}
    rep.add("### JSON libraries for provider events", "")
    if note := skip_note(doc):
        rep.add(note, "")
    rep.add(
        f"Decoding the {fmt(doc.get('events'))} frames of one emulator response "
        f"(about {fmt(doc.get('bytes_per_event'))} bytes each), audio base64-decoded as "
        "a client must (`bench/json_decode.py`): CPU per event and ratio to `json`.",
        "",
    )
    rows = [
        [name, r["cpu_us_per_event"].get("median"), r.get("ratio_vs_json")]
        for name, r in (doc.get("results") or {}).items()
    ]
    rep.table(["library", "µs/event (median)", "ratio vs json"], rows)


def latency(rep: Report) -> None:
    doc = rep.runs.get("latency") or {}
    agents_doc = rep.runs.get("latency+agents") or {}
    rep.add("## 2. Added latency", "")
    rep.add(
        "`turn`: from the moment the emulator sent the turn's transcription (a server-side "
        "stamp on the same monotonic clock, `bench/_stamped_emulator.py`; the utterance "
        "ends with the chunk in which the server VAD ends the turn) to the user turn in the "
        "app's hands (liveloop: `input()` returns). The clock no longer starts after the "
        "client's own last send, so a slower sender does not look faster; the two other "
        "clocks are shown for comparison (`from speech_stopped` includes the emulator "
        "decoding the utterance; `from last send` is the old, sender-biased one). `say`: "
        "the contender's share of request -> first audio chunk in the app's hands (liveloop: "
        "`say()` -> first chunk out of `audio_out()`): to the `response.create`'s arrival at "
        "the emulator, plus from the first audio delta leaving the emulator (server stamps); "
        "the emulator's time in between (`say, server`: the same message, the same work) "
        "and the end-to-end time are shown too. Added = the contender's p50/p95 minus the "
        "floor's p50/p95 "
        f"in the same run ({fmt(doc.get('trials'))} trials, contenders alternating); "
        "`paired` is the median of the per-trial differences to the floor with its 95% "
        "bootstrap interval: an interval that holds 0 means the difference is noise at "
        "this load, not a cost.",
        "",
    )
    clock = doc.get("clock") or {}
    if clock.get("speech_stopped_after_last_append_ms"):
        rep.add(
            "Check of the clock: speech_stopped left the emulator "
            f"{clock['speech_stopped_after_last_append_ms']} ms after the last chunk "
            "arrived (p50/p95/max); turns without server stamps: "
            f"{clock.get('turns_without_server_stamps') or 'none'}.",
            "",
        )
    if note := skip_note(doc):
        rep.add(note, "")
    rows = []
    chart: dict[str, dict[str, float]] = {}
    names = {
        "turn": "turn",
        "say": "say",
        "say_end_to_end": "say, end to end",
        "say_server": "say, server",
        "turn_from_speech_stopped": "turn from speech_stopped",
        "turn_from_last_send": "turn from last send (biased)",
    }
    for source, d in (("", doc), (" (agents run)", agents_doc)):
        for metric, per in (d.get("results") or {}).items():
            for name, r in per.items():
                ms = r["ms"]
                rows.append(
                    [
                        names.get(metric, metric),
                        name + source,
                        ms.get("median"),
                        ms.get("p95"),
                        r["added_p50_ms"],
                        r["added_p95_ms"],
                        _paired(r.get("paired_added_ms")) if name != "floor" else "",
                    ]
                )
                if name != "floor" and metric in ("turn", "say"):
                    chart.setdefault(f"{metric} p50", {})[name + source] = r["added_p50_ms"]
                    chart.setdefault(f"{metric} p95", {})[name + source] = r["added_p95_ms"]
    rep.table(
        [
            "event",
            "contender",
            "p50 ms",
            "p95 ms",
            "added p50 ms",
            "added p95 ms",
            "paired: median difference [95% CI] ms",
        ],
        rows,
    )
    if agents_note := skip_note(agents_doc):
        rep.add(f"openai-agents: {agents_note}", "")
    for metric in ("turn", "say"):
        r = get(doc, "results", metric, "liveloop")
        ok = None if r is None else r["added_p50_ms"] <= 1 and r["added_p95_ms"] <= 2
        rep.target(
            f"added latency ({metric}): ≤ 1 ms p50, ≤ 2 ms p95",
            "–" if r is None else f"{r['added_p50_ms']} / {r['added_p95_ms']} ms",
            ok,
            "difference against the floor, same run; trial by trial: "
            f"{_paired(None if r is None else r.get('paired_added_ms'))} ms (median [95% CI])",
        )
    rep.grouped_chart("latency.png", "Added latency vs the floor (ms)", chart)


def _paired(p: dict[str, Any] | None) -> str:
    if not p or not p.get("n"):
        return "–"
    low, high = p["ci95"]
    return f"{p['median']} [{low}, {high}]"
