"""The strict pydantic base that every liveloop model builds on."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic._internal._model_construction import ModelMetaclass

from .errors import ConfigError


class _ConfigErrorMeta(ModelMetaclass):
    # Wrapping the class call (not __init__) keeps pydantic's nested validation untouched,
    # so a ConfigError carries the full dotted path of the offending field.
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise ConfigError.from_validation(exc) from None


class StrictModel(BaseModel, metaclass=_ConfigErrorMeta):
    """An immutable model that rejects unknown keys, NaN and infinities.

    Construction, :meth:`model_validate` and :meth:`model_validate_json` raise
    :class:`ConfigError` (never a bare pydantic ``ValidationError``), with every
    offending field named.
    """

    # defer_build: validators are built on first use, not at import (start-up time).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: Any = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        options = _given(
            strict=strict,
            extra=extra,
            from_attributes=from_attributes,
            context=context,
            by_alias=by_alias,
            by_name=by_name,
        )
        try:
            return super().model_validate(obj, **options)
        except ValidationError as exc:
            raise ConfigError.from_validation(exc) from None

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: Any = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        options = _given(
            strict=strict, extra=extra, context=context, by_alias=by_alias, by_name=by_name
        )
        try:
            return super().model_validate_json(json_data, **options)
        except ValidationError as exc:
            raise ConfigError.from_validation(exc) from None


def _given(**options: Any) -> dict[str, Any]:
    # Only the options a caller set are passed on: pydantic before 2.12 has no `extra`
    # (nor, before 2.11, `by_alias` / `by_name`) and rejects them even as None.
    return {name: value for name, value in options.items() if value is not None}
