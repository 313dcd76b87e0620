"""The widget transform as pure pandas: path, mapItem, filter, sort, in that order.

Works column by column on the whole response, so 100,000 items cost a few pandas operations
rather than 100,000 Python iterations. Missing fields and missing intermediate objects
become nulls; integers stay integers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from lib.widgets.comparison import compare_series, compare_values, value_kinds
from lib.widgets.field_paths import column_or_missing, value_at, values_at
from lib.widgets.schema import FilterSpec, SortSpec, TransformSpec
from lib.widgets.time_tokens import resolve_time_tokens


def apply_transform(
    response: Any, spec: TransformSpec, now: datetime | None = None
) -> pd.DataFrame:
    """Turn an API response into the widget's rows.

    `path` picks the list out of the response (a single object counts as one item, a missing
    path as none); `mapItem` picks each output column by dotted path, yielding the `id` of an
    expanded object so definitions work with or without `expand[]`; every `filter` must hold
    (time tokens resolve against `now`, default the current time); `sort` is stable, nulls last.
    """
    items = _items_at(response, spec.path)
    frame = _map_items(items, spec.map_item)
    if spec.filter:
        moment = now or datetime.now(UTC)
        keep = pd.Series(True, index=frame.index)
        for rule in spec.filter:
            keep &= _filter_mask(frame, rule, moment)
        frame = frame[keep]
    if spec.sort is not None and spec.sort.field in frame.columns:
        frame = _sorted(frame, spec.sort)
    return frame.reset_index(drop=True)


def _items_at(response: Any, path: str | None) -> list[Any]:
    value = value_at(response, path) if path else response
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _id_of_expanded(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) and "id" in value else value


def _as_object(value: Any) -> dict[str, Any]:
    # A list of plain values maps like a list of {"value": ...} objects.
    return value if isinstance(value, dict) else {"value": value}


def _map_items(items: list[Any], map_item: dict[str, str] | None) -> pd.DataFrame:
    records = pd.Series(items, dtype=object)
    if len(records) and not records.map(type).eq(dict).all():
        records = records.map(_as_object)
    if map_item is None:
        raw = pd.DataFrame(records.tolist(), dtype=object)
        return pd.DataFrame({name: _settle_dtype(raw[name]) for name in raw.columns})
    paths = {key: source.split(".") for key, source in map_item.items()}
    heads = list(dict.fromkeys(segments[0] for segments in paths.values()))
    raw = pd.DataFrame(records.tolist(), columns=heads, dtype=object)
    columns: dict[str, pd.Series] = {}
    for key, segments in paths.items():
        values = values_at(raw[segments[0]], segments[1:])
        columns[key] = _settle_dtype(values, unwrap_ids=True)
    return pd.DataFrame(columns, index=raw.index, columns=list(map_item))


def _settle_dtype(values: pd.Series, unwrap_ids: bool = False) -> pd.Series:
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if unwrap_ids and kind not in ("integer", "floating", "string", "boolean", "empty"):
        values = values.map(_id_of_expanded, na_action="ignore")
        kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "integer":
        try:
            return values.astype("Int64" if values.isna().any() else "int64")
        except OverflowError:
            return values
    if kind in ("floating", "mixed-integer-float"):
        return values.astype("float64")
    if kind == "string":
        return values.astype("str")
    if kind == "boolean":
        return values.astype("boolean" if values.isna().any() else bool)
    return values.where(values.notna(), None)


def _filter_mask(frame: pd.DataFrame, rule: FilterSpec, now: datetime) -> pd.Series:
    values = column_or_missing(frame, rule.field)
    target = resolve_time_tokens(rule.value, now)
    if rule.operator == "in":
        matched = pd.Series(False, index=frame.index)
        for candidate in target:
            matched |= compare_series(values, "==", candidate)
        return matched
    if rule.operator in ("contains", "startsWith"):
        return _text_match(values, rule.operator, target)
    return compare_series(values, rule.operator, target)


def _text_match(values: pd.Series, operator: str, target: Any) -> pd.Series:
    kinds = value_kinds(values)
    matched = pd.Series(False, index=values.index)
    strings = kinds == "string"
    if isinstance(target, str) and strings.any():
        text = values[strings].astype("str")
        hits = (
            text.str.contains(target, regex=False)
            if operator == "contains"
            else text.str.startswith(target)
        )
        matched[strings] = np.asarray(hits, dtype=bool)
    others = kinds == "other"
    if operator == "contains" and others.any():
        matched[others] = values[others].map(partial(_list_holds, target=target)).astype(bool)
    return matched


def _list_holds(value: Any, target: Any) -> bool:
    return isinstance(value, list) and any(compare_values(item, "==", target) for item in value)


def _sorted(frame: pd.DataFrame, sort: SortSpec) -> pd.DataFrame:
    ascending = sort.direction == "asc"
    try:
        return frame.sort_values(sort.field, ascending=ascending, kind="stable", na_position="last")
    except TypeError:
        # Values of mixed kinds have no natural order: order them by their text instead.
        return frame.sort_values(
            sort.field,
            ascending=ascending,
            kind="stable",
            na_position="last",
            key=lambda column: column.map(str, na_action="ignore"),
        )
