"""How widget values compare: kinds, strict null-aware equality and ordering, per value or column.

Values compare only with values of the same kind (number, string, boolean): `==` is strict
equality, ordering applies to numbers and strings. A comparison involving a missing value is
false, except `!=`, which is true; two missing values are equal. Lists and objects are never
equal to anything. Style conditions, transform filters and display formatting all use these rules.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}
_COMPARABLE_KINDS = ("number", "string", "boolean")


def value_kind(value: Any) -> str:
    """'null', 'boolean', 'number', 'string' or 'other' (lists, objects, dates...)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, int | float | Decimal | np.integer | np.floating):
        return "null" if isinstance(value, float | np.floating) and math.isnan(value) else "number"
    if isinstance(value, str):
        return "string"
    return "other"


def compare_values(left: Any, operator_: str, right: Any) -> bool:
    """`left operator_ right` for two single values (`==`, `!=`, `>`, `<`, `>=`, `<=`) by the
    rules above."""
    left_kind, right_kind = value_kind(left), value_kind(right)
    if operator_ in ("==", "!="):
        equal = (left_kind == right_kind == "null") or (
            left_kind == right_kind and left_kind in _COMPARABLE_KINDS and bool(left == right)
        )
        return equal if operator_ == "==" else not equal
    if left_kind != right_kind or left_kind not in ("number", "string"):
        return False
    return bool(_ORDERING[operator_](left, right))


def value_kinds(series: pd.Series) -> pd.Series:
    """`value_kind` of every element, computed from the dtype when the dtype settles it."""
    dtype = series.dtype
    known = None
    if pd.api.types.is_bool_dtype(dtype):
        known = "boolean"
    elif pd.api.types.is_numeric_dtype(dtype):
        known = "number"
    elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        known = "string"
    if known is None:
        return series.map(value_kind).astype("str")
    kinds = pd.Series(known, index=series.index, dtype="str")
    return kinds.mask(series.isna(), "null")


def compare_series(left: pd.Series, operator_: str, right: pd.Series | Any) -> pd.Series:
    """Vectorised `compare_values`: `right` is a Series aligned with `left` or one value."""
    operator_ = {"===": "==", "!==": "!="}.get(operator_, operator_)
    left_kinds = value_kinds(left)
    if isinstance(right, pd.Series):
        right_kinds = value_kinds(right)
    else:
        right_kinds = pd.Series(value_kind(right), index=left.index, dtype="str")
    kinds = ("number", "string", "boolean") if operator_ in ("==", "!=") else ("number", "string")
    result = pd.Series(False, index=left.index, dtype=bool)
    for kind in kinds:
        same = (left_kinds == kind) & (right_kinds == kind)
        if not same.any():
            continue
        left_values = as_kind(left[same], kind)
        right_values = as_kind(right[same], kind) if isinstance(right, pd.Series) else right
        compare = operator.eq if operator_ in ("==", "!=") else _ORDERING[operator_]
        result[same] = np.asarray(compare(left_values, right_values), dtype=bool)
    if operator_ in ("==", "!="):
        result |= (left_kinds == "null") & (right_kinds == "null")
        return ~result if operator_ == "!=" else result
    return result


def as_kind(values: pd.Series, kind: str) -> pd.Series:
    """`values`, all of kind `kind`, in the dtype that compares them: numbers, text or bool."""
    if kind == "number":
        return pd.to_numeric(values)
    if kind == "string":
        return values.astype("str")
    return values.astype(bool)
