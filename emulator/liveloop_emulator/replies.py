"""What the emulator's deterministic "model" says: the reply policy.

A response's content is decided, in order, from:

1. per-response ``instructions`` in the *say form* (:data:`SAY_INSTRUCTIONS`): the quoted text is
   spoken verbatim;
2. a ``function_call_output`` as the latest conversation item: a scripted rule's ``reply``
   template filled with the tool output (or a default sentence quoting the output);
3. the latest user text (typed, or the transcript of user speech) matched against the scripted
   :class:`Rule` list, in order: the first match gives a reply text or a function call;
4. otherwise an echo: ``You said: {text}`` (``Hello.`` when there is no user item at all).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_TOOL_REPLY",
    "ECHO_TEMPLATE",
    "GREETING",
    "SAY_INSTRUCTIONS",
    "Reply",
    "Rule",
    "decide_reply",
    "load_script",
    "parse_say_instructions",
    "rules_from_json",
]

SAY_INSTRUCTIONS = (
    'Say exactly the following text, word for word, and nothing else:\n"""\n{text}\n"""'
)
"""The per-response instructions that make the model voice ``text`` verbatim."""

_SAY_PREFIX, _SAY_SUFFIX = SAY_INSTRUCTIONS.split("{text}")

ECHO_TEMPLATE = "You said: {text}"
"""The default reply to a user turn (``{text}`` is the typed text or the transcript)."""

GREETING = "Hello."
"""The reply when the conversation holds no user message at all."""

DEFAULT_TOOL_REPLY = "The {tool} tool says: {output}"
"""The reply after a tool output when the rule that called the tool has no ``reply``."""


def parse_say_instructions(instructions: str) -> str | None:
    """Return the text to say if ``instructions`` is in the say form, else None.

    The text comes back exactly as it was put into :data:`SAY_INSTRUCTIONS`.
    """
    if len(instructions) < len(_SAY_PREFIX) + len(_SAY_SUFFIX):
        return None
    if instructions.startswith(_SAY_PREFIX) and instructions.endswith(_SAY_SUFFIX):
        return instructions[len(_SAY_PREFIX) : len(instructions) - len(_SAY_SUFFIX)]
    return None


@dataclass(frozen=True)
class Rule:
    """A scripted behaviour: when the user's text matches ``match`` (a regular expression,
    searched case-insensitively), reply with ``reply``, or call ``tool`` with ``arguments``.

    ``reply`` without ``tool`` is the reply text; it may use ``{text}`` for the user's text.
    With ``tool``, the response is a function call; once the client adds the call's
    ``function_call_output`` and asks for a response, ``reply`` (if given) is the template of
    the follow-up: ``{output}`` is the raw output string, ``{output[key]}`` a key of the output
    parsed as JSON, ``{text}`` the user's text and ``{tool}`` the tool name.
    """

    match: str
    reply: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.match, str):
            raise TypeError("Rule.match must be a string")
        try:
            re.compile(self.match)
        except re.error as exc:
            raise ValueError(f"Rule.match is not a valid regular expression: {exc}") from exc
        if self.reply is None and self.tool is None:
            raise ValueError("a Rule needs a reply, a tool, or both")
        if self.reply is not None and not isinstance(self.reply, str):
            raise TypeError("Rule.reply must be a string")
        if self.tool is not None and (not isinstance(self.tool, str) or not self.tool):
            raise TypeError("Rule.tool must be a non-empty string")
        if self.arguments is not None and not isinstance(self.arguments, dict):
            raise TypeError("Rule.arguments must be a dict")

    def matches(self, text: str) -> bool:
        return re.search(self.match, text, re.IGNORECASE) is not None


@dataclass(frozen=True)
class Reply:
    """What one response contains: spoken/written ``text``, or a call of ``tool``."""

    text: str | None = None
    tool: str | None = None
    arguments: str = "{}"
    rule: Rule | None = None


class _Output(str):
    """A tool output for ``str.format``: ``{output}`` is the raw text, ``{output[key]}`` a key
    of the output parsed as JSON."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        parsed = json.loads(str(self))
        return parsed[key]


