"""One cold start, in a fresh process: ``python bench/_cold.py CONTENDER URL``
(``floor+pydantic``: the floor after building and validating one pydantic model).

Imports the bench helpers first (timed and reported, so the caller can take them out:
they are the same for every contender), then the contender's own modules, connects to the
emulator at URL and configures the session. Prints one JSON line: ``perf_counter()`` at the
moment the session was ready (``CLOCK_MONOTONIC`` on Linux: the caller subtracts its own
clock reading from just before it started this process) and the helpers' import time.
"""

from __future__ import annotations

import time

_started = time.perf_counter()

import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _clients import make  # noqa: E402
from _common import Emulator  # noqa: E402

HELPERS_S = time.perf_counter() - _started


PYDANTIC_FLOOR = "floor+pydantic"
"""A reference, not a contender: the floor's client in a process that first imports
pydantic and validates one small model, the least any client configured with pydantic
models pays on top of the floor."""


def _one_pydantic_model() -> None:
    from typing import Literal

    from pydantic import BaseModel, Field

    class Vad(BaseModel):
        type: Literal["server_vad"] = "server_vad"
        threshold: float = Field(default=0.5, ge=0, le=1)
        silence_duration_ms: int = 500
        create_response: bool = True

    Vad(create_response=False)


async def main(name: str, url: str) -> None:
    if name == PYDANTIC_FLOOR:
        _one_pydantic_model()
        name = "floor"
    client = make(name)
    await client.open(Emulator(base_url=url))
    ready = time.perf_counter()
    await client.close()
    print(json.dumps({"ready_at": ready, "helpers_s": HELPERS_S}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
