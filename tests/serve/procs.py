"""Real ``liveloop serve`` processes (and ``redis-server``s) for the tests that need them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[str], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"{what} exited ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} did not start within {timeout} s")


class ServeProcess:
    """A ``liveloop serve`` subprocess on a free port."""

    def __init__(self, proc: subprocess.Popen[str], url: str, log: Path) -> None:
        self.proc = proc
        self.url = url
        self.log = log

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def serve_process(
    target: str,
    *options: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    preexec: object = None,
) -> Iterator[ServeProcess]:
    """``liveloop serve TARGET OPTIONS --port P`` in ``cwd``; stopped (SIGTERM, then SIGKILL)."""
    port = free_port()
    log = cwd / f"serve-{port}.log"
    command = [sys.executable, "-c", "import liveloop.cli; liveloop.cli.main()", "serve", target]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*command, *options, "--port", str(port)],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
            preexec_fn=preexec,  # type: ignore[arg-type]
        )
    server = ServeProcess(proc, f"http://127.0.0.1:{port}", log)
    try:
        try:
            _wait_ready(f"{server.url}/healthz", proc, "liveloop serve")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; its output:\n{log.read_text()}") from None
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
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
            str(tmp),
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


def app_module(folder: Path, source: str, name: str = "served_app") -> str:
    """Write ``source`` as ``folder/name.py``; return ``name:app``."""
    (folder / f"{name}.py").write_text(source)
    return f"{name}:app"
