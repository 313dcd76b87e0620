"""Stripe's nested form syntax: `metadata[key]=v`, `items[0][price]=p`, `expand[]=x`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

_SCALARS = (str, int, float)


def encode_stripe_form(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten `data` into Stripe form pairs, in the order the keys were given.

    Nested mappings become `parent[key]`; lists of scalars `name[]`; lists holding mappings or
    lists `name[0][...]`; booleans `true`/`false`; None values are omitted; an empty string
    is kept (Stripe reads it as "unset"). Raises TypeError for any other value type.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        _encode(str(key), value, pairs)
    return pairs


def _encode(name: str, value: Any, pairs: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _encode(f"{name}[{key}]", item, pairs)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        nested = any(isinstance(item, Mapping | list | tuple) for item in value)
        for index, item in enumerate(value):
            _encode(f"{name}[{index}]" if nested else f"{name}[]", item, pairs)
    else:
        pairs.append((name, _scalar(name, value)))


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, _SCALARS):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} as Stripe parameter {name!r}")
