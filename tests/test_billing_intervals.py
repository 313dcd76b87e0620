"""The Subscriptions widget's "Per" column says how often a subscription is billed: "2 weeks"."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lib.config import PROJECT_ROOT
from lib.widgets import WidgetDefinitionError, load_widget_file
from lib.widgets.intervals import format_interval_series
from tests.apptest_support import run_app


def test_the_demo_accounts_two_week_subscriptions_read_2_weeks_on_the_dashboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(PROJECT_ROOT / "widgets" / "subscriptions.json", tmp_path)
    monkeypatch.setenv("WIDGETS_DIR", str(tmp_path))

    app = run_app()

    assert not app.exception
    rows = app.dataframe[0].value
    per = dict(zip(rows["plan"], rows["interval"], strict=True))
    # The demo's plans: Office Beans every 2 weeks, Coffee Club monthly, the annual one yearly.
    assert per["Office Beans"] == "2 weeks"
    assert per["Coffee Club"] == "month"
    assert per["Coffee Club (annual)"] == "year"


def test_counts_above_one_are_spelled_out_and_odd_values_never_pluralise() -> None:
    intervals = pd.Series(
        ["week", "month", "year", "day", "month", "fortnight", None, {"x": 1}, "week", "week"],
        dtype=object,
    )
    counts = pd.Series([2, 3, 1, None, 2.5, 2, 2, 2, True, 10**9], dtype=object)

    shown = format_interval_series(intervals, counts).tolist()

    assert shown == [
        "2 weeks",
        "3 months",
        "year",
        "day",  # no count: Stripe's default of 1
        "month",  # not a whole number of months
        "fortnight",  # not one of Stripe's intervals: shown as it came
        "",
        "",
        "week",  # a boolean is not a count
        "week",  # beyond any interval Stripe allows
    ]


def test_an_interval_field_needs_its_count_from_the_transform(tmp_path: Path) -> None:
    definition = json.loads((PROJECT_ROOT / "widgets" / "subscriptions.json").read_text())
    del definition["transform"]["mapItem"]["interval_count"]
    file = tmp_path / "subscriptions.json"
    file.write_text(json.dumps(definition))

    with pytest.raises(WidgetDefinitionError) as caught:
        load_widget_file(file)

    assert "display.fields[3].countField: unknown count field 'interval_count'" in str(caught.value)
