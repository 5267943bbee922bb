"""RESULTS.md sections beyond the OpenAI client: Gemini Live (§7), the phone bridge (§8), the
shared store of ``liveloop serve`` (§9) and OpenTelemetry's cost (§10)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from _report_util import fmt, get, skip_note

if TYPE_CHECKING:
    from report import Report


def _below(value: Any, bound: float) -> bool | None:
    return None if not isinstance(value, (int, float)) else value <= bound


def _both(a: Any, b: Any, bound_a: float, bound_b: float) -> bool | None:
    first, second = _below(a, bound_a), _below(b, bound_b)
    return None if first is None or second is None else first and second


def gemini(rep: Report) -> None:
    doc = rep.runs.get("gemini") or {}
    rep.add("## 7. Gemini Live", "")
    if note := skip_note(doc):
        rep.add(note, "")
    rep.add(
        "Over `wss://` to the emulator's Gemini front end (TLS, because the google-genai SDK "
        "always dials it). **floor**: raw `websockets` + `json` + `base64` for the same "
        "messages; **sdk**: google-genai's `client.aio.live.connect`; **liveloop**: "
        '`liveloop.connect(provider="gemini")` with an `audio_out()` listener. CPU per server '
        "message over one long spoken reply; added latency from a typed turn (and `say()`) to "
        "the first audio chunk in the app's hands, against the floor sending the same "
        "`clientContent`, contenders rotating. The clock is each contender's own share, "
        "between moments that are the same for all of them on one monotonic clock: its "
        "request -> the request's arrival at the emulator, plus the first audio part leaving "
        "the emulator -> the app holding it (`bench/_stamped_emulator.py`); the emulator's "
        "time in between (the same messages, the same work) and the end-to-end time are "
        "shown below it.",
        "",
    )
    per = get(doc, "per_message", "contenders") or {}
    vs = get(doc, "per_message", "vs_floor") or {}
    rep.table(
        ["contender", "µs CPU per message (p50)", "p5", "p95", "x floor"],
        [
            [name, s.get("median"), s.get("p5"), s.get("p95"), vs.get(name)]
            for name, s in per.items()
        ],
    )
    lat = get(doc, "latency_ms") or {}
    rep.table(
        ["measure (ms)", "p50", "p95"],
        [
            [name, s.get("median"), s.get("p95")]
            for name, s in lat.items()
            if isinstance(s, dict) and "median" in s
        ]
        + [
            [
                f"{kind}: liveloop added",
                get(lat, f"{kind}/added_ms", "p50"),
                get(lat, f"{kind}/added_ms", "p95"),
            ]
            for kind in ("turn", "say")
        ]
        + [
            [
                f"{kind}: liveloop minus floor, rep by rep (median [95% CI])",
                _paired(get(lat, f"{kind}/added_ms", "paired")),
                "",
            ]
            for kind in ("turn", "say")
        ]
        + [
            [f"{name} ({section.replace('_', ' ')})", v.get("median"), v.get("p95")]
            for section in ("end_to_end", "server")
            for name, v in (lat.get(section) or {}).items()
        ],
    )
    live, sdk = vs.get("liveloop"), vs.get("sdk")
    rep.target(
        "Gemini per message: liveloop ≤ 1.2x the floor", f"{fmt(live)}x", _below(live, 1.2), "ratio"
    )
    cheaper = None if live is None or sdk is None else live < sdk
    rep.target(
        "Gemini per message: liveloop cheaper than the google-genai SDK",
        f"{fmt(live)}x vs {fmt(sdk)}x the floor",
        cheaper,
        "ratio",
    )
    for kind in ("turn", "say"):
        p50, p95 = get(lat, f"{kind}/added_ms", "p50"), get(lat, f"{kind}/added_ms", "p95")
        rep.target(
            f"Gemini added latency ({kind}): ≤ 2 ms p50, ≤ 5 ms p95",
            f"{fmt(p50, 3)} / {fmt(p95, 3)} ms",
            _both(p50, p95, 2.0, 5.0),
            "difference against the floor, same run; rep by rep: "
            f"{_paired(get(lat, f'{kind}/added_ms', 'paired'))} ms (median [95% CI])",
        )
    rep.grouped_chart(
        "gemini.png",
        "Gemini: µs CPU per server message",
        {"per message": {name: s.get("median") or 0.0 for name, s in per.items()}},
    )


def phone(rep: Report) -> None:
    doc = rep.runs.get("phone") or {}
    rep.add("## 8. Phone: the Twilio Media Streams bridge", "")
    if note := skip_note(doc):
        rep.add(note, "")
    rep.add(
        "Latency, side by side on one emulator at real-time pace with μ-law both ways: "
        "**direct** is a liveloop session over `openai/websocket`; **bridged** is the same "
        "app behind `liveloop-twilio`'s routes, called by a simulated Twilio caller, its "
        "audio taken when the `media` message reaches the caller. A turn starts when the "
        "user side sent the frame that completed the server's end-of-speech silence; "
        "`say()` at the call. The `_legs` rows keep the legs the bridge sits on (caller "
        "audio in to the session seeing the end of the turn, and the session's first audio "
        "out to the caller) and leave out the provider's time to answer, which is the same "
        "server on both paths but varies by tens of ms under load. Cost: a real "
        "`liveloop serve` process bridging concurrent calls whose callers stream 20 ms frames "
        "both ways while the assistant talks; its CPU over the window.",
        "",
    )
    lat = get(doc, "latency") or {}
    rows = []
    for name in ("turn_ms", "say_ms", "turn_legs_ms", "say_legs_ms"):
        entry = lat.get(name) or {}
        rows.append(
            [
                name.removesuffix("_ms"),
                get(entry, "direct", "median"),
                get(entry, "bridged", "median"),
                entry.get("added_p50_ms"),
                get(entry, "direct", "p95"),
                get(entry, "bridged", "p95"),
                entry.get("added_p95_ms"),
            ]
        )
    rep.table(
        [
            "measure (ms)",
            "direct p50",
            "bridged p50",
            "added p50",
            "direct p95",
            "bridged p95",
            "added p95",
        ],
        rows,
    )
    cost = get(doc, "cost") or {}
    rep.table(
        ["cost", "value"],
        [
            ["concurrent calls", cost.get("calls")],
            ["server CPU s per call-second", cost.get("cpu_per_call_second")],
            ["calls per core (by CPU)", cost.get("calls_per_core")],
            ["share of real time the callers heard audio", cost.get("audio_heard_share")],
        ],
    )
    for row in rows[2:]:
        rep.target(
            f"Twilio bridge added latency ({row[0].removesuffix('_legs')}): ≤ 2 ms p50, ≤ 5 ms p95",
            f"{fmt(row[3])} / {fmt(row[6])} ms",
            _both(row[3], row[6], 2.0, 5.0),
            "difference against the direct path, same run (the bridge's legs)",
        )
    per_core = cost.get("calls_per_core")
    rep.target(
        "Twilio bridge: ≥ 150 calls per core (μ-law pass-through)",
        f"{fmt(per_core)} calls per core",
        None if per_core is None else per_core >= 150,
        "absolute: this machine's (CPU per call-second, extrapolated to one core)",
    )


def store(rep: Report) -> None:
    doc = rep.runs.get("store") or {}
    rep.add("## 9. The shared store of `liveloop serve`", "")
    if note := skip_note(doc):
        rep.add(note, "")
    rep.add(
        "An SDP offer's round trip through `liveloop serve` (identity, rate limit, body "
        "checks, slot reservation, call record) over an instant stand-in provider, with the "
        "in-memory store and with `--store redis://…` on a `redis-server` on 127.0.0.1, "
        "trials alternating.",
        "",
    )
    stores = get(doc, "stores") or {}
    rep.table(
        ["store", "offer p50 (ms)", "p5", "p95", "trials"],
        [
            [name, s.get("median_ms"), s.get("p5_ms"), s.get("p95_ms"), s.get("n")]
            for name, s in stores.items()
        ],
    )
    added = get(doc, "redis_added_ms", "median")
    rep.target(
        "Redis store adds ≤ 2 ms p50 to an offer round trip",
        f"{fmt(added, 3)} ms (p95 {fmt(get(doc, 'redis_added_ms', 'p95'), 3)} ms)",
        _below(added, 2.0),
        "difference against the in-memory store, same run; absolute: this machine's",
    )


def telemetry(rep: Report) -> None:
    doc = rep.runs.get("telemetry") or {}
    rep.add("## 10. OpenTelemetry's cost", "")
    if note := skip_note(doc):
        rep.add(note, "")
    rep.add(
        "The same conversation (a tool call, typed and spoken turns, a `say()`) against the "
        "emulator, each arm in its own process: **off** imports no `opentelemetry`; **on** "
        "configures the SDK's tracer and meter providers with exporters that count and "
        "discard, so the SDK's work is measured and no exporter's I/O is.",
        "",
    )
    res = get(doc, "results") or {}
    per = res.get("cpu_ms_per_session_second") or {}
    rep.table(
        ["arm", "CPU ms per session-second (p50)", "p5", "p95"],
        [[arm, s.get("median"), s.get("p5"), s.get("p95")] for arm, s in per.items()],
    )
    ratio_on_off = get(res, "ratio_on_off", "median")
    rep.target(
        "spans and metrics on: ≤ 10% more CPU per session-second than off",
        f"{fmt(ratio_on_off, 3)}x",
        _below(ratio_on_off, 1.10),
        "ratio, same run",
    )


def _paired(p: Any) -> str:
    if not isinstance(p, dict) or not p.get("n"):
        return "–"
    low, high = p["ci95"]
    return f"{p['median']} [{low}, {high}]"
