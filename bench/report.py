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
        agents_doc = self.runs.get("event_cost+agents") or {}
        self.add("## 1. Per-event cost", "")
        self.add(
            "CPU time (`time.process_time`, measured process pinned to one core) per server "
            "event for whole responses: a typed message, then the emulator's echo as "
            f"tone-speech audio deltas interleaved with transcript deltas in the full "
            f"response cascade ({_fmt(_get(doc, 'traffic', 'events_per_response'))} events "
            f"per response, {_fmt(_get(doc, 'traffic', 'reply_chars'))} characters). "
            "Contenders alternate within each repetition.",
            "",
        )
        if note := _skip_note(doc):
            self.add(note, "")
        rows = []
        results = doc.get("results") or {}
        for name, r in results.items():
            s = r["cpu_us_per_event"]
            rows.append(
                [
                    name,
                    s.get("median"),
                    f"{s.get('p5')}–{s.get('p95')}",
                    s.get("spread"),
                    s.get("n"),
                    r.get("ratio_vs_floor"),
                ]
            )
        agents_results = agents_doc.get("results") or {}
        for name, r in agents_results.items():
            s = r["cpu_us_per_event"]
            rows.append(
                [
                    f"{name} (agents run)",
                    s.get("median"),
                    f"{s.get('p5')}–{s.get('p95')}",
                    s.get("spread"),
                    s.get("n"),
                    r.get("ratio_vs_floor"),
                ]
            )
        self.table(
            ["contender", "µs/event (median)", "p5–p95", "spread", "reps", "ratio vs floor"], rows
        )
        if agents_note := _skip_note(agents_doc):
            self.add(f"openai-agents: {agents_note}", "")
        live = _get(results, "liveloop", "ratio_vs_floor")
        agents = _get(agents_results, "agents", "ratio_vs_floor")
        versus = None if live is None or agents is None else round(agents / live, 2)
        self.add(
            "The Agents SDK runs in its own environment and process, with its own floor; "
            "liveloop against it is the ratio of the two floor-normalized costs"
            f" (agents/floor ÷ liveloop/floor) = **{_fmt(versus)}x**.",
            "",
        )
        self.targets.append(
            (
                "1. per-event cost: liveloop ≤ 1.5x floor",
                f"{_fmt(live)}x",
                _met(None if live is None else live <= 1.5),
                "",
            )
        )
        self.targets.append(
            (
                "1. per-event cost: liveloop ≥ 2x cheaper than openai-agents",
                f"{_fmt(versus)}x",
                _met(None if versus is None else versus >= 2.0),
                "" if versus is not None else _skip_note(agents_doc),
            )
        )
        self._bar_chart(
            "event_cost.png",
            "CPU per server event (µs, median; whiskers p5–p95)",
            {
                **{k: v["cpu_us_per_event"] for k, v in results.items()},
                **{f"{k} (agents run)": v["cpu_us_per_event"] for k, v in agents_results.items()},
            },
        )
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

    def latency(self) -> None:
        doc = self.runs.get("latency") or {}
        agents_doc = self.runs.get("latency+agents") or {}
        self.add("## 2. Added latency", "")
        self.add(
            "`turn`: last chunk of a spoken utterance sent -> the user turn in the app's hands "
            "(liveloop: `input()` returns). `say`: request -> first audio chunk in the app's "
            "hands (liveloop: `say()` -> first chunk out of `audio_out()`). Added = the "
            "contender's p50/p95 minus the floor's p50/p95 in the same run "
            f"({_fmt(doc.get('trials'))} trials, contenders alternating). Negative values are "
            "noise: the differences are far below the machine's jitter.",
            "",
        )
        if note := _skip_note(doc):
            self.add(note, "")
        rows = []
        chart: dict[str, dict[str, float]] = {}
        for source, d in (("", doc), (" (agents run)", agents_doc)):
            for metric, per in (d.get("results") or {}).items():
                for name, r in per.items():
                    ms = r["ms"]
                    rows.append(
                        [
                            metric,
                            name + source,
                            ms.get("median"),
                            ms.get("p95"),
                            r["added_p50_ms"],
                            r["added_p95_ms"],
                        ]
                    )
                    if name != "floor":
                        chart.setdefault(f"{metric} p50", {})[name + source] = r["added_p50_ms"]
                        chart.setdefault(f"{metric} p95", {})[name + source] = r["added_p95_ms"]
        self.table(["event", "contender", "p50 ms", "p95 ms", "added p50 ms", "added p95 ms"], rows)
        if agents_note := _skip_note(agents_doc):
            self.add(f"openai-agents: {agents_note}", "")
        for metric in ("turn", "say"):
            r = _get(doc, "results", metric, "liveloop")
            ok = None if r is None else r["added_p50_ms"] <= 2 and r["added_p95_ms"] <= 5
            self.targets.append(
                (
                    f"2. added latency ({metric}): ≤ 2 ms p50, ≤ 5 ms p95",
                    "–" if r is None else f"{r['added_p50_ms']} / {r['added_p95_ms']} ms",
                    _met(ok),
                    "",
                )
            )
        self._grouped_chart("latency.png", "Added latency vs the floor (ms)", chart)

    def concurrency(self, key: str, title: str, target: int) -> None:
        doc = self.runs.get(key) or {}
        agents_doc = self.runs.get(f"{key}+agents") or {}
        self.add(f"## {title}", "")
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
                    "stopped at the emulator's own limit (§0), not the client's"
                )
            elif measured is not None:
                ok = False
            self.targets.append(
                (
                    f"{title.split('.')[0]}. ≥ {target} sessions per core",
                    f"{_fmt(measured)} measured ({stopped}); {_fmt(by_cpu)} by CPU per session",
                    _met(ok) + (" (extrapolated)" if why else ""),
                    why,
                )
            )
            if key == "concurrency":
                idle, active = live["rss_kb_per_idle_session"], live["rss_kb_per_active_session"]
                self.targets.append(
                    (
                        "3. memory: < 150 KB per idle session, < 500 KB per active",
                        f"{_fmt(idle)} KB idle, {_fmt(active)} KB active",
                        _met(None if idle is None else idle < 150 and active < 500),
                        "",
                    )
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
        imp = _get(r, "import_ms", "liveloop", "median")
        base = _get(r, "import_ms", "python -c pass", "median")
        cli = _get(r, "cli_ms", "liveloop capabilities", "median")
        self.targets.append(
            (
                "5. `import liveloop` < 150 ms",
                f"{_fmt(imp)} ms (interpreter start alone: {_fmt(base)} ms)",
                _met(None if imp is None else imp < 150),
                "",
            )
        )
        self.targets.append(
            (
                "5. `liveloop capabilities` < 400 ms",
                f"{_fmt(cli)} ms",
                _met(None if cli is None else cli < 400),
                "",
            )
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
            f"(cap {_fmt(doc.get('cap_s'))} s; a capped close was still running).",
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
        self.targets.append(
            (
                "6. teardown `close()` < 1 s",
                f"{_fmt(live)} s (max)",
                _met(None if live is None else live < 1.0),
                "",
            )
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
        body = list(self.lines)
        head = [
            "# liveloop benchmarks",
            "",
            f"Generated by `{self.data['command']}` on {m['date']}"
            + ("." if self.data.get("merged") else f" in {self.data['total_s']} s."),
            "",
            f"Machine: {m['cpus']} cores ({m['cpu_model']}), {m['memory_gb']} GB memory, "
            f"{m['implementation']} {m['python']}, {m['platform']}; load average at the start "
            f"{m['load_avg']} (the machine is shared: absolute numbers are noisy, so every "
            "comparison is a ratio or difference against the floor of the same run, with "
            "medians and spreads over repetitions).",
            "",
            "Method: each benchmark script starts the emulator (`python -m liveloop_emulator.cli "
            "--port 0`) in its own process pinned to one core (`os.sched_setaffinity`) and pins "
            "itself to the other. Contenders: **floor** (raw `websockets` + `json.loads` + "
            "`base64.b64decode`, nothing else), **liveloop** (`openai/websocket`, "
            "`openai/webrtc` for §4), **sdk** (`AsyncOpenAI(...).realtime.connect`), "
            "**agents** (`RealtimeRunner`/`RealtimeSession`, in its own environment via "
            "`uv run --with openai-agents`, with its own floor). Raw data: `results.json`; "
            "each script runs alone too (`uv run python bench/<name>.py [--quick]`).",
            "",
            "## Targets",
            "",
            "| target | measured | verdict | note |",
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
    report.latency()
    report.concurrency("concurrency", "3. Concurrency over WebSocket", 200)
    report.concurrency("webrtc_concurrency", "4. WebRTC peer-mode concurrency", 20)
    report.startup()
    report.teardown()
    (out / "RESULTS.md").write_text(report.render())
