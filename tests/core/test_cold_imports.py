"""What a fresh process imports to reach a ready WebSocket session, and to list the
capabilities of the install: only what that work needs (start-up time is mostly imports).

A WebSocket session needs no command line (click), no WebRTC stack (aiortc, PyAV), no
numpy, no web server, no other provider's codec, and no structlog while it writes no log
line. ``liveloop capabilities`` needs no command-line library (click), no event loop, no
pydantic (so no event, action or config model) and no structlog.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from liveloop_emulator import Emulator

NOT_FOR_A_WEBSOCKET_SESSION = (
    "click",
    "aiortc",
    "av",
    "numpy",
    "structlog",
    "starlette",
    "uvicorn",
    "httpx",
    "limits",
    "liveloop.cli",
    "liveloop_gemini.codec",
    "liveloop_openai_webrtc.peer",
    "liveloop_openai_webrtc.sideband",
    "liveloop_serve.cli",
    "liveloop_twilio.routes",
)

NOT_FOR_CAPABILITIES = (
    "asyncio",
    "click",
    "pydantic",
    "structlog",
    "websockets",
    "aiortc",
    "numpy",
    "liveloop.events",
    "liveloop.actions",
    "liveloop.config",
    "liveloop.session",
)

SESSION = """
import asyncio, json, sys
import liveloop


async def main(url):
    session = await liveloop.open_session(
        provider="openai", transport="websocket", api_key="sk-cold-imports", base_url=url
    )
    ready = sorted(sys.modules)
    await session.close()
    print(json.dumps(ready))


asyncio.run(main(sys.argv[1]))
"""

CAPABILITIES = """
import json, sys
from liveloop.cli import main

sys.argv = ["liveloop", "capabilities", "--json"]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


async def _modules(code: str, *args: str, stream: str = "stdout") -> set[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # A log level from the environment configures logging (and so imports structlog).
        env={k: v for k, v in os.environ.items() if not k.startswith("LIVELOOP_LOG")},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    text = (out if stream == "stdout" else err).decode().strip().splitlines()[-1]
    return set(json.loads(text))


async def test_a_websocket_session_imports_only_what_it_uses(emulator: Emulator) -> None:
    loaded = await _modules(SESSION, emulator.base_url)

    assert {"liveloop.session", "liveloop_openai.codec", "websockets"} <= loaded
    assert sorted(name for name in NOT_FOR_A_WEBSOCKET_SESSION if name in loaded) == []


async def test_listing_capabilities_imports_no_click_model_loop_or_logging_library() -> None:
    loaded = await _modules(CAPABILITIES, stream="stderr")

    assert {"liveloop.matrix", "liveloop_openai.plugin"} <= loaded
    assert sorted(name for name in NOT_FOR_CAPABILITIES if name in loaded) == []


BOUND_BEFORE_STRUCTLOG = """
import io, json, sys
import liveloop

with liveloop.bind_context(session_id="sess_cold"):
    assert "structlog" not in sys.modules
    buf = io.StringIO()
    liveloop.configure_logging("INFO", json=True, stream=buf)
    liveloop.get_logger("liveloop.test").info("inside")
print(json.dumps(json.loads(buf.getvalue())))
"""


async def test_context_bound_before_structlog_loads_reaches_the_line() -> None:
    # bind_context needs no structlog; a line written later in the context still has it.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BOUND_BEFORE_STRUCTLOG,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("LIVELOOP_LOG")},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    line = json.loads(out.decode().strip().splitlines()[-1])
    assert line["session_id"] == "sess_cold"
    assert line["event"] == "inside"
