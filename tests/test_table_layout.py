"""How tables and lists are laid out: column widths from their format, ids short, whole rows,
tables in rows of their own on the dashboard."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from lib.config import PROJECT_ROOT
from lib.render.widgets.dashboard import dashboard_rows
from lib.render.widgets.views import FIXED_LIST_ROWS, list_rows_shown, table_height
from lib.widgets.column_widths import (
    TEXT_FLOOR_PX,
    ColumnWidth,
    column_width,
    fitted_widths,
    short_id,
)
from lib.widgets.loader import LoadedWidget, load_widget_folder
from lib.widgets.rows import RowsView, rows_view
from lib.widgets.schema import DisplaySpec, FieldSpec

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)


def field(key: str, label: str, **spec: object) -> FieldSpec:
    return FieldSpec.model_validate({"key": key, "label": label, **spec})


def test_money_is_right_aligned_and_as_wide_as_its_longest_figure() -> None:
    narrow = column_width(field("amount", "Amount"), "money", pd.Series(["$9.00", "$19.99"]))
    wide = column_width(field("amount", "Amount"), "money", pd.Series(["KWD 19.650", "$1.00"]))

    assert narrow.align == wide.align == "right"
    assert narrow.pixels < wide.pixels <= 160


def test_ids_are_short_and_free_text_is_capped() -> None:
    ids = column_width(field("id", "Charge"), "text", pd.Series(["ch_Y4lfOFKeV1JQ7wBxJo9GzlbV"]))
    text = column_width(field("note", "Note"), "text", pd.Series(["word " * 400]))

    assert ids.ids and not ids.flexible and ids.pixels <= 110
    assert text.flexible and not text.ids and text.pixels == 240
    assert short_id("ch_Y4lfOFKeV1JQ7wBxJo9GzlbV") == "ch_Y4lf…zlbV"
    assert short_id("cus_12345678") == "cus_12345678"
    assert short_id("not an id") == "not an id"


def test_columns_that_need_more_room_than_the_table_has_narrow_their_free_text_only() -> None:
    money = ColumnWidth(100, "right")
    email = ColumnWidth(240, "left", flexible=True)
    description = ColumnWidth(140, "left", flexible=True)

    assert fitted_widths([money, email, description], 600) == [100, 240, 140]
    fitted = fitted_widths([money, email, description], 420)
    assert fitted[0] == 100 and sum(fitted) <= 420
    assert fitted[1] > fitted[2] >= TEXT_FLOOR_PX
    # Never below the floor, even when that leaves the table too wide.
    assert fitted_widths([money, email, description], 200) == [100, TEXT_FLOOR_PX, TEXT_FLOOR_PX]


def table_rows(count: int, height: object) -> RowsView:
    display = DisplaySpec.model_validate(
        {"view": "table", "layout": {"height": height}, "fields": [{"key": "id", "label": "Id"}]}
    )
    return rows_view(pd.DataFrame({"id": [f"r{n}" for n in range(count)]}), display, NOW)


def test_tables_and_lists_show_whole_rows() -> None:
    # Streamlit's grid rows are 35 px, the header too, with 2 px of border.
    assert table_height(table_rows(30, "fixed")) == 11 * 35 + 2
    assert table_height(table_rows(3, "fixed")) == 4 * 35 + 2
    assert table_height(table_rows(30, 200)) == 5 * 35 + 2
    assert table_height(table_rows(30, "auto")) == "auto"
    assert list_rows_shown(table_rows(30, "fixed")) == FIXED_LIST_ROWS
    assert list_rows_shown(table_rows(3, "fixed")) == 3
    assert list_rows_shown(table_rows(30, "auto")) == 30


def test_the_dashboard_gives_each_table_a_row_of_its_own() -> None:
    loaded = load_widget_folder(PROJECT_ROOT / "widgets")
    loaded.sort(key=lambda item: item.definition.position if item.definition else 0)

    rows = dashboard_rows(loaded, 2)

    assert [[item.widget_id for item in row] for row in rows] == [
        ["stripe-payments", "customer"],
        ["revenue-today"],
        ["failed-payments"],
        ["subscriptions"],
        ["recent-automations"],
    ]


def test_a_broken_file_takes_a_card_beside_the_others(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{ nope", encoding="utf-8")
    seed = json.loads((PROJECT_ROOT / "widgets" / "stripe-payments.json").read_text())
    (tmp_path / "seed.json").write_text(json.dumps(seed), encoding="utf-8")
    loaded: list[LoadedWidget] = load_widget_folder(tmp_path)

    assert [len(row) for row in dashboard_rows(loaded, 2)] == [2]
