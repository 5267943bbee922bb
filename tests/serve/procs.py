"""Real ``liveloop serve`` processes and ``redis-server``s for the tests that need them."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
HAS_REDIS = Path(REDIS_SERVER).exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_module(folder: Path, source: str, name: str = "served_app") -> str:
    """Write ``source`` as ``folder/name.py``; return ``name:app``."""
    (folder / f"{name}.py").write_text(source)
    return f"{name}:app"


class ServeProcess:
    """A ``liveloop serve TARGET OPTIONS --port P`` subprocess on a free port."""

    def __init__(
        self,
        target: str,
        *options: str,
        cwd: Path,
        env: dict[str, str] | None = None,
        preexec: Callable[[], None] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"serve-{self.port}.log"
        command = [sys.executable, "-c", "import liveloop.cli; liveloop.cli.main()", "serve"]
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [*command, target, *options, "--port", str(self.port)],
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, **(env or {})},
                preexec_fn=preexec,
            )

    def output(self) -> str:
        return self.log.read_text()

    def _check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"liveloop serve exited ({self.proc.returncode}):\n{self.output()}"
            )

    async def ready(self, timeout: float = 60.0) -> None:
        """Wait until ``/healthz`` answers."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1.0) as client:
            while time.monotonic() < deadline:
                self._check_alive()
                try:
                    await client.get(f"{self.url}/healthz")
                    return
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
        raise AssertionError(f"liveloop serve did not start in {timeout} s:\n{self.output()}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        asyncio.run(self.ready(timeout))

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    async def wait(self, timeout: float) -> int:
        return await asyncio.to_thread(self.proc.wait, timeout)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit."""
        self.signal(signal.SIGTERM)
        try:
            await self.wait(40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await self.wait(5)


@contextmanager
def serve_process(
    target: str, *options: str, cwd: Path, env: dict[str, str] | None = None
) -> Iterator[ServeProcess]:
    """A ready :class:`ServeProcess` for synchronous tests; stopped on exit."""
    server = ServeProcess(target, *options, cwd=cwd, env=env)
    try:
        server.wait_ready()
        yield server
    finally:
        asyncio.run(server.stop())


@asynccontextmanager
async def serve_processes(
    target: str, *options: str, cwd: Path, env: dict[str, str] | None = None, count: int = 1
) -> AsyncIterator[list[ServeProcess]]:
    """``count`` ready :class:`ServeProcess`es started side by side; stopped on exit."""
    servers = [ServeProcess(target, *options, cwd=cwd, env=env) for _ in range(count)]
    try:
        await asyncio.gather(*(server.ready() for server in servers))
        yield servers
    finally:
        await asyncio.gather(*(server.stop() for server in servers))


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A ``redis-server`` of its own on a free port; yields ``redis://127.0.0.1:PORT/0``."""
    port = free_port()
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
