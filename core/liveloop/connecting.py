"""Opening sessions: resolve the pair, open the connection, configure, hand over."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import SecretStr

from .codec import EventCodec
from .config import SessionConfig
from .errors import ConfigError, ConnectionLost
from .matrix import Capability, default_provider, resolve
from .plugins import PluginManager, Registered, get_plugin_manager
from .session import Session
from .specs import ProviderSpec, TransportSpec
from .tools import Tool, tools_from
from .transport import Connection

__all__ = ["connect", "open_session", "resolve_config"]


async def open_session(
    config: SessionConfig | None = None,
    /,
    *,
    tools: Iterable[Callable[..., Any] | Tool] = (),
    plugins: PluginManager | None = None,
    **options: Any,
) -> Session:
    """Open a live session (prefer :func:`connect`, which also closes it).

    ``options`` are :class:`SessionConfig` fields; with ``config`` given they override
    it. ``tools`` are Python functions (or :class:`Tool` objects) the model may call.
    Fields left unset take the provider's defaults (:func:`resolve_config`); ``api_key``
    and ``base_url`` default to the provider's environment variables (for OpenAI,
    ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``) and then its public endpoint.

    Raises :class:`ConfigError` for invalid options, :class:`UnsupportedTransport` for a
    pair no installed plugin implements, :class:`ProviderError` when the provider refuses
    and :class:`ConnectionLost` when it cannot be reached, all within
    ``connect_timeout``.
    """
    built_tools = tools_from(tools)
    # Only what was set: what the session leaves unset, the provider's defaults fill in.
    data: dict[str, Any] = config.model_dump(exclude_unset=True) if config is not None else {}
    data.update(options)
    if built_tools:
        data["tools"] = [
            *[t for t in data.get("tools", ()) if _tool_name(t) not in built_tools],
            *(tool.definition for tool in built_tools.values()),
        ]
    resolved, provider, transport, capability = resolve_config(
        SessionConfig.model_validate(data), plugins
    )
    connector = transport.spec.connector

    async def reopen() -> tuple[EventCodec, Connection]:
        codec = provider.spec.codec(resolved)
        try:
            async with asyncio.timeout(resolved.connect_timeout):
                connection = await connector.open(resolved)
        except TimeoutError:
            raise ConnectionLost(
                f"could not connect to {resolved.pair} within {resolved.connect_timeout:g} s"
            ) from None
        return codec, connection

    codec, connection = await reopen()
    session = Session(
        config=resolved,
        codec=codec,
        connection=connection,
        capability=capability,
        tools=built_tools.values(),
        reopen=reopen,
        max_session_seconds=provider.spec.max_session_seconds,
        errors=provider.spec.errors,
    )
    await session._start()
    return session


@asynccontextmanager
async def connect(
    config: SessionConfig | None = None,
    /,
    *,
    tools: Iterable[Callable[..., Any] | Tool] = (),
    plugins: PluginManager | None = None,
    record: str | os.PathLike[str] | None = None,
    **options: Any,
) -> AsyncIterator[Session]:
    """``async with liveloop.connect(...) as session:`` — a live session, closed on exit.

    Takes a :class:`SessionConfig` and/or its fields as keywords, for example
    ``connect(provider="openai", transport="websocket", model="gpt-realtime",
    instructions="...", tools=[book_table])``. See :func:`open_session` for errors.
    ``record="calls/first"`` records the session to ``calls/first.wav`` and
    ``calls/first.jsonl`` (see :mod:`liveloop.recording`).
    """
    session = await open_session(config, tools=tools, plugins=plugins, **options)
    recorder = None
    if record is not None:
        from .recording import Recorder

        recorder = Recorder(session, record)
    try:
        yield session
    finally:
        await session.close()
        if recorder is not None:
            await recorder.close()


def _tool_name(tool: Any) -> str:
    return str(tool["name"] if isinstance(tool, dict) else tool.name)


def resolve_config(
    config: SessionConfig, plugins: PluginManager | None = None
) -> tuple[SessionConfig, Registered[ProviderSpec], Registered[TransportSpec], Capability]:
    """``config`` as a session runs it, with the installed implementation of its pair.

    The provider is the one named, else the installed one (:func:`default_provider`);
    the transport the one named, else the provider's default; every field the session
    left unset takes the provider's ``defaults``, then its key and endpoint from the
    environment. Raises :class:`UnsupportedTransport` or :class:`ConfigError`.
    """
    name = config.provider or default_provider(plugins)
    spec = (plugins or get_plugin_manager()).providers().get(name)
    transport = config.transport or (spec.spec.defaults.get("transport") if spec else "?")
    if not isinstance(transport, str):
        raise ConfigError(f"transport: name one (provider {name} declares no default)")
    provider, transport_reg, capability = resolve(name, transport, plugins)
    named = config.model_copy(update={"provider": name, "transport": transport})
    resolved = _with_provider_defaults(named.with_defaults(provider.spec.defaults), provider.spec)
    return resolved, provider, transport_reg, capability


def _with_provider_defaults(config: SessionConfig, spec: ProviderSpec) -> SessionConfig:
    updates: dict[str, Any] = {}
    if config.api_key is None and spec.api_key_env and os.environ.get(spec.api_key_env):
        updates["api_key"] = SecretStr(os.environ[spec.api_key_env])
    if config.base_url is None:
        base_url = (os.environ.get(spec.base_url_env) if spec.base_url_env else None) or (
            spec.default_base_url
        )
        if base_url is not None:
            updates["base_url"] = base_url
    if not updates:
        return config
    try:
        return SessionConfig.model_validate({**config.model_dump(), **updates})
    except ConfigError as exc:
        raise ConfigError(f"provider defaults for {config.provider}: {exc}", exc.errors) from None
