"""What people read: relative times, dates, badge colours, table cells and stat figures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from lib.config import PROJECT_ROOT
from lib.widgets import (
    DisplaySpec,
    FieldSpec,
    apply_transform,
    badge_colors,
    compute_stat,
    format_datetime,
    format_datetime_series,
    format_relative_time,
    format_relative_time_series,
    format_rows,
    format_short_date,
    format_short_date_series,
    load_widget_file,
)
from lib.widgets.formatting import stat_left_out_note
from lib.widgets.table import table_values

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
T = int(NOW.timestamp())
MINUTE, HOUR, DAY = 60, 3600, 86400
WIDGETS = PROJECT_ROOT / "widgets"


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (T, "just now"),
        (T - 59, "just now"),
        (T - 60, "1 minute ago"),
        (T - 119, "1 minute ago"),
        (T - 120, "2 minutes ago"),
        (T - HOUR + 1, "59 minutes ago"),
        (T - HOUR, "1 hour ago"),
        (T - DAY + 1, "23 hours ago"),
        (T - DAY, "1 day ago"),
        (T - 2 * DAY, "2 days ago"),
        (T - 30 * DAY + 1, "29 days ago"),
        (T - 30 * DAY, "1 month ago"),
        (T - 95 * DAY, "3 months ago"),
        (T - 365 * DAY, "1 year ago"),
        (T - 800 * DAY, "2 years ago"),
        (T + 30, "just now"),
        (T + 5 * MINUTE, "in 5 minutes"),
        (T + 2 * DAY, "in 2 days"),
        (T - 90.5, "1 minute ago"),
        ("2026-11-27T12:05:00Z", "1 hour ago"),
        (None, ""),
        ("not a date", ""),
    ],
)
def test_relative_time_at_boundaries(ts: Any, expected: str) -> None:
    assert format_relative_time(ts, NOW) == expected
    series = format_relative_time_series(pd.Series([ts, T - 60], dtype=object), NOW)
    assert series.tolist() == [expected, "1 minute ago"]


def test_dates_in_utc_and_in_the_viewers_zone() -> None:
    winter = int(datetime(2026, 11, 7, 23, 30, tzinfo=UTC).timestamp())
    summer = int(datetime(2026, 7, 1, 9, 5, tzinfo=UTC).timestamp())
    assert format_short_date(winter) == "Nov 7, 2026"
    assert format_short_date(winter, tz="Europe/Paris") == "Nov 8, 2026"
    # One absolute format across the app (lib.dates), the zone always stated.
    assert format_datetime(winter) == "Nov 7, 2026, 23:30 UTC"
    assert format_datetime(winter, tz="Europe/Paris") == "Nov 8, 2026, 00:30 CET"
    assert format_datetime(summer, tz="Europe/Paris") == "Jul 1, 2026, 11:05 CEST"
    assert format_datetime(summer, tz="America/New_York") == "Jul 1, 2026, 05:05 EDT"
    assert format_short_date(None) == "" and format_datetime(None) == ""
    stamps = pd.Series([winter, None, summer], index=[10, 11, 12])
    assert format_short_date_series(stamps).to_dict() == {
        10: "Nov 7, 2026",
        11: "",
        12: "Jul 1, 2026",
    }
    assert format_datetime_series(stamps, tz="Europe/Paris").tolist() == [
        "Nov 8, 2026, 00:30 CET",
        "",
        "Jul 1, 2026, 11:05 CEST",
    ]


def _badge(style: list[dict[str, str]] | None = None) -> FieldSpec:
    return FieldSpec.model_validate(
        {"key": "status", "label": "Status", "type": "badge", "style": style or []}
    )


def test_badge_colours_from_the_seed_style() -> None:
    seed = load_widget_file(WIDGETS / "stripe-payments.json")
    status_field = seed.display.fields[3]
    frame = pd.DataFrame({"status": ["succeeded", "failed", "pending", None]})
    assert badge_colors(frame, status_field).tolist() == ["green", "red", "orange", "gray"]


def test_badge_colour_fallbacks_by_value() -> None:
    values = [
        *("succeeded", "paid", "active", "failed", "canceled", "unpaid"),
        *("pending", "past_due", "incomplete", "trialing", "refunded", "Paid", None),
    ]
    frame = pd.DataFrame({"status": values})
    assert badge_colors(frame, _badge()).tolist() == [
        *("green", "green", "green", "red", "red", "red"),
        *("orange", "orange", "orange", "blue", "gray", "green", "gray"),
    ]


def test_first_matching_style_rule_wins_over_fallbacks() -> None:
    field = _badge(
        [
            {"condition": "amount > 10000", "className": "bg-purple-100 text-purple-800"},
            {"condition": "status === 'succeeded'", "className": "bg-amber-100 text-amber-800"},
            {"condition": "status === 'succeeded'", "className": "bg-green-100"},
            {"condition": "status == null", "className": "blue"},
        ]
    )
    frame = pd.DataFrame(
        {"status": ["succeeded", "succeeded", "failed", None], "amount": [50000, 10, 50000, 1]}
    )
    assert badge_colors(frame, field).tolist() == ["violet", "orange", "violet", "blue"]


def _seed_rows() -> list[dict[str, Any]]:
    return [
        {
            "id": "ch_1",
            "amount": 1999,
            "currency": "usd",
            "customer": {"id": "cus_A"},
            "status": "succeeded",
            "created": T - 300,
            "description": "Pro plan",
        },
        {
            "id": "ch_2",
            "amount": 123456,
            "currency": "jpy",
            "customer": "cus_B",
            "status": "succeeded",
            "created": T - 3 * DAY,
            "description": None,
        },
        {
            "id": "ch_3",
            "amount": 1999,
            "currency": "kwd",
            "customer": None,
            "status": "succeeded",
            "created": T - 2 * HOUR,
        },
        {
            "id": "ch_4",
            "amount": -500,
            "currency": "eur",
            "customer": "cus_C",
            "status": "failed",
            "created": T - 10,
        },
    ]


def test_seed_rows_are_formatted_for_reading() -> None:
    seed = load_widget_file(WIDGETS / "stripe-payments.json")
    frame = apply_transform({"data": _seed_rows()}, seed.transform, NOW)
    cells = format_rows(frame, seed.display, NOW)
    assert list(cells.columns) == ["amount", "customer", "description", "status", "created"]
    assert cells.to_dict("records") == [
        {
            "amount": "$19.99",
            "customer": "cus_A",
            "description": "Pro plan",
            "status": "succeeded",
            "created": "5 minutes ago",
        },
        {
            "amount": "KWD\xa01.999",
            "customer": "",
            "description": "",
            "status": "succeeded",
            "created": "2 hours ago",
        },
        {
            "amount": "¥123,456",
            "customer": "cus_B",
            "description": "",
            "status": "succeeded",
            "created": "3 days ago",
        },
    ]


def test_other_field_types_and_formats() -> None:
    display = DisplaySpec.model_validate(
        {
            "view": "table",
            "fields": [
                {"key": "receipt", "label": "Receipt", "type": "link", "linkText": "View"},
                {"key": "url", "label": "URL", "type": "link"},
                {"key": "brand", "label": "Card", "type": "icon", "icons": {"visa": "💳"}},
                {"key": "count", "label": "Count", "type": "number"},
                {"key": "ratio", "label": "Share", "type": "number", "format": "percent"},
                {"key": "fee", "label": "Fee", "type": "number", "format": "number"},
                {"key": "paid", "label": "Paid", "type": "text"},
                {"key": "created", "label": "Day", "type": "date", "format": "short-date"},
                {"key": "when", "label": "When", "type": "date"},
                {"key": "absent", "label": "Nothing", "type": "text"},
            ],
        }
    )
    frame = pd.DataFrame(
        {
            "receipt": ["https://pay.stripe.com/r/1", None],
            "url": ["https://pay.stripe.com/r/2", None],
            "brand": ["visa", "amex"],
            "count": pd.Series([1234567, None], dtype="Int64"),
            "ratio": [0.125, 1.0],
            "fee": [1234.5, -0.25],
            "paid": [True, None],
            "created": [T, None],
            "when": [T, T - DAY],
        }
    )
    cells = format_rows(frame, display, NOW, tz="UTC")
    assert cells.to_dict("records") == [
        {
            "receipt": "View",
            "url": "https://pay.stripe.com/r/2",
            "brand": "💳",
            "count": "1,234,567",
            "ratio": "12.5%",
            "fee": "1,234.5",
            "paid": "true",
            "created": "Nov 27, 2026",
            "when": "Nov 27, 2026, 13:05 UTC",
            "absent": "",
        },
        {
            "receipt": "",
            "url": "",
            "brand": "amex",
            "count": "",
            "ratio": "100%",
            "fee": "-0.25",
            "paid": "",
            "created": "",
            "when": "Nov 26, 2026, 13:05 UTC",
            "absent": "",
        },
    ]


def test_revenue_stat_is_one_figure_per_currency() -> None:
    revenue = load_widget_file(WIDGETS / "revenue-today.json")
    charges = [
        {"id": "1", "amount": 1000, "amount_refunded": 0, "currency": "usd", "status": "succeeded"},
        {
            "id": "2",
            "amount": 2550,
            "amount_refunded": 550,
            "currency": "usd",
            "status": "succeeded",
        },
        {"id": "3", "amount": 5000, "amount_refunded": 0, "currency": "jpy", "status": "succeeded"},
        {"id": "4", "amount": 999999, "amount_refunded": 0, "currency": "usd", "status": "failed"},
        {"id": "5", "amount": 1500, "amount_refunded": 0, "currency": "kwd", "status": "succeeded"},
        # Fully refunded: Stripe keeps it "succeeded", but none of it is revenue.
        {
            "id": "6",
            "amount": 800,
            "amount_refunded": 800,
            "currency": "kwd",
            "status": "succeeded",
        },
    ]
    frame = apply_transform({"data": charges}, revenue.transform, NOW)
    figures = compute_stat(frame, revenue.display)
    # Net, as the Charges summary's "Net" (gross of succeeded charges minus what was refunded).
    assert [(f.group, f.value, f.text) for f in figures] == [
        ("jpy", 5000, "¥5,000"),
        ("kwd", 1500, "KWD\xa01.500"),
        ("usd", 3000, "$30.00"),
    ]
    assert {figure.label for figure in figures} == {"Net revenue today"}
    assert compute_stat(frame.iloc[0:0], revenue.display) == []


def test_stat_average_and_count() -> None:
    display = DisplaySpec.model_validate(
        {
            "view": "stat",
            "fields": [{"key": "amount", "label": "Amount", "format": "currency"}],
            "stat": {"field": "amount", "aggregate": "avg", "groupBy": "currency", "label": "Avg"},
        }
    )
    frame = pd.DataFrame(
        {"amount": pd.Series([100, 101, None], dtype="Int64"), "currency": ["usd"] * 3}
    )
    # 100.5 cents rounds half-to-even to a whole minor unit.
    [average] = compute_stat(frame, display)
    assert (average.value, average.text) == (100, "$1.00")
    assert display.stat is not None
    stat = display.stat.model_copy(update={"aggregate": "count", "group_by": None})
    counting = display.model_copy(update={"stat": stat})
    [count] = compute_stat(frame, counting)
    assert (count.group, count.value, count.text) == (None, 2, "2")


def _money_stat(aggregate: str) -> DisplaySpec:
    return DisplaySpec.model_validate(
        {
            "view": "table",
            "fields": [{"key": "amount", "label": "Amount", "format": "currency"}],
            "stat": {
                "field": "amount",
                "aggregate": aggregate,
                "groupBy": "currency",
                "label": "S",
            },
        }
    )


CURRENCY_CASES = pd.DataFrame(
    {
        "amount": pd.Series([1000, 250, 700, 300, 900, 5, None], dtype="Int64"),
        "currency": ["usd", "USD", "", None, "u$d", "jpy", "jpy"],
    }
)


def test_money_stats_group_codes_in_any_case_and_leave_out_rows_without_one() -> None:
    figures = compute_stat(CURRENCY_CASES, _money_stat("sum"))
    assert [(f.group, f.value, f.text) for f in figures] == [
        ("jpy", 5, "¥5"),
        ("usd", 1250, "$12.50"),
    ]
    assert stat_left_out_note(CURRENCY_CASES, _money_stat("sum")) == (
        "3 rows left out: no valid currency code or whole amount"
    )
    [max_jpy, max_usd] = compute_stat(CURRENCY_CASES, _money_stat("max"))
    assert (max_jpy.text, max_usd.text) == ("¥5", "$10.00")
    assert stat_left_out_note(CURRENCY_CASES.iloc[[0, 1, 5]], _money_stat("sum")) == ""
    assert stat_left_out_note(CURRENCY_CASES.iloc[[2]], _money_stat("avg")) == (
        "1 row left out: no valid currency code or whole amount"
    )


def test_counting_keeps_rows_without_a_currency_in_their_own_group() -> None:
    figures = compute_stat(CURRENCY_CASES, _money_stat("count"))
    assert [(f.group, f.text) for f in figures] == [("jpy", "1"), ("usd", "2"), (None, "3")]
    assert stat_left_out_note(CURRENCY_CASES, _money_stat("count")) == ""


def test_large_money_sums_stay_exact() -> None:
    frame = pd.DataFrame({"amount": [2**62, 2**62, 2**62], "currency": ["usd"] * 3})
    [figure] = compute_stat(frame, _money_stat("sum"))
    assert figure.value == 3 * 2**62
    assert figure.text == "$138,350,580,552,821,637.12"


def test_table_money_without_a_currency_has_no_value_so_it_sorts_last() -> None:
    values, [money] = table_values(CURRENCY_CASES, _money_stat("sum"))
    assert values["amount"].tolist()[:2] == [10.0, 2.5]
    assert values["amount"].tolist()[5] == 5.0
    assert values["amount"].iloc[[2, 3, 4, 6]].isna().all()
    assert money.currencies.tolist() == ["usd", "usd", "", "", "", "jpy", "jpy"]
    ordered = values.sort_values("amount", ascending=False, na_position="last")
    assert ordered.index.tolist()[:3] == [0, 5, 1]
