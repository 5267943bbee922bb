"""The client recipes of docs/emulator.md and their runner agree.

The recipes themselves run in environments of their own (``examples/peers/run.py``), not
in this suite; this checks that each recipe the runner knows is a script beside it, pins
its client, and has its section in the docs.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "examples" / "peers"


def runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("peers_run", PEERS / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_recipe_is_a_script_with_a_pinned_client_and_a_docs_section() -> None:
    recipes: dict[str, list[str]] = runner().RECIPES
    section = (ROOT / "docs" / "emulator.md").read_text().split("## Recipes for other clients")[1]
    section = section.split("\n## ", 1)[0]
    assert {"openai_sdk", "openai_agents", "pipecat_realtime", "livekit_realtime"} <= set(recipes)
    for name, packages in recipes.items():
        assert (PEERS / f"{name}.py").is_file(), name
        assert packages and all(re.search(r">=\d", package) for package in packages), packages
        assert f"`examples/peers/{name}.py`" in section, name
    scripts = {path.stem for path in PEERS.glob("*.py")} - {"run"}
    assert scripts == set(recipes), scripts ^ set(recipes)
