"""The transform turns an API response into rows: path, mapItem, filter, sort."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from lib.config import PROJECT_ROOT
from lib.widgets import TransformSpec, apply_transform, load_widget_file

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())


def _spec(**spec: Any) -> TransformSpec:
    return TransformSpec.model_validate(spec)


CHARGES: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "ch_1",
            "amount": 1999,
            "currency": "usd",
            "status": "succeeded",
            "created": T - 60,
            "customer": {"id": "cus_A", "email": "a@example.com"},
            "description": "Pro plan",
            "payment_method_details": {"card": {"brand": "visa", "last4": "4242"}},
            "tags": ["vip", "eu"],
        },
        {
            "id": "ch_2",
            "amount": 500,
            "currency": "eur",
            "status": "failed",
            "created": T - 7200,
            "customer": "cus_B",
            "description": None,
            "payment_method_details": {"type": "sepa_debit"},
            "tags": [],
        },
        {
            "id": "ch_3",
            "amount": 120000,
            "currency": "jpy",
            "status": "pending",
            "created": T - 200000,
            "customer": None,
            "description": "Starter plan",
            "payment_method_details": None,
        },
        {
            "id": "ch_4",
            "currency": "usd",
            "status": "succeeded",
            "customer": {"id": "cus_A", "email": "a@example.com"},
        },
    ],
}

MAPPED = {
    "id": "id",
    "amount": "amount",
    "currency": "currency",
    "status": "status",
    "created": "created",
    "customer": "customer",
    "email": "customer.email",
    "brand": "payment_method_details.card.brand",
    "description": "description",
    "tags": "tags",
}


def _ids(frame: pd.DataFrame) -> list[str]:
    return frame["id"].tolist()


def _filtered(field: str, operator: str, value: Any) -> list[str]:
    spec = _spec(
        path="data",
        mapItem=MAPPED,
        filter=[{"field": field, "operator": operator, "value": value}],
    )
    return _ids(apply_transform(CHARGES, spec, NOW))


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    [
        ("status", "==", "succeeded", ["ch_1", "ch_4"]),
        ("status", "!=", "succeeded", ["ch_2", "ch_3"]),
        ("amount", ">", 500, ["ch_1", "ch_3"]),
        ("amount", ">=", 500, ["ch_1", "ch_2", "ch_3"]),
        ("amount", "<", 1999, ["ch_2"]),
        ("amount", "<=", 1999, ["ch_1", "ch_2"]),
        ("amount", "!=", 500, ["ch_1", "ch_3", "ch_4"]),
        ("amount", "==", None, ["ch_4"]),
        ("amount", ">", "100", []),
        ("description", "contains", "plan", ["ch_1", "ch_3"]),
        ("tags", "contains", "vip", ["ch_1"]),
        ("status", "in", ["failed", "pending"], ["ch_2", "ch_3"]),
        ("currency", "in", ["usd", None], ["ch_1", "ch_4"]),
        ("description", "startsWith", "Star", ["ch_3"]),
        ("email", "==", "a@example.com", ["ch_1", "ch_4"]),
        ("brand", "!=", "visa", ["ch_2", "ch_3", "ch_4"]),
        ("created", ">=", "@now-1h", ["ch_1"]),
        ("created", "<", "@today", ["ch_3"]),
    ],
)
def test_every_filter_operator(field: str, operator: str, value: Any, expected: list[str]) -> None:
    assert _filtered(field, operator, value) == expected


def test_all_filters_must_hold() -> None:
    spec = _spec(
        path="data",
        mapItem=MAPPED,
        filter=[
            {"field": "currency", "operator": "==", "value": "usd"},
            {"field": "amount", "operator": ">", "value": 0},
        ],
    )
    assert _ids(apply_transform(CHARGES, spec, NOW)) == ["ch_1"]


def test_nested_and_missing_paths_become_nulls() -> None:
    frame = apply_transform(CHARGES, _spec(path="data", mapItem=MAPPED), NOW)
    assert list(frame.columns) == list(MAPPED)
    assert frame["brand"].tolist()[0] == "visa"
    assert frame["brand"].isna().tolist() == [False, True, True, True]
    assert frame["email"].isna().tolist() == [False, True, True, False]
    assert frame["description"].isna().tolist() == [False, True, False, True]


def test_expanded_or_plain_customer_both_give_the_id() -> None:
    frame = apply_transform(CHARGES, _spec(path="data", mapItem={"customer": "customer"}), NOW)
    assert frame["customer"].tolist()[:2] == ["cus_A", "cus_B"]
    assert pd.isna(frame["customer"][2])
    assert frame["customer"][3] == "cus_A"


def test_integers_stay_integers() -> None:
    frame = apply_transform(CHARGES, _spec(path="data", mapItem=MAPPED), NOW)
    assert str(frame["amount"].dtype) == "Int64"
    assert frame["amount"].tolist()[:3] == [1999, 500, 120000]
    complete = apply_transform(CHARGES["data"][:3], _spec(mapItem={"amount": "amount"}), NOW)
    assert complete["amount"].dtype == "int64"


def test_sort_descending_puts_nulls_last() -> None:
    spec = _spec(path="data", mapItem=MAPPED, sort={"field": "created", "direction": "desc"})
    assert _ids(apply_transform(CHARGES, spec, NOW)) == ["ch_1", "ch_2", "ch_3", "ch_4"]


def test_sort_ascending_puts_nulls_last() -> None:
    spec = _spec(path="data", mapItem=MAPPED, sort={"field": "amount", "direction": "asc"})
    assert _ids(apply_transform(CHARGES, spec, NOW)) == ["ch_2", "ch_1", "ch_3", "ch_4"]


def test_sort_is_stable_for_ties() -> None:
    items = [{"id": f"ch_{index}", "group": index % 2} for index in range(6)]
    for direction, expected in (
        ("asc", ["ch_0", "ch_2", "ch_4", "ch_1", "ch_3", "ch_5"]),
        ("desc", ["ch_1", "ch_3", "ch_5", "ch_0", "ch_2", "ch_4"]),
    ):
        spec = _spec(sort={"field": "group", "direction": direction})
        assert _ids(apply_transform(items, spec, NOW)) == expected


def test_mixed_values_sort_without_crashing() -> None:
    items = [{"id": "a", "v": "x"}, {"id": "b", "v": 3}, {"id": "c"}]
    frame = apply_transform(items, _spec(sort={"field": "v", "direction": "asc"}), NOW)
    assert _ids(frame) == ["b", "a", "c"]


def test_missing_path_gives_no_rows_but_the_columns() -> None:
    frame = apply_transform({"error": "nope"}, _spec(path="data", mapItem=MAPPED), NOW)
    assert frame.empty
    assert list(frame.columns) == list(MAPPED)


def test_without_map_item_columns_are_the_top_level_keys() -> None:
    frame = apply_transform(
        {"data": [{"a": 1, "b": "x"}, {"b": "y", "c": True}]}, _spec(path="data")
    )
    assert list(frame.columns) == ["a", "b", "c"]
    assert frame["b"].tolist() == ["x", "y"]


def test_single_object_and_plain_values() -> None:
    account = apply_transform({"id": "acct_1", "email": "x@y"}, _spec(mapItem={"id": "id"}))
    assert _ids(account) == ["acct_1"]
    names = apply_transform({"names": ["b", "a"]}, _spec(path="names", mapItem={"name": "value"}))
    assert names["name"].tolist() == ["b", "a"]


def test_seed_definition_shows_recent_successful_payments() -> None:
    definition = load_widget_file(PROJECT_ROOT / "widgets" / "stripe-payments.json")
    frame = apply_transform(CHARGES, definition.transform, NOW)
    assert _ids(frame) == ["ch_1", "ch_4"]
    assert frame["customer"].tolist() == ["cus_A", "cus_A"]
    assert list(frame.columns) == [
        *("id", "amount", "currency", "customer"),
        *("status", "created", "description", "receipt_url"),
    ]
