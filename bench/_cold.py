"""One cold start, in a fresh process: ``python bench/_cold.py CONTENDER URL``.

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


async def main(name: str, url: str) -> None:
    client = make(name)
    await client.open(Emulator(base_url=url))
    ready = time.perf_counter()
    await client.close()
    print(json.dumps({"ready_at": ready, "helpers_s": HELPERS_S}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
