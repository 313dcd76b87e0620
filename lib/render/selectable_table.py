"""A table whose selected row opens details elsewhere (a side panel), like Stripe's lists.

Streamlit selects rows by position; here the selection follows the row's identity instead: when
rows are added or reordered the table becomes a new widget (its key carries the row keys) whose
default selection is the remembered row at its new position.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

Item = TypeVar("Item")


def select_one(
    frame: pd.DataFrame,
    row_keys: Sequence[str],
    *,
    key: str,
    column_config: Mapping[str, Any],
) -> int | None:
    """Show `frame` (one row per entry of `row_keys`) with single-row selection; the position
    of the selected row, or None. The widget's key starts with `key`."""
    keys = list(row_keys)
    remembered = st.session_state.get(_remembered(key))
    default = (
        {"selection": {"rows": [keys.index(remembered)], "columns": []}}
        if remembered in keys
        else None
    )
    generation = str(st.session_state.get(_generation(key), 0))
    digest = hashlib.sha256("\n".join([generation, *keys]).encode()).hexdigest()[:16]
    choice = st.dataframe(
        frame,
        key=f"{key}{digest}",
        on_select="rerun",
        selection_mode="single-row",
        selection_default=default,
        hide_index=True,
        column_config=dict(column_config),
    )
    rows = [row for row in choice.selection.rows if 0 <= row < len(keys)]
    st.session_state[_remembered(key)] = keys[rows[0]] if rows else None
    return rows[0] if rows else None


def select_item(
    items: Sequence[Item],
    *,
    row: Callable[[Item], Mapping[str, object]],
    item_key: Callable[[Item], str],
    key: str,
    column_config: Mapping[str, Any],
) -> Item | None:
    """Show one row per item (`row(item)`, in `column_config`'s column order) with single-row
    selection, as `select_one` does; the selected item, or None."""
    frame = pd.DataFrame([row(item) for item in items], columns=list(column_config))
    keys = [item_key(item) for item in items]
    position = select_one(frame, keys, key=key, column_config=column_config)
    return None if position is None else items[position]


def clear_selection(key: str) -> None:
    """Forget the selection of the table keyed `key`: its next widget has no row selected."""
    st.session_state[_remembered(key)] = None
    st.session_state[_generation(key)] = st.session_state.get(_generation(key), 0) + 1


def _remembered(key: str) -> str:
    return f"_{key}selected"


def _generation(key: str) -> str:
    return f"_{key}generation"
