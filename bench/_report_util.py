"""Formatting helpers shared by the RESULTS.md sections."""

from __future__ import annotations

from typing import Any


def get(d: Any, *path: Any) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def ratio(a: Any, b: Any) -> float | None:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return None
    return round(a / b, 3)


def met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def skip_note(doc: dict[str, Any] | None) -> str:
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