def _fill(template: str, **values: Any) -> str | None:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return None


def _content_text(item: Mapping[str, Any], heard: Callable[[Mapping[str, Any]], str | None]) -> str:
    parts: list[str] = []
    for part in item.get("content") or []:
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "input_text" and isinstance(part.get("text"), str):
            parts.append(part["text"])
        elif kind == "input_audio":
            text = heard(item)
            if text is None and isinstance(part.get("transcript"), str):
                text = part["transcript"]
            if text:
                parts.append(text)
    return " ".join(p for p in parts if p)


def _latest_user_text(
    items: Sequence[Mapping[str, Any]], heard: Callable[[Mapping[str, Any]], str | None]
) -> str | None:
    for item in reversed(items):
        if item.get("type") == "message" and item.get("role") == "user":
            return _content_text(item, heard)
    return None


def decide_reply(
    *,
    instructions: str | None,
    items: Sequence[Mapping[str, Any]],
    script: Sequence[Rule],
    calls: Mapping[str, Rule],
    heard: Callable[[Mapping[str, Any]], str | None] = lambda item: None,
    allow_tools: bool = True,
) -> Reply:
    """Decide a response's content (see the module docstring for the policy).

    ``items`` is the response's context (the conversation, oldest first); ``calls`` maps the
    ``call_id`` of every function call a rule made to that rule; ``heard`` gives the emulator's
    own transcript of a user audio item (whether or not input transcription is enabled).
    """
    if instructions is not None:
        say = parse_say_instructions(instructions)
        if say is not None:
            return Reply(text=say)
    user_text = _latest_user_text(items, heard)
    if items and items[-1].get("type") == "function_call_output":
        last = items[-1]
        output = _Output(str(last.get("output", "")))
        call_id = str(last.get("call_id", ""))
        rule = calls.get(call_id)
        tool = rule.tool if rule is not None else None
        if tool is None:
            for item in items:
                if item.get("type") == "function_call" and item.get("call_id") == call_id:
                    tool = str(item.get("name", ""))
        template = rule.reply if rule is not None and rule.reply is not None else None
        if template is None:
            template = DEFAULT_TOOL_REPLY if tool else "The tool says: {output}"
        text = _fill(template, output=output, text=user_text or "", tool=tool or "")
        return Reply(text=text if text is not None else str(output), rule=rule)
    if user_text is None:
        return Reply(text=GREETING)
    for rule in script:
        if not rule.matches(user_text):
            continue
        if rule.tool is not None:
            if not allow_tools:
                continue
            return Reply(tool=rule.tool, arguments=json.dumps(rule.arguments or {}), rule=rule)
        assert rule.reply is not None
        text = _fill(rule.reply, text=user_text)
        return Reply(text=text if text is not None else rule.reply, rule=rule)
    return Reply(text=ECHO_TEMPLATE.format(text=user_text))


def rules_from_json(data: Any) -> list[Rule]:
    """Build rules from parsed JSON: a list of objects with ``match`` and ``reply`` and/or
    ``tool`` (+ optional ``arguments``)."""
    if not isinstance(data, list):
        raise ValueError("a script is a JSON list of rule objects")
    rules: list[Rule] = []
    allowed = {"match", "reply", "tool", "arguments"}
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ValueError(f"rule {index}: expected an object")
        unknown = set(entry) - allowed
        if unknown:
            raise ValueError(f"rule {index}: unknown keys {sorted(unknown)}")
        if "match" not in entry:
            raise ValueError(f"rule {index}: 'match' is required")
        try:
            rules.append(Rule(**entry))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"rule {index}: {exc}") from exc
    return rules


def load_script(path: str | Path) -> list[Rule]:
    """Load rules from a JSON file (``[{"match": ..., "reply": ...}, ...]``)."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return rules_from_json(data)


def iter_rules(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    out = tuple(rules)
    for rule in out:
        if not isinstance(rule, Rule):
            raise TypeError(f"script entries must be Rule objects, got {type(rule).__name__}")
    return out
