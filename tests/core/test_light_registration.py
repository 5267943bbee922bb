"""Loading every installed plugin (``liveloop capabilities``, or the start of any session)
imports no heavy module: no click, numpy, aiortc, PyAV, web server or WebSocket client,
and builds no validator of an event, action or codec model."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "click",
    "numpy",
    "aiortc",
    "av",
    "starlette",
    "uvicorn",
    "httpx",
    "websockets",
    "limits",
    "liveloop_openai.codec",
    "liveloop_gemini.codec",
    "liveloop_openai_websocket.connection",
    "liveloop_websocket",
)

PROBE = """
import json, sys
import pydantic._internal._model_construction as construction

built = []
complete = construction.complete_model_class


def counting(cls, *args, **kwargs):
    built.append(cls.__name__)
    return complete(cls, *args, **kwargs)


construction.complete_model_class = counting
import liveloop

pairs = [f"{c.provider}/{c.transport}" for c in liveloop.capabilities()]
print(json.dumps({"pairs": pairs, "modules": sorted(sys.modules), "built": built}))
"""


def probe() -> dict[str, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, list[str]] = json.loads(out.stdout)
    return result


def test_loading_every_plugin_imports_no_heavy_module() -> None:
    result = probe()
    assert {"openai/websocket", "openai/webrtc", "gemini/websocket"} <= set(result["pairs"])
    loaded = set(result["modules"])
    assert [name for name in HEAVY if name in loaded] == []


def test_loading_every_plugin_builds_no_event_or_action_validator() -> None:
    # Features and Capability are dataclasses; every model waits for a session.
    built = set(probe()["built"])
    assert built <= {"SessionTurn", "Usage", "PhoneCall"}, built
