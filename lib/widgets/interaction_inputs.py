"""What the event bus has done to a widget, as plain values: filters, highlights, its selection.

A `WidgetView` is built from these, so building one needs no bus and no session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ActiveFilter:
    """A `filter` subscription that has received its event: rows must have `field == value`."""

    index: int
    """The subscription's position in the definition (clearing the chip clears this one)."""
    field: str
    value: Any


@dataclass(frozen=True)
class InteractionInputs:
    """The interaction state a view depends on; the default is a widget nobody touched."""

    filters: tuple[ActiveFilter, ...] = ()
    waiting: bool = False
    """A required filter has not received its event yet: the widget shows its emptyState."""
    highlights: tuple[tuple[str, Any], ...] = ()
    """(row field, value) pairs: rows holding the value are marked."""
    published: str | None = None
    """Identity of the row this widget last published (its selected row)."""

    def narrow(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Only the rows whose field equals each active filter's value."""
        for active in self.filters:
            if active.field not in frame.columns:
                return frame.iloc[0:0]
            frame = frame[_equals(frame[active.field], active.value)]
        return frame

    def highlighted(self, frame: pd.DataFrame) -> pd.Series:
        """Rows to mark: the row this widget last published, and `highlight` matches."""
        marks = pd.Series(False, index=frame.index)
        if self.published is not None and "id" in frame.columns:
            marks |= _equals(frame["id"], self.published)
        for field, value in self.highlights:
            if field in frame.columns:
                marks |= _equals(frame[field], value)
        return marks


def json_value(value: Any) -> Any:
    """A cell as plain JSON: numpy numbers become Python numbers, missing values None."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (not isinstance(value, list | dict | str) and pd.isna(value)):
        return None
    return value


def json_column(values: pd.Series) -> list[Any]:
    """`json_value` of every cell of a column, converted column-wise where the dtype allows."""
    cells = values.tolist()
    if values.dtype == object:
        return [json_value(cell) for cell in cells]
    return [
        None if gone else cell for cell, gone in zip(cells, values.isna().tolist(), strict=True)
    ]


def row_payload(row: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The fields `keys` of a row as an event payload (plain JSON values, None when missing)."""
    return {key: json_value(row.get(key)) for key in keys}


def payload_columns(frame: pd.DataFrame, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """`row_payload` of every row of `frame`, column by column: key -> value per row."""
    missing = (None,) * len(frame)
    return {key: tuple(json_column(frame[key])) if key in frame else missing for key in keys}


def row_identity(row: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    """What tells a published row apart: its `id` when it has one, else its payload."""
    return str(json_value(row.get("id")) if "id" in row else dict(payload))


def row_identities(frame: pd.DataFrame, payloads: Mapping[str, Sequence[Any]]) -> list[str]:
    """`row_identity` of every row of `frame`, given its payload columns."""
    if "id" in frame.columns:
        return [str(value) for value in json_column(frame["id"])]
    rows = zip(*payloads.values(), strict=True) if payloads else [()] * len(frame)
    return [str(dict(zip(payloads, values, strict=True))) for values in rows]


def _equals(values: pd.Series, target: Any) -> pd.Series:
    if target is None:
        return values.isna()
    return values.astype("string").fillna("\x00") == str(target)
