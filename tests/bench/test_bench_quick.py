"""Every benchmark script runs in --quick mode and prints the JSON fields its report needs
(shape only: timings on a shared machine are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

COMMON = {"benchmark", "quick", "command", "machine"}


def run_bench(name: str, *extra: str, timeout: float = 90) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), "--quick", *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=BENCH.parent,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    doc: dict[str, Any] = json.loads(out.stdout)
    assert doc["quick"] is True
    assert doc.keys() >= COMMON
    assert {"cpus", "memory_gb", "python", "date"} <= doc["machine"].keys()
    return doc


def test_event_cost() -> None:
    doc = run_bench("event_cost", "--profile")
    assert doc["traffic"]["events_per_response"] > 0
    assert doc["loop"] == "asyncio"
    assert doc["environment"]["packages"]["liveloop"]
    assert "load_avg_start" in doc and "load_avg_end" in doc
    for name in ("limit", "floor", "liveloop", "sdk"):
        result = doc["results"][name]
        assert {"median", "p5", "p95", "spread", "n"} <= result["cpu_us_per_event"].keys()
        assert "ratio_vs_floor" in result
    assert doc["profile"]["top_by_own_time"]


def test_event_cost_on_uvloop() -> None:
    pytest.importorskip("uvloop")
    doc = run_bench("event_cost", "--loop", "uvloop", "--contender", "limit")
    assert doc["loop"] == "uvloop"
    assert {"floor", "limit"} <= doc["results"].keys()


def test_latency() -> None:
    doc = run_bench("latency")
    # The turn's clock starts at the emulator (server-side stamps), for every contender.
    assert not doc["clock"]["turns_without_server_stamps"]
    metrics = ("turn", "say", "say_end_to_end", "say_server")
    for metric in (*metrics, "turn_from_speech_stopped", "turn_from_last_send"):
        for name in ("floor", "liveloop", "sdk"):
            result = doc["results"][metric][name]
            assert {"ms", "added_p50_ms", "added_p95_ms"} <= result.keys()
            # Per-trial differences to the floor: one per trial, with an interval.
            pairs = result["paired_added_ms"]
            assert pairs["n"] == doc["trials"] and len(pairs["ci95"]) == 2


def test_startup() -> None:
    doc = run_bench("startup", timeout=240)
    results = doc["results"]
    assert {"floor", "liveloop", "sdk", "python -c pass"} <= results["import_ms"].keys()
    assert "liveloop capabilities" in results["cli_ms"]
    assert {"floor", "sdk"} <= results["connect_to_session_created_ms"].keys()
    assert {"floor", "liveloop", "sdk"} <= results["connect_to_ready_ms"].keys()
    assert "openai/websocket" in results["cli_pairs"]


def test_teardown() -> None:
    doc = run_bench("teardown")
    assert doc["close_frames_seen"] >= 1
    for name in ("floor", "liveloop", "sdk"):
        assert {"close_s", "capped"} <= doc["results"][name].keys()


def _check_concurrency(doc: dict[str, Any], contenders: tuple[str, ...]) -> None:
    for name in contenders:
        result = doc["results"][name]
        assert {
            "steps",
            "max_sessions_within_limit",
            "stopped_because",
            "cpu_ms_per_session_second",
            "rss_kb_per_idle_session",
            "rss_kb_per_active_session",
            "sessions_per_core_by_cpu",
        } <= result.keys()
        step = result["steps"][0]
        assert "error" not in step, step
        assert {"p50", "p95", "max"} <= step["lag_ms"].keys()
        assert step["opened"] == step["sessions"]


def test_concurrency() -> None:
    _check_concurrency(run_bench("concurrency"), ("floor", "liveloop"))


def test_concurrency_on_the_light_reference_server() -> None:
    doc = run_bench("concurrency", "--server", "light")
    assert doc["server"] == "light"
    _check_concurrency(doc, ("floor", "liveloop"))


def test_webrtc_concurrency() -> None:
    doc = run_bench("webrtc_concurrency")
    if doc.get("skipped"):
        assert isinstance(doc["skipped"], str)
        pytest.skip(doc["skipped"])
    _check_concurrency(doc, ("aiortc", "liveloop"))


def test_webrtc_profile() -> None:
    doc = run_bench("webrtc_profile")
    for name in ("aiortc", "liveloop"):
        result = doc["results"][name]
        assert result["cpu_ms_per_session_second"] > 0, result
        assert "event loop thread" in result["threads_ms_per_session_second"]
    assert doc["liveloop_over_floor"] > 0


def test_emulator_capacity() -> None:
    doc = run_bench("emulator_capacity")
    assert doc["throughput"]["events_per_s"] > 0
    assert {"emulator_cpu_share_per_session", "sessions_one_emulator_core_serves"} <= doc[
        "realtime"
    ].keys()


def test_json_decode() -> None:
    doc = run_bench("json_decode")
    assert doc["events"] > 0
    assert {"json", "orjson", "msgspec", "msgspec typed"} <= doc["results"].keys()


def test_telemetry() -> None:
    doc = run_bench("telemetry")
    results = doc["results"]
    assert {"off", "on"} <= results["cpu_ms_per_session_second"].keys()
    assert results["verdict"] in {"pass", "fail"}
    assert results["ratio_on_off"]["median"] > 0
    off, on = sorted(doc["runs"], key=lambda run: run["arm"] != "off")
    assert not off["opentelemetry_imported"]
    assert on["opentelemetry_imported"] and on["spans"] > 0


def test_gemini() -> None:
    doc = run_bench("gemini", timeout=240)
    per = doc["per_message"]
    assert {"floor", "sdk", "liveloop"} <= per["contenders"].keys()
    assert per["messages_per_reply"] > 0
    latency = doc["latency_ms"]
    for kind in ("turn", "say"):
        assert {"p50", "p95", "paired"} <= latency[f"{kind}/added_ms"].keys()
        assert latency[f"{kind}/added_ms"]["paired"]["n"] > 0
    # Every contender's request and first audio were stamped by the emulator (the clock of
    # its share), including the google-genai SDK's snake_case client_content.
    for key in ("turn/floor", "turn/sdk", "turn/liveloop", "say/floor", "say/liveloop"):
        assert latency[key]["n"] == latency["end_to_end"][key]["n"] > 0
        assert latency["server"][key]["n"] > 0


def test_phone() -> None:
    doc = run_bench("phone", timeout=240)
    for name in ("turn_ms", "say_ms", "turn_legs_ms", "say_legs_ms"):
        entry = doc["latency"][name]
        assert {"direct", "bridged", "added_p50_ms", "added_p95_ms"} <= entry.keys()
    assert doc["cost"]["calls_per_core"] > 0
    assert doc["cost"]["audio_heard_share"] > 0.5


def test_store() -> None:
    doc = run_bench("store")
    assert {"memory", "redis"} <= doc["stores"].keys()
    assert doc["stores"]["redis"]["n"] == 20
    assert {"median", "p95"} <= doc["redis_added_ms"].keys()


def test_run_writes_one_results_file(tmp_path: Path) -> None:
    """``run.py`` runs the chosen sections and writes RESULTS.md with every section and the
    targets table (the sections it did not run say so)."""
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--quick",
            "--only",
            "store",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCH.parent,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    text = (tmp_path / "RESULTS.md").read_text()
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["runs"]["store"]["stores"]["redis"]["n"] == 20
    for section in ("## 0.", "## 1.", "## 5.", "## 7. Gemini", "## 8. Phone", "## 9.", "## 10."):
        assert section in text
    assert "| Redis store adds ≤ 2 ms p50 to an offer round trip |" in text
    assert text.count("## Fixes") <= 1
    assert "not run" in text  # the sections it skipped
