"""ICE settings for the WebRTC peer: which host addresses to offer, which STUN/TURN servers.

aioice gathers host candidates from every interface except the loopback ones, so on a
machine with only ``lo`` (a CI container, a sandbox) no candidate pair forms. The peer
therefore chooses its host addresses:

- explicitly (``WebRTCConnector(host_addresses=[...])``), else
- from the environment variable :data:`HOST_ADDRESSES_ENV`
  (``LIVELOOP_WEBRTC_HOST_ADDRESSES="192.0.2.10,2001:db8::10"``; IP addresses separated by
  commas or spaces), else
- the loopback address when the provider's URL is on loopback (``127.0.0.1``,
  ``localhost``, ``::1``: the bundled emulator), else
- aioice's own choice (every non-loopback interface).

No STUN or TURN server is contacted unless one is configured: explicitly
(``WebRTCConnector(ice_servers=[...])``) or with :data:`ICE_SERVERS_ENV`, a JSON list of
``{"urls": ..., "username": ..., "credential": ...}`` objects (as in the browser's
``RTCConfiguration.iceServers``).

aioice has no parameter for its host addresses, so :func:`host_addresses` overrides its
``get_host_addresses`` function *only for the task that gathers* (a context variable),
and only while at least one gather is running: the override is installed on the first
entry and removed when the last one leaves; other code gathering in the same process
(another peer, an answering emulator) keeps aioice's default or its own override.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import aioice.ice
from aiortc import RTCIceServer

from liveloop import ConfigError

__all__ = [
    "HOST_ADDRESSES_ENV",
    "ICE_SERVERS_ENV",
    "choose_host_addresses",
    "choose_ice_servers",
    "host_addresses",
    "parse_ice_servers",
]

HOST_ADDRESSES_ENV = "LIVELOOP_WEBRTC_HOST_ADDRESSES"
"""Environment variable: the host addresses to offer as ICE candidates (comma separated)."""

ICE_SERVERS_ENV = "LIVELOOP_WEBRTC_ICE_SERVERS"
"""Environment variable: STUN/TURN servers, a JSON list of ``{urls, username, credential}``."""

HostAddressFn = Callable[[bool, bool], list[str]]

_chosen: ContextVar[tuple[str, ...] | None] = ContextVar(
    "liveloop_webrtc_host_addresses", default=None
)
_users = 0
_wrapped: HostAddressFn | None = None


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """Stands in for ``aioice.ice.get_host_addresses`` while a gather is running."""
    chosen = _chosen.get()
    if chosen is None:
        assert _wrapped is not None
        return _wrapped(use_ipv4, use_ipv6)
    return [
        address
        for address in chosen
        if (use_ipv6 if ipaddress.ip_address(address).version == 6 else use_ipv4)
    ]


@contextlib.contextmanager
def host_addresses(addresses: Sequence[str] | None) -> Iterator[None]:
    """Make aioice offer exactly ``addresses`` as host candidates for gathers started in
    this context (``None``: leave aioice's choice alone).

    Reentrant and nestable; safe beside other code that patches the same function in the
    same way (save, replace, restore): the override is installed by the first user and
    restored by the last, and only if nobody replaced it in between.
    """
    global _users, _wrapped
    if addresses is None:
        yield
        return
    if _users == 0:
        current: HostAddressFn = aioice.ice.get_host_addresses
        if current is not _get_host_addresses:
            _wrapped = current
            aioice.ice.get_host_addresses = _get_host_addresses
    _users += 1
    token = _chosen.set(tuple(addresses))
    try:
        yield
    finally:
        _chosen.reset(token)
        _users -= 1
        if _users == 0 and aioice.ice.get_host_addresses is _get_host_addresses:
            assert _wrapped is not None
            aioice.ice.get_host_addresses = _wrapped  # type: ignore[assignment]


def _parse_addresses(text: str, source: str) -> list[str]:
    found: list[str] = []
    for part in text.replace(",", " ").split():
        try:
            found.append(str(ipaddress.ip_address(part.strip("[]"))))
        except ValueError:
            raise ConfigError(f"{source}: {part!r} is not an IP address") from None
    return found


def choose_host_addresses(
    base_url: str, configured: Sequence[str] | None = None
) -> list[str] | None:
    """The host addresses to offer for a provider at ``base_url`` (``None``: aioice's
    default). See the module docstring for the order of precedence."""
    if configured is not None:
        return _parse_addresses(" ".join(configured), "host_addresses")
    from_env = os.environ.get(HOST_ADDRESSES_ENV, "").strip()
    if from_env:
        return _parse_addresses(from_env, HOST_ADDRESSES_ENV)
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost":
        return ["127.0.0.1", "::1"]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.is_loopback:
        return ["::1"] if ip.version == 6 else ["127.0.0.1"]
    return None


def parse_ice_servers(value: Any, source: str = ICE_SERVERS_ENV) -> list[RTCIceServer]:
    """``RTCIceServer`` s from a list of ``{urls, username?, credential?}`` mappings."""
    if not isinstance(value, list):
        raise ConfigError(f"{source}: expected a list of {{urls, username, credential}} objects")
    servers: list[RTCIceServer] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) - {"urls", "username", "credential"}:
            raise ConfigError(
                f"{source}[{index}]: expected an object with urls, username, credential"
            )
        urls = entry.get("urls")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ConfigError(f"{source}[{index}].urls: expected a URL or a list of URLs")
        if not all(u.split(":", 1)[0] in ("stun", "stuns", "turn", "turns") for u in urls):
            raise ConfigError(f"{source}[{index}].urls: expected stun: or turn: URLs")
        username, credential = entry.get("username"), entry.get("credential")
        if not isinstance(username, str | None) or not isinstance(credential, str | None):
            raise ConfigError(f"{source}[{index}]: username and credential must be strings")
        servers.append(RTCIceServer(urls=urls, username=username, credential=credential))
    return servers


def choose_ice_servers(configured: Sequence[RTCIceServer] | None = None) -> list[RTCIceServer]:
    """The STUN/TURN servers to use: ``configured``, else :data:`ICE_SERVERS_ENV`, else none."""
    if configured is not None:
        return list(configured)
    text = os.environ.get(ICE_SERVERS_ENV, "").strip()
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        raise ConfigError(f"{ICE_SERVERS_ENV}: not valid JSON") from None
    return parse_ice_servers(value)
