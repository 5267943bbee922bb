"""Turn ``run.py``'s collected JSON into ``RESULTS.md`` and PNG charts (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _report_client as client
import _report_more as more
import _report_scale as scale
from _report_util import fmt, get, met

FIXES_FILE = "FIXES.md"
"""Hand-written notes on fixes made from these results (included verbatim if present)."""


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
        self.targets.append((name, measured, met(ok), note))

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, head: list[str], rows: list[list[Any]]) -> None:
        self.add("| " + " | ".join(head) + " |", "|" + "---|" * len(head))
        for row in rows:
            self.add("| " + " | ".join(fmt(c) for c in row) + " |")
        self.add("")

    # -- charts ---------------------------------------------------------------------------

    def plt(self) -> Any:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        return plt

    def bar_chart(self, name: str, title: str, stats: dict[str, dict[str, Any]]) -> None:
        stats = {k: v for k, v in stats.items() if v and v.get("median") is not None}
        if not stats:
            return
        plt = self.plt()
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

    def grouped_chart(self, name: str, title: str, groups: dict[str, dict[str, float]]) -> None:
        if not groups:
            return
        plt = self.plt()
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

    def line_chart(
        self, name: str, title: str, series: dict[str, list[tuple[int, float, float]]]
    ) -> None:
        if not series:
            return
        plt = self.plt()
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
                agents_version = get(doc, "environment", "packages", "openai-agents")
                if agents_version:
                    break
        loads = [
            [
                key,
                get(doc, "loop") or "–",
                get(doc, "load_avg_section", "before"),
                get(doc, "load_avg_section", "after"),
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
            *[f"| {' | '.join(fmt(c) for c in row)} |" for row in loads],
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
    client.capacity(report)
    client.event_cost(report)
    client.json_decode(report)
    client.latency(report)
    scale.concurrency(report, "concurrency", "3. Concurrency over WebSocket", 200)
    scale.concurrency(report, "webrtc_concurrency", "4. WebRTC peer-mode concurrency", 20)
    scale.startup(report)
    scale.teardown(report)
    more.gemini(report)
    more.phone(report)
    more.store(report)
    more.telemetry(report)
    (out / "RESULTS.md").write_text(report.render())
