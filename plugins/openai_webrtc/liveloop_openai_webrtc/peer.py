"""This process as the WebRTC client of OpenAI Realtime (peer mode), with aiortc."""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)

from liveloop import ConfigError, ConnectionLost, ProviderError, SessionConfig, get_logger
from liveloop.transport import MediaChannel
from liveloop_openai.defaults import with_defaults
from liveloop_openai.session_config import session_update_payload

from .ice import choose_host_addresses, choose_ice_servers, host_addresses
from .lean import drop_rtp_history, release_dtls_buffers
from .media import WebRTCMedia

__all__ = ["EVENTS_CHANNEL", "WebRTCConnection", "WebRTCConnector", "calls_url"]

_log = get_logger("liveloop.openai_webrtc")

EVENTS_CHANNEL = "oai-events"
"""The data channel that carries the Realtime events."""
CLOSE_TIMEOUT = 0.8
HANGUP_TIMEOUT = 0.4
MAX_ANSWER_BYTES = 256 * 1024
_MEDIA_EVENTS = ("output_audio_buffer.", "response.output_item.added")


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (with the CA bundle) for every call's HTTP requests in this process.

    Each ``httpx.AsyncClient()`` otherwise loads the CA bundle again: about 800 KB and
    20 ms of CPU per call, freed after the offer but fragmenting the heap the call's
    media then grows into (measured in bench/FIXES.md, WebRTC).
    """
    return httpx.create_ssl_context()


def calls_url(base_url: str, *, model: str | None = None) -> str:
    """``{base_url}/realtime/calls`` (with ``?model=`` when given)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base_url: expected an http(s) URL (got {base_url!r})")
    url = base_url.rstrip("/") + "/realtime/calls"
    return f"{url}?{urlencode({'model': model})}" if model else url


class WebRTCConnection:
    """One live peer connection: events on ``oai-events``, audio on the tracks.

    :meth:`receive` raises :class:`ConnectionLost` once the data channel closes, the
    peer connection fails or closes (ICE or DTLS failure, the provider hanging up).
    """

    def __init__(
        self,
        pc: RTCPeerConnection,
        channel: RTCDataChannel,
        media: WebRTCMedia,
        *,
        base_url: str,
        api_key: str,
        call_id: str | None,
    ) -> None:
        self.media: MediaChannel | None = media
        self.audio = media
        """The same channel as :attr:`media`, with its WebRTC specifics (drop counters)."""
        self.call_id = call_id
        """The provider's id for this call (from the ``Location`` header), if it gave one."""
        self._pc = pc
        self._channel = channel
        self._base_url = base_url
        self._api_key = api_key
        self._messages: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._lost: ConnectionLost | None = None
        self._lost_event = asyncio.Event()
        self._ready = asyncio.Event()
        """Set when a message is queued or the connection is lost."""
        self._closed = False
        channel.on("message", self._on_message)
        channel.on("close", lambda: self._lose("the data channel closed"))
        pc.on("connectionstatechange", self._on_state)
        pc.on("iceconnectionstatechange", self._on_state)
        self._on_state()

    # -- Connection ---------------------------------------------------------------------------

    async def send(self, message: str) -> None:
        """Send one JSON event on the data channel."""
        if self._lost is not None:
            raise self._lost
        if self._channel.readyState != "open":
            self._lose("the data channel is not open")
            assert self._lost is not None
            raise self._lost
        try:
            self._channel.send(message)
        except Exception as exc:  # aiortc raises InvalidStateError once the channel is gone
            self._lose("sending on the data channel failed", exc)
            assert self._lost is not None
            raise self._lost from None

    async def receive(self) -> str | bytes:
        """The next event from the provider."""
        # One event for "a message or the loss": no task per message.
        while self._messages.empty():
            if self._lost is not None:
                raise self._lost
            self._ready.clear()
            await self._ready.wait()
        return self._messages.get_nowait()

    async def close(self) -> None:
        """Hang up (best effort) and close the peer connection, within a second."""
        if self._closed:
            return
        self._closed = True
        self._lose("the connection was closed")
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await asyncio.gather(self._hangup(), self._close_pc(), return_exceptions=True)
        except TimeoutError:
            _log.debug("closing the peer connection did not finish in time")

    # -- internals ---------------------------------------------------------------------------

    async def _hangup(self) -> None:
        if self.call_id is None or not self._was_live():
            return
        url = f"{self._base_url.rstrip('/')}/realtime/calls/{self.call_id}/hangup"
        try:
            async with httpx.AsyncClient(timeout=HANGUP_TIMEOUT, verify=_tls()) as client:
                await client.post(url, headers={"Authorization": f"Bearer {self._api_key}"})
        except (httpx.HTTPError, OSError) as exc:
            _log.debug("hangup request failed", error=type(exc).__name__)

    def _was_live(self) -> bool:
        # A call the provider already ended needs no hangup.
        return self._pc.connectionState not in ("closed", "failed")

    async def _close_pc(self) -> None:
        await self.audio.stop()
        await self._pc.close()

    def _on_message(self, message: str | bytes) -> None:
        # The media channel follows playback and output items to attribute track audio.
        if isinstance(message, str) and any(kind in message for kind in _MEDIA_EVENTS):
            try:
                event = json.loads(message)
            except ValueError:
                event = None
            if isinstance(event, dict) and isinstance(event.get("type"), str):
                self.audio.on_event(event)
        self._messages.put_nowait(message)
        self._ready.set()

    def _on_state(self) -> None:
        state = self._pc.connectionState
        ice = self._pc.iceConnectionState
        if state in ("failed", "closed"):
            self._lose(f"the peer connection {state}")
        elif ice in ("failed", "closed"):
            self._lose(f"ICE {ice}")

    def _lose(self, reason: str, cause: BaseException | None = None) -> None:
        if self._lost is not None:
            return
        self._lost = ConnectionLost(reason, cause)
        self._lost_event.set()
        self._ready.set()
        self.audio.lose(self._lost)
        if not self._closed:
            _log.info("WebRTC connection lost", reason=reason, call_id=self.call_id)


