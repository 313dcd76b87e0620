"""Money figures net of refunds: a stat's `minus` field, checked when the file loads, taken row by
row before the sum, and what the Dashboard shows for the shipped Revenue today widget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lib.config import PROJECT_ROOT
from lib.widgets import WidgetDefinitionError, load_widget_file
from lib.widgets.formatting import compute_stat, stat_left_out_note
from tests.apptest_support import run_app, shown_text

REVENUE = PROJECT_ROOT / "widgets" / "revenue-today.json"


def revenue_with(tmp_path: Path, change: dict[str, Any]) -> Path:
    definition = json.loads(REVENUE.read_text())
    definition["display"]["stat"].update(change)
    file = tmp_path / "revenue.json"
    file.write_text(json.dumps(definition))
    return file


def test_a_minus_field_must_be_mapped_and_cannot_go_with_a_count(tmp_path: Path) -> None:
    with pytest.raises(WidgetDefinitionError) as unmapped:
        load_widget_file(revenue_with(tmp_path, {"minus": "fee"}))
    assert "display.stat.minus: unknown field 'fee'" in str(unmapped.value)

    with pytest.raises(WidgetDefinitionError) as counted:
        load_widget_file(revenue_with(tmp_path, {"aggregate": "count"}))
    assert "display.stat.minus: a count has nothing to subtract" in str(counted.value)


def test_rows_whose_refund_cannot_be_read_are_left_out_and_counted() -> None:
    display = load_widget_file(REVENUE).display
    frame = pd.DataFrame(
        {
            "amount": [1000, 2000, 3000, 2**62],
            "amount_refunded": [250, "a lot", None, 0],
            "currency": ["usd"] * 4,
        }
    )

    assert [(f.group, f.text) for f in compute_stat(frame, display)] == [("usd", "$7.50")]
    assert stat_left_out_note(frame, display) == (
        "3 rows left out: no valid currency code or whole amount"
    )


@pytest.mark.usefixtures("demo_at_noon")
def test_the_dashboard_labels_todays_revenue_as_net() -> None:
    dashboard = run_app()

    assert "Net revenue today" in shown_text(dashboard)
    assert not any(text == "Revenue today" for text in shown_text(dashboard))
