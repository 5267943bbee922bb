"""Turn ``run.py``'s collected JSON into ``RESULTS.md`` and PNG charts (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FIXES_FILE = "FIXES.md"
"""Hand-written notes on fixes made from these results (included verbatim if present)."""


def _get(d: Any, *path: Any) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ratio(a: Any, b: Any) -> float | None:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return None
    return round(a / b, 3)


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def _skip_note(doc: dict[str, Any] | None) -> str:
    if not doc:
        return "not run"
    if doc.get("failed"):
        return f"failed ({doc['failed']}): `{doc.get('stderr', '')[-300:]}`"
    skipped = doc.get("skipped")
    if isinstance(skipped, str):
        return f"skipped: {skipped}"
    if skipped:
        return "; ".join(f"{k} skipped: {v}" for k, v in skipped.items())
    return ""


class Report:
    def __init__(self, data: dict[str, Any], out: Path) -> None:
        self.data = data
        self.runs: dict[str, Any] = data["runs"]
        self.out = out
        self.lines: list[str] = []
        self.targets: list[tuple[str, str, str, str]] = []
        self.charts: list[str] = []

    def target(self, name: str, measured: str, ok: bool | None, kind: str, why: str = "") -> None:
        """A target row; ``kind`` says what sort of figure it is (a ratio travels between
        machines, an absolute figure is this machine's)."""
        note = kind + (f"; {why}" if why else "")
        self.targets.append((name, measured, _met(ok), note))

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, head: list[str], rows: list[list[Any]]) -> None:
        self.add("| " + " | ".join(head) + " |", "|" + "---|" * len(head))
        for row in rows:
            self.add("| " + " | ".join(_fmt(c) for c in row) + " |")
        self.add("")

    # -- sections ---------------------------------------------------------------------

    def capacity(self) -> None:
        doc = self.runs.get("emulator_capacity") or {}
        self.add("## 0. The emulator's own capacity", "")
        if note := _skip_note(doc):
            self.add(note, "")
        t, r = doc.get("throughput") or {}, doc.get("realtime") or {}
        self.table(
            ["measure", "value"],
            [
                ["events/s it delivers (one client, no pacing)", t.get("events_per_s")],
                ["emulator CPU per event (µs)", t.get("emulator_cpu_us_per_event")],
                [
                    "event rate the per-event benchmark asks (at most)",
                    t.get("event_cost_pacing_events_per_s_at_most"),
                ],
                ["real-time sessions measured", r.get("sessions")],
                [
                    "emulator CPU share of its core per real-time session",
                    r.get("emulator_cpu_share_per_session"),
                ],
                [
                    "real-time sessions one emulator core serves (at 90%)",
                    r.get("sessions_one_emulator_core_serves"),
                ],
            ],
        )
        serves = r.get("sessions_one_emulator_core_serves")
        self.add(
            f"The emulator delivers events faster than the per-event benchmark asks, so "
            f"that benchmark measures the client. For real-time sessions, one emulator core "
            f"serves about **{_fmt(serves)}** sessions with audio both ways: concurrency "
            "steps beyond that are limited by the server, and the concurrency benchmark "
            "marks them so (it watches the emulator's CPU) instead of blaming the client. "
            "Past that point the sessions-per-core figure for the client is its CPU per "
            "session, extrapolated to one core.",
            "",
        )

    def event_cost(self) -> None:
        doc = self.runs.get("event_cost") or {}
        uv_doc = self.runs.get("event_cost+uvloop") or {}
        agents_doc = self.runs.get("event_cost+agents") or {}
        self.add("## 1. Per-event cost", "")
        self.add(
            "CPU time (`time.process_time`, measured process pinned to one core) per server "
            "event for whole responses: a typed message, then the emulator's echo as "
            f"tone-speech audio deltas interleaved with transcript deltas in the full "
            f"response cascade ({_fmt(_get(doc, 'traffic', 'events_per_response'))} events "
            f"per response, {_fmt(_get(doc, 'traffic', 'reply_chars'))} characters). "
            "Contenders alternate within each repetition of a run. Three runs: asyncio "
            "(limit, floor, liveloop, SDK), uvloop (limit, floor, liveloop) and the pinned "
            "openai-agents environment (its own floor). **limit**: the bytes arrive on a plain "
            "asyncio protocol and nothing is parsed, the least any client of that loop can "
            "cost; **floor**: `websockets` + `json.loads` + `base64.b64decode`, the least a "
            "client that reads every event costs with the usual library.",
            "",
        )
        for label, d in (("asyncio run", doc), ("uvloop run", uv_doc), ("agents run", agents_doc)):
            if note := _skip_note(d):
                self.add(f"{label}: {note}", "")
        floor = _get(doc, "results", "floor", "cpu_us_per_event", "median")
        live = _get(doc, "results", "liveloop", "cpu_us_per_event", "median")
        rows = []
        axis: dict[str, dict[str, Any]] = {}
        for loop, d in (("asyncio", doc), ("uvloop", uv_doc)):
            for name in ("limit", "floor", "liveloop", "sdk"):
                r = _get(d, "results", name)
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
                        _ratio(s.get("median"), floor),
                        _ratio(s.get("median"), live),
                    ]
                )
        agents_ratio = _get(agents_doc, "results", "agents", "ratio_vs_floor")
        agents_s = _get(agents_doc, "results", "agents", "cpu_us_per_event")
        if agents_s is not None:
            live_ratio = _get(doc, "results", "liveloop", "ratio_vs_floor")
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
                    _ratio(on_axis, live) if live_ratio else None,
                ]
            )
        self.table(
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
        self.add(
            "Ratios across runs (uvloop, agents) compare separate processes run one after "
            "the other; the agents row is placed on the axis through its own run's floor "
            "(agents/its floor × the asyncio floor).",
            "",
        )
        live_ratio = _get(doc, "results", "liveloop", "ratio_vs_floor")
        live_uv = _get(uv_doc, "results", "liveloop", "cpu_us_per_event", "median")
        uv_vs_floor = _ratio(live_uv, floor)
        versus = (
            None
            if live_ratio is None or agents_ratio is None
            else round(agents_ratio / live_ratio, 2)
        )
        self.target(
            "per event: liveloop ≤ 1.1x the floor (asyncio)",
            f"{_fmt(live_ratio)}x",
            None if live_ratio is None else live_ratio <= 1.1,
            "ratio",
        )
        self.target(
            "per event: liveloop on uvloop ≤ 0.9x the asyncio floor",
            f"{_fmt(uv_vs_floor)}x",
            None if uv_vs_floor is None else uv_vs_floor <= 0.9,
            "ratio across two runs",
        )
        self.target(
            "per event: openai-agents ≥ 1.5x liveloop",
            f"{_fmt(versus)}x",
            None if versus is None else versus >= 1.5,
            "ratio of floor-normalized costs",
        )
        self._bar_chart("event_cost.png", "CPU per server event (µs, median; p5–p95)", axis)
        profile = doc.get("profile")
        if profile:
            self.add(
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
            self.table(["function", "where", "calls/event", "own µs/event", "cum µs/event"], rows)

    def json_decode(self) -> None:
        doc = self.runs.get("json_decode") or {}
        self.add("### JSON libraries for provider events", "")
        if note := _skip_note(doc):
            self.add(note, "")
        self.add(
            f"Decoding the {_fmt(doc.get('events'))} frames of one emulator response "
            f"(about {_fmt(doc.get('bytes_per_event'))} bytes each), audio base64-decoded as "
            "a client must (`bench/json_decode.py`): CPU per event and ratio to `json`.",
            "",
        )
        rows = [
            [name, r["cpu_us_per_event"].get("median"), r.get("ratio_vs_json")]
            for name, r in (doc.get("results") or {}).items()
        ]
        self.table(["library", "µs/event (median)", "ratio vs json"], rows)

    def latency(self) -> None:
        doc = self.runs.get("latency") or {}
        agents_doc = self.runs.get("latency+agents") or {}
        self.add("## 2. Added latency", "")
        self.add(
            "`turn`: from the moment the emulator sent the turn's transcription (a server-side "
            "stamp on the same monotonic clock, `bench/_stamped_emulator.py`; the utterance "
            "ends with the chunk in which the server VAD ends the turn) to the user turn in the "
            "app's hands (liveloop: `input()` returns). The clock no longer starts after the "
            "client's own last send, so a slower sender does not look faster; the two other "
            "clocks are shown for comparison (`from speech_stopped` includes the emulator "
            "decoding the utterance; `from last send` is the old, sender-biased one). `say`: "
            "request -> first audio chunk in the app's hands (liveloop: `say()` -> first chunk "
            "out of `audio_out()`). Added = the contender's p50/p95 minus the floor's p50/p95 "
            f"in the same run ({_fmt(doc.get('trials'))} trials, contenders alternating).",
            "",
        )
        clock = doc.get("clock") or {}
        if clock.get("speech_stopped_after_last_append_ms"):
            self.add(
                "Check of the clock: speech_stopped left the emulator "
                f"{clock['speech_stopped_after_last_append_ms']} ms after the last chunk "
                "arrived (p50/p95/max); turns without server stamps: "
                f"{clock.get('turns_without_server_stamps') or 'none'}.",
                "",
            )
        if note := _skip_note(doc):
            self.add(note, "")
        rows = []
        chart: dict[str, dict[str, float]] = {}
        names = {
            "turn": "turn",
            "say": "say",
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
                        ]
                    )
                    if name != "floor" and metric in ("turn", "say"):
                        chart.setdefault(f"{metric} p50", {})[name + source] = r["added_p50_ms"]
                        chart.setdefault(f"{metric} p95", {})[name + source] = r["added_p95_ms"]
        self.table(["event", "contender", "p50 ms", "p95 ms", "added p50 ms", "added p95 ms"], rows)
        if agents_note := _skip_note(agents_doc):
            self.add(f"openai-agents: {agents_note}", "")
        for metric in ("turn", "say"):
            r = _get(doc, "results", metric, "liveloop")
            ok = None if r is None else r["added_p50_ms"] <= 1 and r["added_p95_ms"] <= 2
            self.target(
                f"added latency ({metric}): ≤ 1 ms p50, ≤ 2 ms p95",
                "–" if r is None else f"{r['added_p50_ms']} / {r['added_p95_ms']} ms",
                ok,
                "difference against the floor, same run",
            )
        self._grouped_chart("latency.png", "Added latency vs the floor (ms)", chart)

    def concurrency(self, key: str, title: str, target: int) -> None:
        doc = self.runs.get(key) or {}
        agents_doc = self.runs.get(f"{key}+agents") or {}
        self.add(f"## {title}", "")
        if doc.get("server") == "light":
            self.add(
                "Server: the light reference server (`bench/_light_server.py`), which replays "
                "the emulator's recorded reply with new ids and real-time pacing and drops the "
                "input audio, so the client, not the server, runs out of CPU first. Sessions "
                "per core by CPU come from the largest step within the lag limit, or, when "
                "the shared machine's other load pushed every step over it, from the largest "
                "step that ran without errors (`cpu_from_step` in results.json).",
                "",
            )
        if note := _skip_note(doc):
            self.add(note, "")
        rows = []
        series: dict[str, list[tuple[int, float, float]]] = {}
        summaries = []
        for source, d in (("", doc), (" (agents run)", agents_doc)):
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
        self.table(
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
        self.add("Summary (largest step within the limit):", "")
        self.table(
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
        if agents_note := _skip_note(agents_doc):
            self.add(f"openai-agents: {agents_note}", "")
        live = _get(doc, "results", "liveloop")
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
            self.target(
                f"{title.split('.')[0]}. ≥ {target} sessions per core",
                f"{_fmt(measured)} measured ({stopped}); {_fmt(by_cpu)} by CPU per session",
                ok,
                "absolute: this machine's",
                why,
            )
            if key == "concurrency":
                agents = _get(agents_doc, "results", "agents", "sessions_per_core_by_cpu")
                versus = _ratio(by_cpu, agents)
                self.target(
                    "WebSocket sessions per core by CPU ≥ 2x openai-agents'",
                    f"{_fmt(versus)}x ({_fmt(by_cpu)} vs {_fmt(agents)})",
                    None if versus is None else versus >= 2.0,
                    "ratio across two runs",
                )
                idle, active = live["rss_kb_per_idle_session"], live["rss_kb_per_active_session"]
                self.target(
                    "memory: < 150 KB per idle session, < 500 KB per active",
                    f"{_fmt(idle)} KB idle, {_fmt(active)} KB active",
                    None if idle is None else idle < 150 and active < 500,
                    "absolute (memory travels better than time)",
                )
            else:
                active = live["rss_kb_per_active_session"]
                self.target(
                    "WebRTC: < 600 KB per session",
                    f"{_fmt(active)} KB per active session",
                    None if active is None else active < 600,
                    "absolute (memory travels better than time)",
                )
                floor = _get(doc, "results", "aiortc", "cpu_ms_per_session_second")
                mine = live["cpu_ms_per_session_second"]
                versus = _ratio(mine, floor)
                self.target(
                    "WebRTC: liveloop ≤ 1.3x a raw aiortc peer (CPU per session-second)",
                    f"{_fmt(versus)}x" if versus is not None else "not measured",
                    None if versus is None else versus <= 1.3,
                    "ratio",
                    "" if versus is not None else "no raw aiortc peer contender in this run",
                )
        self._line_chart(f"{key}.png", title, series)

    def startup(self) -> None:
        doc = self.runs.get("startup") or {}
        agents_doc = self.runs.get("startup+agents") or {}
        self.add("## 5. Start-up", "")
        if note := _skip_note(doc):
            self.add(note, "")
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
        self.table(["measure", "contender", "median ms", "p5–p95", "reps"], rows)
        if r.get("first_connect_to_ready_ms"):
            self.add(
                f"First connection of a process (loads the plugins): "
                f"{r['first_connect_to_ready_ms']} ms.",
                "",
            )
        if r.get("liveloop_import_breakdown_ms"):
            self.add(
                "`import liveloop` by package (own time under `-X importtime`, ms): "
                + ", ".join(f"{k} {v}" for k, v in r["liveloop_import_breakdown_ms"].items())
                + ".",
                "",
            )
        if r.get("cold_breakdown_ms"):
            self.add(
                "A cold liveloop session by package (own time under `-X importtime`, ms; "
                "the bench's helpers included): "
                + ", ".join(f"{k} {v}" for k, v in r["cold_breakdown_ms"].items())
                + ".",
                "",
            )
        imp = _get(r, "import_ms", "liveloop", "median")
        base = _get(r, "import_ms", "python -c pass", "median")
        cli = _get(r, "cli_ms", "liveloop capabilities", "median")
        cold = _get(r, "cold_to_ready_ms", "liveloop", "median")
        cold_floor = _get(r, "cold_to_ready_ms", "floor", "median")
        cold_ratio = _ratio(cold, cold_floor)
        bytecode = doc.get("bytecode") or {}
        self.add(
            f"Bytecode before timing: compiled {bytecode.get('compiled_ok')}, shares of "
            f"up-to-date `.pyc` {bytecode.get('compiled_share')}, "
            f"`PYTHONDONTWRITEBYTECODE` {bytecode.get('dont_write_bytecode')}.",
            "",
        )
        self.target(
            "cold start to a ready session ≤ 2.5x the floor's",
            f"{_fmt(cold_ratio)}x ({_fmt(cold)} vs {_fmt(cold_floor)} ms)",
            None if cold_ratio is None else cold_ratio <= 2.5,
            "ratio, same run",
        )
        self.target(
            "cold start to a ready session ≤ 150 ms (median of 10)",
            f"{_fmt(cold)} ms",
            None if cold is None else cold <= 150,
            "absolute: this machine's",
        )
        self.target(
            "`import liveloop` < 150 ms",
            f"{_fmt(imp)} ms (interpreter start alone: {_fmt(base)} ms)",
            None if imp is None else imp < 150,
            "absolute: this machine's",
        )
        self.target(
            "`liveloop capabilities` ≤ 250 ms",
            f"{_fmt(cli)} ms",
            None if cli is None else cli <= 250,
            "absolute: this machine's",
        )
        self._bar_chart(
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

    def teardown(self) -> None:
        doc = self.runs.get("teardown") or {}
        agents_doc = self.runs.get("teardown+agents") or {}
        self.add("## 6. Teardown", "")
        self.add(
            "`close()` against a raw server that never answers the close frame "
            f"(cap {_fmt(doc.get('cap_s'))} s; a capped close was still running). The floor "
            "closes as a careful minimal client would, with liveloop's 0.5 s close timeout; "
            "the SDK and openai-agents keep their defaults (the `websockets` default of 10 s), "
            "as their users get them.",
            "",
        )
        if note := _skip_note(doc):
            self.add(note, "")
        rows = []
        merged: dict[str, Any] = {}
        for label, d in (("", doc), (" (agents run)", agents_doc)):
            for name, r in (d.get("results") or {}).items():
                s = r["close_s"]
                rows.append([name + label, s.get("median"), s.get("max"), s.get("n"), r["capped"]])
                merged[name + label] = s
        self.table(["contender", "median s", "max s", "reps", "hit the cap"], rows)
        if agents_note := _skip_note(agents_doc):
            self.add(f"openai-agents: {agents_note}", "")
        live = _get(doc, "results", "liveloop", "close_s", "max")
        floor = _get(doc, "results", "floor", "close_s", "max")
        self.target(
            "teardown `close()` < 1 s",
            f"{_fmt(live)} s (max; the floor, closing as carefully: {_fmt(floor)} s)",
            None if live is None else live < 1.0,
            "absolute (a timeout, not CPU)",
        )
        self._bar_chart("teardown.png", "close() against a silent server (s)", merged)

    # -- charts ---------------------------------------------------------------------------

    def _plt(self) -> Any:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        return plt

    def _bar_chart(self, name: str, title: str, stats: dict[str, dict[str, Any]]) -> None:
        stats = {k: v for k, v in stats.items() if v and v.get("median") is not None}
        if not stats:
            return
        plt = self._plt()
        fig, ax = plt.subplots(figsize=(7, 3.5))
        labels = list(stats)
        medians = [stats[k]["median"] for k in labels]
        lo = [max(0.0, m - (stats[k].get("p5") or m)) for k, m in zip(labels, medians, strict=True)]
        hi = [
            max(0.0, (stats[k].get("p95") or m) - m) for k, m in zip(labels, medians, strict=True)
        ]
        ax.bar(labels, medians, yerr=[lo, hi], capsize=4, color="#4c72b0")
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=20)
        fig.tight_layout()
        fig.savefig(self.out / name, dpi=100)
        plt.close(fig)
        self.charts.append(name)

    def _grouped_chart(self, name: str, title: str, groups: dict[str, dict[str, float]]) -> None:
        if not groups:
            return
        plt = self._plt()
        fig, ax = plt.subplots(figsize=(7, 3.5))
        names = sorted({n for g in groups.values() for n in g})
        width = 0.8 / max(len(names), 1)
        for i, contender in enumerate(names):
            xs = [j + i * width for j in range(len(groups))]
            ax.bar(xs, [g.get(contender, 0.0) for g in groups.values()], width, label=contender)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(groups))], list(groups))
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_title(title)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(self.out / name, dpi=100)
        plt.close(fig)
        self.charts.append(name)

    def _line_chart(
        self, name: str, title: str, series: dict[str, list[tuple[int, float, float]]]
    ) -> None:
        if not series:
            return
        plt = self._plt()
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
        for label, points in series.items():
            a.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
            b.plot([p[0] for p in points], [p[2] for p in points], marker="o", label=label)
        a.axhline(50, color="red", linewidth=0.8, linestyle="--")
        a.set_xlabel("sessions")
        a.set_ylabel("p95 event lag (ms)")
        b.set_xlabel("sessions")
        b.set_ylabel("CPU ms per session-second")
        a.legend(fontsize=8)
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(self.out / name, dpi=100)
        plt.close(fig)
        self.charts.append(name)

    # -- the document -------------------------------------------------------------------

    def render(self) -> str:
        m = self.data["machine"]
        end = self.data.get("machine_end") or {}
        env = self.data.get("environment") or {}
        packages = ", ".join(
            f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v is not None
        )
        agents_version = None
        for key, doc in self.runs.items():
            if key.endswith("+agents"):
                agents_version = _get(doc, "environment", "packages", "openai-agents")
                if agents_version:
                    break
        loads = [
            [
                key,
                _get(doc, "loop") or "–",
                _get(doc, "load_avg_section", "before"),
                _get(doc, "load_avg_section", "after"),
                doc.get("elapsed_s"),
            ]
            for key, doc in self.runs.items()
        ]
        body = list(self.lines)
        head = [
            "# liveloop benchmarks",
            "",
            f"Generated by `{self.data['command']}` on {m['date']} in "
            f"{self.data['total_s']} s, in one run.",
            "",
            "## How to read this",
            "",
            "Only **ratios** travel between machines: each is taken within one run, against "
            "the floor measured in the same run (medians over repetitions, contenders "
            "alternating). **Absolute** figures (milliseconds, sessions per core, "
            "`liveloop capabilities` time) are this machine's at this load and moved by a "
            "factor of 2–4 on another 2-core machine; targets stated in absolute terms say "
            "so in the table. The machine is shared: the load average before and after each "
            "section is below; a run with `--check` refuses to report above a set load. "
            "The **limit** (bytes only, nothing parsed) and the **floor** (`websockets` + "
            "`json` + `base64`) are references, not physical minima of a useful client: "
            "the limit reads no event, the floor adds nothing to parsing.",
            "",
            f"Machine: {m['cpus']} cores ({m['cpu_model']}), {m['memory_gb']} GB memory, "
            f"{m['implementation']} {m['python']}, {m['platform']}; load average "
            f"{m['load_avg']} at the start, {end.get('load_avg')} at the end.",
            "",
            f"Packages: {packages}; openai-agents (its own environment, pinned in "
            f"`bench/agents-requirements.txt`): {agents_version or '–'}. Loop of each section "
            "below; bytecode: see §5.",
            "",
            "| section | loop | load before | load after | s |",
            "|---|---|---|---|---|",
            *[f"| {' | '.join(_fmt(c) for c in row)} |" for row in loads],
            "",
            "Method: each benchmark script starts the emulator in its own process pinned to "
            "one core (`os.sched_setaffinity`) and pins itself to the other. Contenders: "
            "**limit** (§1 only), **floor**, **liveloop** (`openai/websocket`, `openai/webrtc` "
            "for §4), **sdk** (`AsyncOpenAI(...).realtime.connect`), **agents** "
            "(`RealtimeRunner`/`RealtimeSession`, in its own environment, with its own floor). "
            "Raw data: `results.json`; each script runs alone too "
            "(`uv run python bench/<name>.py [--quick] [--loop uvloop]`).",
            "",
            "## Targets",
            "",
            "| target | measured | verdict | kind of figure; note |",
            "|---|---|---|---|",
            *[f"| {t} | {v} | {ok} | {n} |" for t, v, ok, n in self.targets],
            "",
        ]
        fixes = self.out / FIXES_FILE
        tail = []
        if fixes.exists():
            tail = ["", fixes.read_text().strip(), ""]
        charts = ["## Charts", "", *[f"![{c}]({c})" for c in self.charts], ""]
        return "\n".join(head + body + tail + charts)


def write(data: dict[str, Any], out: Path) -> None:
    report = Report(data, out)
    report.capacity()
    report.event_cost()
    report.json_decode()
    report.latency()
    report.concurrency("concurrency", "3. Concurrency over WebSocket", 200)
    report.concurrency("webrtc_concurrency", "4. WebRTC peer-mode concurrency", 20)
    report.startup()
    report.teardown()
    (out / "RESULTS.md").write_text(report.render())
