"""Client mistakes as OpenAI words them, and pydantic validation errors translated to them.

The client-event models (:mod:`.client_events`, :mod:`.session_models`) are strict pydantic
models; :func:`validate` runs one and turns its first error into a :class:`ProtocolError` with
OpenAI's ``code``, ``param`` (the dotted path, ``[i]`` for list indexes) and message.
Validators raise :class:`~pydantic_core.PydanticCustomError` with the types ``invalid_value``
(ctx ``allowed``), ``below_minimum`` (ctx ``minimum``), ``out_of_range`` (ctx ``low``,
``high``), ``wrong_type`` (ctx ``expected``) or ``protocol`` (ctx ``code`` and ``message``,
in which ``{param}`` is the path).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

__all__ = [
    "ProtocolError",
    "Strict",
    "at_least",
    "in_range",
    "invalid_value",
    "missing",
    "one_of",
    "unknown",
    "validate",
    "wrong_type",
]

M = TypeVar("M", bound=BaseModel)

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean",
    "float_type": "a number",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
}


class ProtocolError(Exception):
    """A client mistake, reported as an ``error`` event in OpenAI's shape."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = "invalid_value",
        param: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.type = type


class Strict(BaseModel):
    """A client object: no coercion, no unknown keys."""

    model_config = ConfigDict(strict=True, extra="forbid")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def wrong_type(param: str, expected: str, value: Any) -> ProtocolError:
    return ProtocolError(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        code="invalid_type",
        param=param,
    )


def unknown(param: str) -> ProtocolError:
    return ProtocolError(f"Unknown parameter: '{param}'.", code="unknown_parameter", param=param)


def missing(param: str) -> ProtocolError:
    return ProtocolError(
        f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param
    )


def invalid_value(param: str, value: Any, allowed: Sequence[Any] | None = None) -> ProtocolError:
    message = f"Invalid value: {json.dumps(value)[:200]}."
    if allowed:
        message += " Supported values are: " + ", ".join(json.dumps(a) for a in allowed) + "."
    return ProtocolError(message, code="invalid_value", param=param)


# -- validators for the models


def one_of(*allowed: Any) -> AfterValidator:
    """The value must be one of ``allowed`` (any JSON type may come in)."""

    def check(value: Any) -> Any:
        if value not in allowed:
            raise PydanticCustomError("invalid_value", "invalid value", {"allowed": allowed})
        return value

    return AfterValidator(check)


def at_least(minimum: int) -> AfterValidator:
    def check(value: int) -> int:
        if value < minimum:
            raise PydanticCustomError("below_minimum", "below minimum", {"minimum": minimum})
        return value

    return AfterValidator(check)


def in_range(low: float, high: float) -> AfterValidator:
    def check(value: float) -> float:
        if not low <= value <= high:
            raise PydanticCustomError("out_of_range", "out of range", {"low": low, "high": high})
        return value

    return AfterValidator(check)


def protocol(code: str, message: str) -> PydanticCustomError:
    """A validator's own error; ``{param}`` in ``message`` becomes the path."""
    return PydanticCustomError("protocol", "protocol", {"code": code, "message": message})


# -- translation


def path(prefix: str, loc: Sequence[int | str]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("~"):
            continue  # a union branch's tag, not a key of the client's object
        else:
            out = f"{out}.{part}" if out else part
    return out


def _translate(error: Any, prefix: str) -> ProtocolError:
    kind = error["type"]
    param = path(prefix, error["loc"])
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return missing(param)
    if kind == "extra_forbidden":
        return unknown(param)
    if kind in _EXPECTED:
        return wrong_type(param, _EXPECTED[kind], value)
    if kind == "wrong_type":
        return wrong_type(param, ctx["expected"], value)
    if kind == "invalid_value":
        return invalid_value(param, value, list(ctx.get("allowed") or ()))
    if kind == "below_minimum":
        return ProtocolError(
            f"Invalid '{param}': integer below minimum value. Expected a value >= "
            f"{ctx['minimum']}, but got {value} instead.",
            code="integer_below_min_value",
            param=param,
        )
    if kind == "out_of_range":
        return ProtocolError(
            f"Invalid '{param}': expected a value between {ctx['low']} and {ctx['high']}, "
            f"but got {value}.",
            code="invalid_value",
            param=param,
        )
    if kind == "protocol":
        message = str(ctx["message"]).replace("{param}", param)
        return ProtocolError(message, code=str(ctx["code"]), param=param)
    return invalid_value(param, value)


def validate(model: type[M], data: Any, prefix: str = "") -> M:
    """``model`` validated from ``data``; the first problem raises :class:`ProtocolError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _translate(exc.errors(include_url=False)[0], prefix) from None


def checked(check: Callable[[Any], Any]) -> AfterValidator:
    """An :class:`AfterValidator` from a plain function (for readability at the field)."""
    return AfterValidator(check)
