"""Dotted field paths: one rule for the transform, style conditions and event subscriptions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from lib.config import PROJECT_ROOT
from lib.events import EventBus
from lib.widgets import TransformSpec, apply_transform, parse_condition, parse_widget_text
from lib.widgets.field_paths import column_or_missing, field_value, field_values, value_at
from lib.widgets.interactions import WidgetInteractions
from lib.widgets.schema import FilterBySpec, SubscriptionSpec

RESPONSE: dict[str, Any] = {
    "data": [
        {"id": "ch_1", "lines": [{"price": "p_1"}, {"price": "p_2"}], "card": {"brand": "visa"}},
        {"id": "ch_2", "lines": [], "card": "card_9"},
    ]
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data.0.id", "ch_1"),
        ("data.0.card.brand", "visa"),
        ("data.0.lines.1.price", "p_2"),
        ("data.1.lines.0.price", None),  # past the end of an empty list
        ("data.2", None),  # past the end
        ("data.1.card.brand", None),  # a step into a string
        ("data.0.id.length", None),
        ("data.first", None),  # a name on a list
        ("data.-1", None),  # no counting from the end
        ("data.٠", None),  # Arabic-Indic zero: digits are ASCII only
        ("data." + "0" * 5000, None),  # longer than any list, and than int() accepts
        ("missing.path", None),
    ],
)
def test_a_path_reads_keys_and_list_positions_and_is_none_when_missing(
    path: str, expected: Any
) -> None:
    assert value_at(RESPONSE, path) == expected
    assert value_at(RESPONSE, path.split(".")) == expected


def test_a_row_prefers_a_field_whose_name_holds_the_dots() -> None:
    row = {"card.brand": "literal", "card": {"brand": "visa"}}
    assert field_value(row, "card.brand") == "literal"
    assert field_value({"card": {"brand": "visa"}}, "card.brand") == "visa"


def test_a_frame_reads_every_row_as_a_single_row_does() -> None:
    rows = [
        {"card": {"brand": "visa"}, "lines": [{"price": "p_1"}]},
        {"card": None, "lines": []},
        {"card": "card_1", "lines": None},
    ]
    frame = pd.DataFrame(rows)
    for name in ("card.brand", "lines.0.price", "card", "absent", "absent.deeper"):
        expected = [field_value(row, name) for row in rows]
        assert _missing_as_none(field_values(frame, name)) == expected, name


def test_a_missing_column_is_all_missing_values() -> None:
    frame = pd.DataFrame({"amount": [1, 2]})
    assert column_or_missing(frame, "amount").tolist() == [1, 2]
    assert _missing_as_none(column_or_missing(frame, "currency")) == [None, None]


def test_a_widget_whose_path_has_a_huge_position_shows_no_rows_instead_of_failing() -> None:
    definition = json.loads((PROJECT_ROOT / "widgets" / "stripe-payments.json").read_text())
    definition["transform"]["path"] = "data." + "1" * 5000
    widget = parse_widget_text(json.dumps(definition), "huge-position.json")

    rows = apply_transform(RESPONSE, widget.transform, datetime(2026, 11, 27, tzinfo=UTC))

    assert rows.empty


def test_a_condition_and_a_transform_read_nested_fields_alike() -> None:
    spec = {"path": "data", "mapItem": {"id": "id", "brand": "card.brand"}}
    widget_rows = apply_transform(RESPONSE, _transform(spec))
    assert _missing_as_none(widget_rows["brand"]) == ["visa", None]
    condition = parse_condition("card.brand === 'visa'")
    assert condition.evaluate_frame(pd.DataFrame(RESPONSE["data"])).tolist() == [True, False]


def test_a_subscription_reads_a_list_position_in_the_event_payload() -> None:
    seed = json.loads((PROJECT_ROOT / "widgets" / "stripe-payments.json").read_text())
    widget = parse_widget_text(json.dumps(seed), "payments.json")
    # No catalogued event carries a list yet, so the subscription is set on the loaded model.
    by_line = SubscriptionSpec.model_construct(
        pattern="invoice.selected",
        action="filter",
        filter_by=FilterBySpec.model_construct(
            event_field="lines.0.customer", widget_field="customer"
        ),
        required=False,
    )
    widget = widget.model_copy(update={"subscriptions": [by_line]})
    bus = EventBus()
    interactions = WidgetInteractions("payments", widget, bus, {})
    interactions.subscribe()

    bus.publish("invoice.selected", {"lines": [{"customer": "cus_B"}]}, "invoices")

    rows = pd.DataFrame({"id": ["ch_1", "ch_2"], "customer": ["cus_A", "cus_B"]})
    assert interactions.narrow(rows)["id"].tolist() == ["ch_2"]


def _transform(spec: dict[str, Any]) -> TransformSpec:
    return TransformSpec.model_validate(spec)


def _missing_as_none(values: pd.Series) -> list[Any]:
    # pandas shows a missing object as None or NaN depending on the operation; both are missing.
    return [
        None if value is None or value is pd.NA or value != value else value for value in values
    ]
