"""RESULTS.md sections on scale and life cycle: concurrency (§3, §4), start-up (§5) and
teardown (§6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from _report_util import fmt, get, ratio, skip_note

if TYPE_CHECKING:
    from report import Report


def concurrency(rep: Report, key: str, title: str, target: int) -> None:
    doc = rep.runs.get(key) or {}
    agents_doc = rep.runs.get(f"{key}+agents") or {}
    uv_doc = rep.runs.get(f"{key}+uvloop") or {}
    rep.add(f"## {title}", "")
    if doc.get("server") == "light":
        rep.add(
            "Server: the light reference server (`bench/_light_server.py`), which replays "
            "the emulator's recorded reply with new ids and real-time pacing and drops the "
            "input audio, so the client, not the server, runs out of CPU first. Sessions "
            "per core by CPU come from the largest step within the lag limit, or, when "
            "the shared machine's other load pushed every step over it, from the largest "
            "step that ran without errors (`cpu_from_step` in results.json).",
            "",
        )
    if note := skip_note(doc):
        rep.add(note, "")
    rows = []
    series: dict[str, list[tuple[int, float, float]]] = {}
    summaries = []
    for source, d in (("", doc), (" (uvloop run)", uv_doc), (" (agents run)", agents_doc)):
        for name, r in (d.get("results") or {}).items():
            label = name + source
            for s in r["steps"]:
                if s.get("error"):
                    rows.append(
                        [label, s["sessions"], "–", "–", "–", "–", "–", "–", s.get("limit")]
                    )
                    continue
                rows.append(
                    [
                        label,
                        s["sessions"],
                        s["lag_ms"]["p95"],
                        s["cpu_share_of_core"],
                        s["cpu_ms_per_session_second"],
                        s["emulator_cpu_share_of_core"],
                        s["rss_kb_per_idle_session"],
                        s["rss_kb_per_active_session"],
                        s.get("limit") or "ok",
                    ]
                )
                series.setdefault(label, []).append(
                    (s["sessions"], s["lag_ms"]["p95"], s["cpu_ms_per_session_second"])
                )
            summaries.append(
                [
                    label,
                    r["max_sessions_within_limit"],
                    r["stopped_because"],
                    r["cpu_ms_per_session_second"],
                    r["sessions_per_core_by_cpu"],
                    r["rss_kb_per_idle_session"],
                    r["rss_kb_per_active_session"],
                ]
            )
    rep.table(
        [
            "contender",
            "sessions",
            "p95 lag ms",
            "CPU share of core",
            "CPU ms per session-second",
            "emulator CPU share",
            "RSS KB/idle session",
            "RSS KB/active session",
            "limit",
        ],
        rows,
    )
    rep.add("Summary (largest step within the limit):", "")
    rep.table(
        [
            "contender",
            "max sessions within limit",
            "stopped because",
            "CPU ms per session-second",
            "sessions per core by CPU",
            "RSS KB/idle",
            "RSS KB/active",
        ],
        summaries,
    )
    if agents_note := skip_note(agents_doc):
        rep.add(f"openai-agents: {agents_note}", "")
    live = get(doc, "results", "liveloop")
    if live is not None:
        measured = live["max_sessions_within_limit"]
        by_cpu = live["sessions_per_core_by_cpu"]
        stopped = live["stopped_because"]
        ok = None
        why = ""
        if measured is not None and measured >= target:
            ok = True
        elif "emulator" in (stopped or "") and by_cpu is not None:
            ok = by_cpu >= target
            why = (
                "verdict from CPU per session extrapolated to one core: the direct ramp "
                "stopped at the server's limit (§0), not the client's"
            )
        elif measured is not None:
            ok = False
        rep.target(
            f"{title.split('.')[0]}. ≥ {target} sessions per core",
            f"{fmt(measured)} measured ({stopped}); {fmt(by_cpu)} by CPU per session",
            ok,
            "absolute: this machine's",
            why,
        )
        if key == "concurrency":
            agents = get(agents_doc, "results", "agents", "sessions_per_core_by_cpu")
            versus = ratio(by_cpu, agents)
            rep.target(
                "WebSocket sessions per core by CPU ≥ 2x openai-agents' (both on asyncio)",
                f"{fmt(versus)}x ({fmt(by_cpu)} vs {fmt(agents)})",
                None if versus is None else versus >= 2.0,
                "ratio across two runs",
            )
            on_uvloop = get(uv_doc, "results", "liveloop", "sessions_per_core_by_cpu")
            if on_uvloop is not None:
                versus = ratio(on_uvloop, agents)
                rep.target(
                    "WebSocket sessions per core by CPU ≥ 2x openai-agents' (each on its "
                    "default loop: liveloop uvloop, openai-agents asyncio)",
                    f"{fmt(versus)}x ({fmt(on_uvloop)} vs {fmt(agents)})",
                    None if versus is None else versus >= 2.0,
                    "ratio across two runs; what a user of each gets without configuring",
                )
            idle, active = live["rss_kb_per_idle_session"], live["rss_kb_per_active_session"]
            rep.target(
                "memory: < 150 KB per idle session, < 500 KB per active",
                f"{fmt(idle)} KB idle, {fmt(active)} KB active",
                None if idle is None else idle < 150 and active < 500,
                "absolute (memory travels better than time)",
            )
        else:
            active = live["rss_kb_per_active_session"]
            rep.target(
                "WebRTC: < 600 KB per session",
                f"{fmt(active)} KB per active session",
                None if active is None else active < 600,
                "absolute (memory travels better than time)",
            )
            floor = get(doc, "results", "aiortc", "cpu_ms_per_session_second")
            mine = live["cpu_ms_per_session_second"]
            versus = ratio(mine, floor)
            rep.target(
                "WebRTC: liveloop ≤ 1.3x a raw aiortc peer (CPU per session-second)",
                f"{fmt(versus)}x" if versus is not None else "not measured",
                None if versus is None else versus <= 1.3,
                "ratio",
                "" if versus is not None else "no raw aiortc peer contender in this run",
            )
    rep.line_chart(f"{key}.png", title, series)


def startup(rep: Report) -> None:
    doc = rep.runs.get("startup") or {}
    agents_doc = rep.runs.get("startup+agents") or {}
    rep.add("## 5. Start-up", "")
    if note := skip_note(doc):
        rep.add(note, "")
    r = doc.get("results") or {}
    ra = agents_doc.get("results") or {}
    rows = []
    for label, res in (("", r), (" (agents run)", ra)):
        for section in (
            "import_ms",
            "cli_ms",
            "connect_to_session_created_ms",
            "connect_to_ready_ms",
            "cold_to_ready_ms",
        ):
            for name, s in (res.get(section) or {}).items():
                rows.append(
                    [
                        section,
                        name + label,
                        s.get("median"),
                        f"{s.get('p5')}–{s.get('p95')}",
                        s.get("n"),
                    ]
                )
    rep.table(["measure", "contender", "median ms", "p5–p95", "reps"], rows)
    if r.get("first_connect_to_ready_ms"):
        rep.add(
            f"First connection of a process (loads the plugins): "
            f"{r['first_connect_to_ready_ms']} ms.",
            "",
        )
    if r.get("liveloop_import_breakdown_ms"):
        rep.add(
            "`import liveloop` by package (own time under `-X importtime`, ms): "
            + ", ".join(f"{k} {v}" for k, v in r["liveloop_import_breakdown_ms"].items())
            + ".",
            "",
        )
    if r.get("cold_breakdown_ms"):
        rep.add(
            "A cold liveloop session by package (own time under `-X importtime`, ms; "
            "the bench's helpers included): "
            + ", ".join(f"{k} {v}" for k, v in r["cold_breakdown_ms"].items())
            + ".",
            "",
        )
    imp = get(r, "import_ms", "liveloop", "median")
    base = get(r, "import_ms", "python -c pass", "median")
    cli = get(r, "cli_ms", "liveloop capabilities", "median")
    cold = get(r, "cold_to_ready_ms", "liveloop", "median")
    cold_floor = get(r, "cold_to_ready_ms", "floor", "median")
    cold_ratio = ratio(cold, cold_floor)
    bytecode = doc.get("bytecode") or {}
    rep.add(
        f"Bytecode before timing: compiled {bytecode.get('compiled_ok')}, shares of "
        f"up-to-date `.pyc` {bytecode.get('compiled_share')}, "
        f"`PYTHONDONTWRITEBYTECODE` {bytecode.get('dont_write_bytecode')}.",
        "",
    )
    rep.target(
        "cold start to a ready session ≤ 2.5x the floor's",
        f"{fmt(cold_ratio)}x ({fmt(cold)} vs {fmt(cold_floor)} ms)",
        None if cold_ratio is None else cold_ratio <= 2.5,
        "ratio, same run",
    )
    rep.target(
        "cold start to a ready session ≤ 150 ms (median of 10)",
        f"{fmt(cold)} ms",
        None if cold is None else cold <= 150,
        "absolute: this machine's",
    )
    rep.target(
        "`import liveloop` < 150 ms",
        f"{fmt(imp)} ms (interpreter start alone: {fmt(base)} ms)",
        None if imp is None else imp < 150,
        "absolute: this machine's",
    )
    rep.target(
        "`liveloop capabilities` ≤ 250 ms",
        f"{fmt(cli)} ms",
        None if cli is None else cli <= 250,
        "absolute: this machine's",
    )
    rep.bar_chart(
        "startup.png",
        "import time (ms, median; whiskers p5–p95)",
        {
            **(r.get("import_ms") or {}),
            **{
                f"{k} (agents run)": v
                for k, v in (ra.get("import_ms") or {}).items()
                if k != "floor"
            },
        },
    )


def teardown(rep: Report) -> None:
    doc = rep.runs.get("teardown") or {}
    agents_doc = rep.runs.get("teardown+agents") or {}
    rep.add("## 6. Teardown", "")
    rep.add(
        "`close()` against a raw server that never answers the close frame "
        f"(cap {fmt(doc.get('cap_s'))} s; a capped close was still running). The floor "
        "closes as a careful minimal client would, with liveloop's 0.5 s close timeout; "
        "the SDK and openai-agents keep their defaults (the `websockets` default of 10 s), "
        "as their users get them.",
        "",
    )
    if note := skip_note(doc):
        rep.add(note, "")
    rows = []
    merged: dict[str, Any] = {}
    for label, d in (("", doc), (" (agents run)", agents_doc)):
        for name, r in (d.get("results") or {}).items():
            s = r["close_s"]
            rows.append([name + label, s.get("median"), s.get("max"), s.get("n"), r["capped"]])
            merged[name + label] = s
    rep.table(["contender", "median s", "max s", "reps", "hit the cap"], rows)
    if agents_note := skip_note(agents_doc):
        rep.add(f"openai-agents: {agents_note}", "")
    live = get(doc, "results", "liveloop", "close_s", "max")
    floor = get(doc, "results", "floor", "close_s", "max")
    rep.target(
        "teardown `close()` < 1 s",
        f"{fmt(live)} s (max; the floor, closing as carefully: {fmt(floor)} s)",
        None if live is None else live < 1.0,
        "absolute (a timeout, not CPU)",
    )
    rep.bar_chart("teardown.png", "close() against a silent server (s)", merged)
