"""Customers shown by name: the seed's Recent Payments asks Stripe to expand the customer it
shows and shows their name or email, while what its rows publish and match keeps the id."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lib.config import PROJECT_ROOT
from lib.providers.types import ApiResponse
from lib.widgets.customer_names import (
    MAX_NAME_CHARS,
    named_customer_fields,
    source_with_customer_names,
)
from lib.widgets.interaction_inputs import ActiveFilter, InteractionInputs
from lib.widgets.loader import load_widget_file, parse_widget_data
from lib.widgets.view import build_widget_view

SEED = Path(__file__).parent / "fixtures" / "seed-stripe-payments.json"
WIDGETS = PROJECT_ROOT / "widgets"
NOW = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
T = int(NOW.timestamp())


def customer(customer_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": customer_id, "object": "customer", "name": None, "email": None, **fields}


def charge(charge_id: str, who: Any, created: int, status: str = "succeeded") -> dict[str, Any]:
    return {
        "id": charge_id,
        "amount": 1000,
        "currency": "usd",
        "customer": who,
        "status": status,
        "created": created,
        "description": None,
        "receipt_url": None,
    }


EXPANDED = ApiResponse(
    success=True,
    data={
        "object": "list",
        "data": [
            charge("ch_1", customer("cus_named", name="Ana Díaz", email="ana@x.test"), T - 60),
            charge("ch_2", customer("cus_email", email="bo@x.test"), T - 120),
            charge("ch_3", customer("cus_bare"), T - 180),
            charge("ch_4", {"id": "cus_gone", "object": "customer", "deleted": True}, T - 240),
            charge("ch_5", None, T - 300),
            charge("ch_6", customer("cus_long", name="x" * 5000), T - 360),
        ],
    },
)


def test_the_seed_asks_stripe_to_expand_the_customer_it_shows() -> None:
    seed = load_widget_file(SEED)

    source = source_with_customer_names(seed)

    assert named_customer_fields(seed) == ("customer",)
    assert dict(source.params) == {"limit": 20, "expand": ["data.customer"]}
    assert seed.data_source.params == {"limit": 20}, "the definition itself is unchanged"


def test_rows_show_the_name_else_the_email_else_the_id_and_publish_the_id() -> None:
    view = build_widget_view(load_widget_file(SEED), EXPANDED, NOW)

    assert view.rows is not None
    assert [row.cells[1].text for row in view.rows] == [
        "Ana Díaz",
        "bo@x.test",
        "cus_bare",
        "cus_gone",
        "",
        "x" * (MAX_NAME_CHARS - 1) + "…",
    ]
    assert [row.payload["customer"] for row in view.rows] == [
        *("cus_named", "cus_email", "cus_bare", "cus_gone", None, "cus_long"),
    ]


def test_selection_and_highlights_still_match_the_id() -> None:
    inputs = InteractionInputs(highlights=(("customer", "cus_email"),), published="ch_1")

    view = build_widget_view(load_widget_file(SEED), EXPANDED, NOW, inputs)

    assert view.rows is not None
    assert [row.highlighted for row in view.rows][:3] == [True, True, False]
    assert view.rows.selected == 0


def test_a_filter_chip_names_the_customer_and_the_filter_keeps_the_id() -> None:
    inputs = InteractionInputs(filters=(ActiveFilter(0, "customer", "cus_named"),))

    view = build_widget_view(load_widget_file(SEED), EXPANDED, NOW, inputs)

    assert [chip.text for chip in view.chips] == ["Customer: Ana Díaz"]
    assert view.rows is not None and [row.payload["id"] for row in view.rows] == ["ch_1"]


def test_a_widget_that_expands_the_customer_itself_is_left_as_written() -> None:
    definition = load_widget_file(WIDGETS / "customer.json")
    inputs = InteractionInputs(filters=(ActiveFilter(0, "customer", "cus_named"),))

    view = build_widget_view(definition, EXPANDED, NOW, inputs)

    assert named_customer_fields(definition) == ()
    assert source_with_customer_names(definition) == definition.data_source
    assert ("Customer id", "cus_named") in [(cell.label, cell.text) for cell in view.summary]


def test_other_providers_and_inline_data_are_not_expanded() -> None:
    seed = json.loads(SEED.read_text())
    github = parse_widget_data(
        {**seed, "provider": "github", "dataSource": {"type": "api", "endpoint": "/charges"}}
    )
    static = parse_widget_data({**seed, "dataSource": {"type": "static", "data": EXPANDED.data}})

    for definition in (github, static):
        assert named_customer_fields(definition) == ()
        assert source_with_customer_names(definition) == definition.data_source
