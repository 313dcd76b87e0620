"""Dotted field paths (`customer.email`, `data.0.id`) into JSON values: one rule everywhere.

A segment reads a key of an object, or, when it is ASCII digits, a position in a list; anything
else (a missing key, a position past the end, a step into a number or a string) is missing,
which is None. The transform, style conditions and event subscriptions all read paths here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

import pandas as pd

# No list is longer than 10**18 items, and int() refuses text of more than 4,300 digits.
_MAX_INDEX_DIGITS = 18


def child(value: Any, segment: str) -> Any:
    """`value[segment]` for an object, `value[int(segment)]` for a list, else None."""
    if isinstance(value, Mapping):
        return value.get(segment)
    if (
        isinstance(value, list)
        and segment.isascii()
        and segment.isdigit()
        and len(segment) <= _MAX_INDEX_DIGITS
    ):
        index = int(segment)
        return value[index] if index < len(value) else None
    return None


def value_at(value: Any, path: str | Iterable[str]) -> Any:
    """The value at a dotted path (or a sequence of segments) inside `value`; None if missing."""
    for segment in path.split(".") if isinstance(path, str) else path:
        value = child(value, segment)
        if value is None:
            return None
    return value


def field_value(row: Mapping[str, Any], name: str) -> Any:
    """A row's field `name`: the key itself when the row has it, else the dotted path."""
    if name in row:
        return row[name]
    return value_at(row, name)


def column_or_missing(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column `name`, or a column of missing values (None) when the frame has none."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(None, index=frame.index, dtype=object)


def values_at(values: pd.Series, segments: Iterable[str]) -> pd.Series:
    """`value_at` of every element, one segment at a time over the whole column."""
    for segment in segments:
        values = values.map(partial(child, segment=segment), na_action="ignore")
    return values


def field_values(frame: pd.DataFrame, name: str) -> pd.Series:
    """`field_value` of every row: the column `name`, else the dotted path into a column of
    objects; all missing when neither exists."""
    if name in frame.columns:
        return frame[name]
    head, *rest = name.split(".")
    if head not in frame.columns or not rest:
        return column_or_missing(frame, name)
    return values_at(frame[head], rest)
