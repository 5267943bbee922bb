"""Typed reads of fields from a decoded wire event; a wrong or missing field raises
:class:`Malformed` naming it, which the codec turns into a ``malformed_event`` error."""

from __future__ import annotations

from typing import Any

__all__ = [
    "Malformed",
    "get_dict",
    "get_int",
    "get_str",
    "get_strs",
    "opt_dict",
    "opt_int",
    "opt_list",
    "opt_str",
]


class Malformed(Exception):
    """A known event lacks a field it must have, or a field has the wrong type."""


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def get_str(obj: dict[str, Any], key: str) -> str:
    """``obj[key]``, which must be a string."""
    value = obj.get(key)
    if not isinstance(value, str):
        raise Malformed(f"{key!r} must be a string, got {_describe(value)}")
    return value


def get_strs(obj: dict[str, Any], *keys: str) -> tuple[str, ...]:
    """``obj[key]`` for each key, each of which must be a string.

    The hot decoders check their fields inline (``type(value) is str``, a few times
    cheaper than a call per field) and call this only to name what is wrong.
    """
    return tuple(get_str(obj, key) for key in keys)


def opt_str(obj: dict[str, Any], key: str) -> str | None:
    """``obj[key]`` if it is a string, ``None`` if missing or null; else malformed."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise Malformed(f"{key!r} must be a string or null, got {_describe(value)}")


def get_int(obj: dict[str, Any], key: str) -> int:
    """``obj[key]``, which must be an integer (not a boolean)."""
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(f"{key!r} must be an integer, got {_describe(value)}")
    return value


def opt_int(obj: dict[str, Any], key: str) -> int | None:
    """``obj[key]`` if it is an integer, ``None`` if missing or null; else malformed."""
    if obj.get(key) is None:
        return None
    return get_int(obj, key)


def get_dict(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """``obj[key]``, which must be a JSON object."""
    value = obj.get(key)
    if not isinstance(value, dict):
        raise Malformed(f"{key!r} must be an object, got {_describe(value)}")
    return value


def opt_dict(obj: dict[str, Any], key: str) -> dict[str, Any] | None:
    """``obj[key]`` if it is an object, ``None`` if missing or null; else malformed."""
    if obj.get(key) is None:
        return None
    return get_dict(obj, key)


def opt_list(obj: dict[str, Any], key: str) -> list[Any]:
    """``obj[key]`` if it is a list, ``[]`` if missing or null; else malformed."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{key!r} must be a list, got {_describe(value)}")
    return value
