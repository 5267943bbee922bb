"""Function tools: plain Python functions the model can call.

A function with typed parameters becomes a tool: its JSON schema comes from the
signature (pydantic), its description from the docstring (the summary, plus ``Args:``
lines for parameter descriptions). Arguments are validated before the call. Running a
tool never raises: every call ends in exactly one JSON output — the result, or an
``{"error": ...}`` object for bad arguments, an exception or a timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import to_jsonable_python

from .config import ToolDefinition
from .errors import ToolError

__all__ = ["Tool", "ToolOutcome", "tool", "tools_from", "unknown_tool"]

_ARG_LINE = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


@dataclass(frozen=True)
class ToolOutcome:
    """The answer to one tool call: ``output`` is JSON text; ``is_error`` marks failures."""

    output: str
    is_error: bool


class Tool:
    """A Python function exposed to the model as a function tool.

    Build one with :func:`tool` or :meth:`Tool.from_function`; sync functions run in a
    worker thread so they cannot stall the session.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if not callable(function):
            raise ToolError(f"a tool must be callable, got {function!r}")
        self.function = function
        self.name: str = name or str(getattr(function, "__name__", ""))
        summary, arg_docs = _parse_docstring(inspect.getdoc(function) or "")
        self.description = description if description is not None else summary
        self.timeout = timeout
        self._is_async = inspect.iscoroutinefunction(function)
        self._arguments = _arguments_model(function, self.name, arg_docs)
        schema = self._arguments.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        try:
            self.definition = ToolDefinition(
                name=self.name, description=self.description, parameters=schema
            )
        except ValueError as exc:
            raise ToolError(f"tool {self.name!r}: {exc}") from None

    @classmethod
    def from_function(cls, function: Callable[..., Any] | Tool) -> Tool:
        """The tool for ``function`` (returned as is if it already is a Tool)."""
        return function if isinstance(function, Tool) else cls(function)

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    async def run(self, arguments: str, *, timeout: float) -> ToolOutcome:
        """Validate ``arguments`` (JSON text), call the function, and return its outcome.

        Never raises (cancellation aside): invalid JSON or arguments, an exception in the
        function, and exceeding ``timeout`` seconds (or the tool's own timeout) all come
        back as an error outcome the model can read.
        """
        try:
            parsed = self._arguments.model_validate_json(arguments or "{}")
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors(include_url=False)
            )
            return _error(f"invalid arguments for {self.name}: {problems}")
        kwargs = {field: getattr(parsed, field) for field in type(parsed).model_fields}
        limit = self.timeout if self.timeout is not None else timeout
        try:
            async with asyncio.timeout(limit):
                if self._is_async:
                    result = await self.function(**kwargs)
                else:
                    result = await asyncio.to_thread(self.function, **kwargs)
        except TimeoutError:
            return _error(f"{self.name} timed out after {limit:g} s")
        except Exception as exc:  # the model gets the message; the session carries on
            return _error(f"{self.name} failed: {type(exc).__name__}: {exc}")
        try:
            return ToolOutcome(json.dumps(to_jsonable_python(result)), is_error=False)
        except (TypeError, ValueError) as exc:
            return _error(f"{self.name} returned a value that is not JSON: {exc}")


def tool(
    function: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> Any:
    """Make a :class:`Tool`; usable bare (``@tool``) or with options (``@tool(name=...)``)."""
    if function is not None:
        return Tool(function, name=name, description=description, timeout=timeout)

    def decorate(fn: Callable[..., Any]) -> Tool:
        return Tool(fn, name=name, description=description, timeout=timeout)

    return decorate


def tools_from(items: Iterable[Callable[..., Any] | Tool]) -> dict[str, Tool]:
    """Tools by name from functions and Tool objects; duplicate names are an error."""
    found: dict[str, Tool] = {}
    for item in items:
        built = Tool.from_function(item)
        if built.name in found:
            raise ToolError(f"two tools are named {built.name!r}")
        found[built.name] = built
    return found


def unknown_tool(name: str, known: Mapping[str, Tool]) -> ToolOutcome:
    """The outcome for a call to a tool that is not registered."""
    names = ", ".join(sorted(known)) or "none"
    return _error(f"unknown tool {name!r}; not allowed (available tools: {names})")


def _error(message: str) -> ToolOutcome:
    return ToolOutcome(json.dumps({"error": message}), is_error=True)


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _arguments_model(
    function: Callable[..., Any], name: str, arg_docs: Mapping[str, str]
) -> type[BaseModel]:
    try:
        signature = inspect.signature(function)
        hints = get_type_hints(function)
    except (TypeError, ValueError, NameError) as exc:
        raise ToolError(f"tool {name!r}: cannot read its signature: {exc}") from None
    fields: dict[str, Any] = {}
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolError(f"tool {name!r}: *args/**kwargs cannot be described to the model")
        if param.name not in hints:
            raise ToolError(f"tool {name!r}: parameter {param.name!r} needs a type annotation")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (
            hints[param.name],
            Field(default, description=arg_docs.get(param.name)),
        )
    model: type[BaseModel] = create_model(f"{name}_arguments", __base__=_Arguments, **fields)
    return model


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    # Summary = text before the first section header; "Args:" lines describe parameters.
    summary_lines: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.endswith(":") and stripped[:-1].lower() in {
            "args",
            "arguments",
            "parameters",
            "returns",
            "raises",
            "example",
            "examples",
        }:
            section = stripped[:-1].lower()
            continue
        if section is None:
            summary_lines.append(stripped)
        elif section in {"args", "arguments", "parameters"}:
            match = _ARG_LINE.match(line)
            if match:
                args[match.group(1)] = match.group(2).strip()
    summary = " ".join(part for part in summary_lines if part).strip()
    return summary, args