class WebRTCConnector:
    """Opens :class:`WebRTCConnection` s by posting an SDP offer to
    ``{base_url}/realtime/calls``.

    ``host_addresses`` and ``ice_servers`` override the ICE settings described in
    :mod:`liveloop_openai_webrtc.ice` (environment variables
    ``LIVELOOP_WEBRTC_HOST_ADDRESSES`` and ``LIVELOOP_WEBRTC_ICE_SERVERS``; loopback
    candidates automatically for a provider on loopback; no STUN server unless configured).
    The API key travels in the ``Authorization`` header only.
    """

    def __init__(
        self,
        *,
        host_addresses: Sequence[str] | None = None,
        ice_servers: Sequence[RTCIceServer] | None = None,
    ) -> None:
        self._host_addresses = list(host_addresses) if host_addresses is not None else None
        self._ice_servers = list(ice_servers) if ice_servers is not None else None

    async def open(self, config: SessionConfig) -> WebRTCConnection:
        """Negotiate a call and return it once the events channel is open (all of it
        bounded by ``config.connect_timeout``)."""
        config = with_defaults(config)
        if config.base_url is None:
            raise ConfigError("base_url: no endpoint configured for OpenAI WebRTC")
        if config.api_key is None:
            raise ConfigError("api_key: no API key given and OPENAI_API_KEY is not set")
        for name, audio in (
            ("input_audio", config.input_audio),
            ("output_audio", config.output_audio),
        ):
            if audio.encoding != "pcm16":
                raise ConfigError(
                    f"{name}.encoding: openai/webrtc carries pcm16 only (got {audio.encoding!r})"
                )
        url = calls_url(config.base_url)
        addresses = choose_host_addresses(config.base_url, self._host_addresses)
        servers = choose_ice_servers(self._ice_servers)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        release_dtls_buffers(pc)
        media = WebRTCMedia(
            input_rate=config.input_audio.rate, output_rate=config.output_audio.rate
        )
        try:
            async with asyncio.timeout(config.connect_timeout):
                return await self._negotiate(pc, media, config, url, addresses)
        except TimeoutError:
            await _abandon(pc, media)
            raise ConnectionLost(
                f"WebRTC negotiation with {url} timed out after {config.connect_timeout} s"
            ) from None
        except BaseException:
            await _abandon(pc, media)
            raise

    async def _negotiate(
        self,
        pc: RTCPeerConnection,
        media: WebRTCMedia,
        config: SessionConfig,
        url: str,
        addresses: list[str] | None,
    ) -> WebRTCConnection:
        assert config.api_key is not None and config.base_url is not None
        key = config.api_key.get_secret_value()
        channel = pc.createDataChannel(EVENTS_CHANNEL)
        opened = asyncio.Event()
        channel.on("open", opened.set)
        drop_rtp_history(pc.addTrack(media.track))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            receivers = [r for r in pc.getReceivers() if r.track is track]
            media.attach_remote(track, receivers[0] if receivers else None)

        offer = await pc.createOffer()
        with host_addresses(addresses):
            await pc.setLocalDescription(offer)  # gathers every candidate (no trickle)
        _log.debug("posting the SDP offer", url=url, host_addresses=addresses)
        session = session_update_payload(config)
        answer, call_id = await _post_offer(url, key, pc.localDescription.sdp, session)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        except Exception as exc:
            raise ProviderError(
                f"the provider's SDP answer could not be used: {exc}", code="bad_sdp_answer"
            ) from None
        connection = WebRTCConnection(
            pc, channel, media, base_url=config.base_url, api_key=key, call_id=call_id
        )
        if channel.readyState != "open":
            waiting = asyncio.ensure_future(opened.wait())
            lost = asyncio.ensure_future(connection._lost_event.wait())
            try:
                await asyncio.wait({waiting, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiting.cancel()
                lost.cancel()
            if not opened.is_set():
                assert connection._lost is not None
                raise ConnectionLost(f"the WebRTC call could not be set up: {connection._lost}")
        _log.info("WebRTC call connected", call_id=call_id)
        return connection


async def _post_offer(
    url: str, key: str, sdp: str, session: dict[str, Any]
) -> tuple[str, str | None]:
    # The server-side ("unified") shape: the offer and the session config in one multipart
    # request, as OpenAI takes it with a standard API key.
    headers = {
        "Authorization": f"Bearer {key}",
        "Accept": "application/sdp",
        "User-Agent": "liveloop",
    }
    files = {
        "sdp": (None, sdp.encode(), "application/sdp"),
        "session": (None, json.dumps(session).encode(), "application/json"),
    }
    try:
        async with httpx.AsyncClient(verify=_tls()) as client:
            response = await client.post(url, files=files, headers=headers)
    except httpx.HTTPError as exc:
        raise ConnectionLost(f"could not reach {url}", exc) from None
    if not response.is_success:
        raise _refusal(response)
    if len(response.content) > MAX_ANSWER_BYTES or not response.text.lstrip().startswith("v=0"):
        raise ProviderError(
            f"the provider answered the offer without an SDP answer (HTTP {response.status_code})",
            code="bad_sdp_answer",
        )
    location = response.headers.get("location", "")
    call_id = location.rstrip("/").rsplit("/", 1)[-1] or None
    return response.text, call_id


def _refusal(response: httpx.Response) -> ProviderError:
    status = response.status_code
    message = f"the provider refused the call (HTTP {status})"
    code: str | None = None
    raw: dict[str, Any] | None = None
    try:
        body = response.json()
        error = body.get("error") or {}
        raw = body
        message = f"{message}: {error.get('message') or ''}".rstrip(": ")
        code = error.get("code")
        if not code and status not in (401, 403):
            code = error.get("type")
    except (ValueError, AttributeError):
        pass
    return ProviderError(message, code=code or f"http_{status}", raw=raw)


async def _abandon(pc: RTCPeerConnection, media: WebRTCMedia) -> None:
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await media.stop()
            await pc.close()
    except (TimeoutError, Exception) as exc:
        _log.debug("abandoning the peer connection failed", error=str(exc))
