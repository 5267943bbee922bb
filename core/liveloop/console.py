"""``liveloop console module:app``: talk to a handler by typing, and watch it work.

Each line typed is a user turn (``send_text``); the assistant's replies, tool calls and
results print as they happen. By default the handler runs against the bundled emulator
(optionally with a reply script); with ``live`` against the provider's public endpoint
(for OpenAI, with ``OPENAI_API_KEY``). What is specific to the handler's provider (its key
variable, how a session reaches the emulator) comes from the provider's plugin.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import sys
import threading
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

from .app import App
from .demo.transcript import Follower, Transcript
from .errors import LiveloopError
from .specs import ProviderSpec
from .tools import Tool

__all__ = ["ConsoleError", "load_app", "run_console"]

ANSWER_TIMEOUT = 20.0
QUIET_S = 1.0
"""How long the console waits, once the input has ended, for the replies still due."""


class ConsoleError(LiveloopError):
    """The console could not start: a bad target, a missing key or package."""


def load_app(target: str) -> App:
    """Import ``module:attribute`` (attribute defaults to ``app``) and check it is an App.

    The current directory is importable, as for ``python -m``.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name:
        raise ConsoleError(f"expected module:app, got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConsoleError(f"cannot import {module_name!r}: {exc}") from exc
    attribute = attribute or "app"
    if not hasattr(module, attribute):
        raise ConsoleError(f"module {module_name!r} has no attribute {attribute!r}")
    app = getattr(module, attribute)
    if not isinstance(app, App):
        raise ConsoleError(f"{target!r} is not a liveloop.App (found {type(app).__name__})")
    return app


def _provider(name: Any) -> ProviderSpec:
    from .matrix import default_provider
    from .plugins import get_plugin_manager

    manager = get_plugin_manager()
    chosen = name if isinstance(name, str) else default_provider(manager)
    registered = manager.providers().get(chosen)
    if registered is None:
        raise ConsoleError(f"provider {chosen} is not installed (see `liveloop plugins`)")
    return registered.spec


def read_lines(
    stream: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]
) -> None:
    # A daemon thread, so a pending readline never keeps the process alive at exit.
    def reader() -> None:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="liveloop-console-stdin", daemon=True).start()


async def run_console(
    target: str,
    *,
    session: str | None = None,
    live: bool = False,
    script: Path | None = None,
    stream: TextIO | None = None,
    record: Path | None = None,
) -> None:
    """Run ``target``'s handler and feed it the lines read from ``stream`` (stdin).

    Ends when the input ends (end of file, Ctrl-D) or the handler returns.
    """
    app = load_app(target)
    spec = _provider(app.handler(session).options.get("provider"))
    transcript = Transcript()
    async with AsyncExitStack() as stack:
        options: dict[str, Any] = {"provider": spec.name}
        if live:
            key = spec.api_key_env
            if key and not os.environ.get(key):
                raise ConsoleError(
                    f"--live talks to {spec.name} and needs {key} in the environment"
                )
        else:
            if spec.emulator is None:
                raise ConsoleError(f"provider {spec.name} cannot run on the bundled emulator")
            try:
                from liveloop_emulator import Emulator, load_script
            except ImportError:
                raise ConsoleError(
                    "the console needs the bundled emulator: pip install liveloop-emulator"
                ) from None
            rules = load_script(script) if script is not None else []
            emulator = await stack.enter_async_context(Emulator(script=rules))
            options = {**spec.emulator.options(emulator), **options}
        if record is not None:
            options["record"] = record
        run = await stack.enter_async_context(app.start(session, **options))
        where = (
            f"{spec.name}'s public endpoint"
            if live
            else f"the bundled emulator at {options.get('base_url')}"
        )
        transcript.info(f"{target} on {where}. Type a line per turn; Ctrl-D ends.")
        tools = [Tool.from_function(tool).definition.name for tool in run.handler.tools]
        if tools and not live and script is None:
            transcript.info(
                f"The handler has tools ({', '.join(tools)}); the emulator calls one only when a"
                ' reply rule says so: --script rules.json with [{"match": "regex", "tool":'
                f' "{tools[0]}", "arguments": {{...}}}}] (see docs/emulator.md).'
            )
        follower = Follower(run.session, transcript, decode_audio=not live, show_turns=True)
        following = asyncio.create_task(follower.run())
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        read_lines(stream or sys.stdin, asyncio.get_running_loop(), lines)
        sent = 0
        try:
            while not run.task.done():
                getter = asyncio.ensure_future(lines.get())
                await asyncio.wait({getter, run.task}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    break
                line = getter.result()
                if line is None:
                    # The input ended (piped, or Ctrl-D): let the conversation finish first.
                    await _until_answered(follower, sent, run.task)
                    await _until_quiet(follower, run.task)
                    break
                if line.strip():
                    await run.session.send_text(line.strip())
                    sent += 1
                    # Turn-taking: the next line waits for this one's reply (bounded), so
                    # piped input reads like a conversation too.
                    await _until_answered(follower, sent, run.task)
        finally:
            # Print what the session said up to its end before leaving.
            await run.session.close()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(following, 1.0)


async def _until_quiet(follower: Follower, handler: asyncio.Future[Any]) -> None:
    # Until the handler ends or the session has been silent for a moment (bounded).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ANSWER_TIMEOUT
    while not handler.done() and loop.time() < deadline:
        if time.monotonic() - follower.last_event_at > QUIET_S:
            return
        await asyncio.sleep(0.1)


async def _until_answered(follower: Follower, turns: int, handler: asyncio.Future[Any]) -> None:
    if not turns:
        return
    answers = asyncio.ensure_future(follower.wait_for_answers(turns, ANSWER_TIMEOUT))
    await asyncio.wait({answers, handler}, return_when=asyncio.FIRST_COMPLETED)
    if answers.done():
        with contextlib.suppress(TimeoutError):  # a handler that does not answer
            answers.result()
    else:
        answers.cancel()
