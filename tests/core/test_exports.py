"""Public names: the package root is the handler API, plugin authors' names live in
``liveloop.plugin``, and every public object is exported by one namespace only; whatever
the docs and examples tell users to import is importable from where they say."""

from __future__ import annotations

import importlib
import re
import types
from collections import defaultdict
from pathlib import Path

import pytest

import liveloop

ROOT = Path(__file__).resolve().parents[2]

NAMESPACES = (
    "liveloop",
    "liveloop.events",
    "liveloop.actions",
    "liveloop.plugin",
    "liveloop.testing",
    "liveloop.testing.phone",
)
"""The documented namespaces (CONTRIBUTING.md, "Public names")."""

PLUGIN_AUTHOR_NAMES = (
    "CallControl",
    "CodecFactory",
    "Connection",
    "Connector",
    "EventCodec",
    "Features",
    "MediaChannel",
    "PluginManager",
    "ProviderSpec",
    "RouteSpec",
    "TransportSpec",
    "hookimpl",
    "redact",
    "register",
    "resolve",
    "unregister",
)

DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "examples").rglob("*.md"),
        *(ROOT / "examples").rglob("*.py"),
    ]
)

_FROM_IMPORT = re.compile(r"^[ \t]*from (liveloop(?:\.\w+)*) import (?:\(([^)]*)\)|([^\n]*))", re.M)
# Not inside a string ("liveloop.x" names a logger) nor a path.
_DOTTED = re.compile(r"(?<![\w./\"'-])liveloop((?:\.[A-Za-z_]\w*)+)")


def _exports(namespace: str) -> dict[str, object]:
    module = importlib.import_module(namespace)
    return {name: getattr(module, name) for name in module.__all__}


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_exported_name_resolves(namespace: str) -> None:
    module = importlib.import_module(namespace)
    assert sorted(module.__all__) == sorted(set(module.__all__)), "a name listed twice"
    for name in module.__all__:
        assert getattr(module, name) is not None or name == "__version__"


def test_every_public_object_has_one_path() -> None:
    paths: dict[int, list[str]] = defaultdict(list)
    for namespace in NAMESPACES:
        for name, value in _exports(namespace).items():
            if isinstance(value, types.ModuleType) or name == "__version__":
                continue
            paths[id(value)].append(f"{namespace}.{name}")
    shared = sorted(found for found in paths.values() if len(found) > 1)
    assert shared == [], f"exported by more than one namespace: {shared}"


def test_the_root_is_the_handler_api() -> None:
    assert not set(PLUGIN_AUTHOR_NAMES) & set(liveloop.__all__)
    assert set(PLUGIN_AUTHOR_NAMES) <= set(liveloop.plugin.__all__)
    for name in PLUGIN_AUTHOR_NAMES:
        assert not hasattr(liveloop, name), f"liveloop.{name} is a second path"
    for name in ("Session", "SessionConfig", "ReconnectPolicy", "connect", "App", "tool"):
        assert name in liveloop.__all__


def test_reconnect_policy_is_importable_from_the_root() -> None:
    from liveloop import ReconnectPolicy

    assert liveloop.SessionConfig(reconnect=ReconnectPolicy(attempts=1)).reconnect is not None


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    value: object = importlib.import_module(parts[0])
    for index, part in enumerate(parts[1:], start=1):
        if not hasattr(value, part):
            value = importlib.import_module(".".join(parts[: index + 1]))
        else:
            value = getattr(value, part)
    return value


def _references(text: str) -> set[str]:
    found: set[str] = set()
    for module, grouped, line in _FROM_IMPORT.findall(text):
        names = (grouped or line).split("#")[0]
        for name in names.replace("\n", " ").split(","):
            name = name.strip().split(" as ")[0]
            if name:
                found.add(f"{module}.{name}")
    for chain in _DOTTED.findall(text):
        found.add("liveloop" + chain.rstrip("."))
    return found


_PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _code(document: Path) -> str:
    # In prose, dotted names are often metric or span names: only code is checked.
    text = document.read_text()
    if document.suffix == ".py":
        return text
    return "\n".join(_PYTHON_BLOCK.findall(text))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_what_the_docs_import_is_importable_from_there(document: Path) -> None:
    missing = []
    for reference in sorted(_references(_code(document))):
        try:
            _resolve(reference)
        except (ImportError, AttributeError):
            missing.append(reference)
    assert missing == [], f"{document.name} names what does not exist: {missing}"
