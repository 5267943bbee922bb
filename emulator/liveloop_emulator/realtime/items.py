"""Conversation items on the wire: client items checked and turned into the engine's form,
and engine items rendered as GA ``realtime.item`` objects."""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Callable
from typing import Annotated, Any

from .. import audio
from ..engine import new_id
from .errors import ProtocolError, Strict, invalid_value, missing, one_of, validate, wrong_type

__all__ = ["parse_item", "wire_item"]


def _fast_decoder() -> Callable[[str], bytes] | None:
    try:
        import pybase64
    except ImportError:
        return None

    def decode(data: str) -> bytes:
        return pybase64.b64decode(data, validate=True)

    return decode


_fast_b64decode = _fast_decoder()
"""pybase64 where it is installed (about a fifth of ``a2b_base64``'s CPU per chunk). It
accepts a subset of what ``a2b_base64(strict_mode=True)`` accepts, with the same bytes
(checked on 600,000 random strings), so whatever it refuses is decided by ``a2b_base64``:
what is refused, and the error, stay the same."""

_ROLE_PARTS = {
    "user": ("input_text", "input_audio", "input_image"),
    "system": ("input_text",),
    "assistant": ("output_text", "output_audio"),
}
_ITEM_TYPES = ["message", "function_call", "function_call_output"]


class _Common(Strict):
    id: str = ""
    type: str
    object: Annotated[Any, one_of("realtime.item")] = None
    status: Annotated[Any, one_of("completed", "incomplete", "in_progress")] = None


class Message(_Common):
    role: Annotated[Any, one_of("user", "assistant", "system")]
    content: list[dict[str, Any]]


class FunctionCall(_Common):
    name: str
    arguments: str = ""
    call_id: str = ""


class FunctionCallOutput(_Common):
    call_id: str
    output: str


class TextPart(Strict):
    type: str
    text: str


class ImagePart(Strict):
    type: str
    image_url: str
    detail: Any = None


class AudioPart(Strict):
    type: str
    audio: str = ""
    transcript: str | None = None


_MODELS: dict[str, type[_Common]] = {
    "message": Message,
    "function_call": FunctionCall,
    "function_call_output": FunctionCallOutput,
}


def parse_item(value: Any, param: str, input_format: Any) -> tuple[dict[str, Any], bytes | None]:
    """A client's item in the engine's form, and the PCM of its ``input_audio`` part if any.

    Raises :class:`ProtocolError` for anything OpenAI refuses.
    """
    if not isinstance(value, dict):
        raise wrong_type(param, "an object", value)
    kind = value.get("type")
    if kind is None:
        raise missing(f"{param}.type")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise invalid_value(f"{param}.type", kind, _ITEM_TYPES)
    parsed = validate(model, value, param)
    item: dict[str, Any] = {"id": parsed.id or new_id("item"), "type": kind, "status": "completed"}
    if isinstance(parsed, FunctionCall):
        item.update(
            name=parsed.name, call_id=parsed.call_id or new_id("call"), arguments=parsed.arguments
        )
        return item, None
    if isinstance(parsed, FunctionCallOutput):
        item.update(call_id=parsed.call_id, output=parsed.output)
        return item, None
    assert isinstance(parsed, Message)
    parts, pcm = _parse_parts(parsed.role, parsed.content, f"{param}.content", input_format)
    item.update(role=parsed.role, content=parts)
    return item, pcm


def _parse_parts(
    role: str, content: list[dict[str, Any]], param: str, input_format: Any
) -> tuple[list[dict[str, Any]], bytes | None]:
    allowed = _ROLE_PARTS[role]
    parts: list[dict[str, Any]] = []
    pcm: bytes | None = None
    for index, part in enumerate(content):
        p = f"{param}[{index}]"
        ptype = part.get("type")
        if ptype not in allowed:
            raise invalid_value(f"{p}.type", ptype, allowed)
        if ptype in ("input_text", "output_text"):
            parts.append({"type": ptype, "text": validate(TextPart, part, p).text})
        elif ptype == "input_image":
            validate(ImagePart, part, p)
            parts.append(copy.deepcopy(part))
        elif ptype == "input_audio":
            audio_part = validate(AudioPart, part, p)
            if "audio" in part:
                pcm = audio.from_format(decode_base64(audio_part.audio, f"{p}.audio"), input_format)
            parts.append({"type": "input_audio", "transcript": audio_part.transcript})
        else:  # output_audio
            raise ProtocolError(
                "Assistant audio messages cannot be created; use 'output_text'.", param=f"{p}.type"
            )
    return parts, pcm


def decode_base64(data: str, param: str) -> bytes:
    # strict_mode refuses exactly what ``b64decode(validate=True)`` refuses, without its
    # regular-expression pass over every chunk of user audio.
    if _fast_b64decode is not None:
        try:
            return _fast_b64decode(data)
        except (binascii.Error, ValueError, TypeError):
            pass  # a2b_base64 decides, below
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(
            "Invalid 'audio'. Expected base64-encoded audio data.", param=param
        ) from exc


def wire_item(item: dict[str, Any], pcm: bytes | None = None, fmt: Any = None) -> dict[str, Any]:
    """The GA ``realtime.item`` for an engine item (with its audio, base64 in ``fmt``, when
    ``pcm`` is given)."""
    out = {"id": item["id"], "object": "realtime.item"}
    out.update((k, copy.deepcopy(v)) for k, v in item.items() if k != "id")
    if pcm is not None:
        data = base64.b64encode(audio.to_format(pcm, fmt)).decode("ascii")
        for part in out.get("content", []):
            if part.get("type") in ("input_audio", "output_audio"):
                part["audio"] = data
    return out
