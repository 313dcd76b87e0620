"""`build_widget_view` without Streamlit: what the seed widget and the Customer widget show for
fixed data, after interactions, and when something went wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lib.config import PROJECT_ROOT
from lib.providers.types import ApiError, ApiResponse, ErrorAction, ErrorCode
from lib.widgets.interaction_inputs import ActiveFilter, InteractionInputs
from lib.widgets.loader import load_widget_file, parse_widget_data
from lib.widgets.problems import missing_connection_problem
from lib.widgets.view import RowAction, WidgetView, build_widget_view, user_description
from tests.mirror_support import charge_object

SEED = Path(__file__).parent / "fixtures" / "seed-stripe-payments.json"
CUSTOMER = PROJECT_ROOT / "widgets" / "customer.json"
SUBSCRIPTIONS = PROJECT_ROOT / "widgets" / "subscriptions.json"
NOW = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
T = int(NOW.timestamp())
HOUR, DAY = 3600, 86400


def charge(charge_id: str, amount: int, currency: str, customer: Any, **fields: Any) -> dict:
    # Without a description by default, so a row's text is the one a test gives it.
    fields = {"created": T, "description": None, **fields}
    receipt = f"https://pay.stripe.com/receipts/{charge_id}"
    return charge_object(
        charge_id, amount, currency, customer=customer, receipt_url=receipt, **fields
    )


CHARGES = ApiResponse(
    success=True,
    data={
        "object": "list",
        "data": [
            charge("ch_old", 120000, "eur", "cus_a", created=T - 2 * DAY),
            charge("ch_failed", 1999, "kwd", "cus_b", created=T - 60, status="failed"),
            charge("ch_new", 1999, "usd", "cus_a", created=T - 300, description="Pro plan"),
            charge("ch_mid", 1999, "jpy", "cus_b", created=T - 2 * HOUR),
        ],
    },
)


def seed_view(inputs: InteractionInputs | None = None) -> WidgetView:
    return build_widget_view(load_widget_file(SEED), CHARGES, NOW, inputs or InteractionInputs())


def test_the_seed_widget_lists_succeeded_payments_newest_first_as_people_read_them() -> None:
    view = seed_view()

    assert (view.title, view.kind, view.problem, view.empty_state) == (
        "Recent Payments",
        "list",
        None,
        None,
    )
    assert view.rows is not None
    assert [spec.label for spec in view.rows.fields] == [
        *("Amount", "Customer", "Description", "Status", "Date"),
    ]
    texts = [[cell.text for cell in row.cells] for row in view.rows]
    assert texts == [
        ["$19.99", "cus_a", "Pro plan", "Succeeded", "5 minutes ago"],
        ["¥1,999", "cus_b", "", "Succeeded", "2 hours ago"],
        ["€1,200.00", "cus_a", "", "Succeeded", "2 days ago"],
    ]
    assert [row.cells[3].badge for row in view.rows] == ["green", "green", "green"]
    assert [row.cells[0].kind for row in view.rows] == ["money"] * 3
    assert view.total_rows == 3


def test_each_row_carries_what_its_view_button_publishes() -> None:
    view = seed_view()

    assert view.actions == (RowAction("View", "stripe.payment.selected"),)
    assert view.event_source == "stripe-payments-widget"
    assert view.rows is not None
    first = view.rows[0]
    assert dict(first.payload) == {
        "id": "ch_new",
        "amount": 1999,
        "currency": "usd",
        "customer": "cus_a",
        "status": "succeeded",
    }
    assert type(first.payload["amount"]) is int
    assert first.identity == "ch_new"


def test_the_published_row_is_selected_and_highlight_targets_are_marked() -> None:
    selected = seed_view(InteractionInputs(published="ch_mid"))
    assert selected.rows is not None
    assert [row.highlighted for row in selected.rows] == [False, True, False]
    assert [row.selected for row in selected.rows] == [False, True, False]
    assert selected.rows.selected == 1

    marked = seed_view(InteractionInputs(highlights=(("customer", "cus_a"),)))
    assert marked.rows is not None
    assert [row.highlighted for row in marked.rows] == [True, False, True]
    assert marked.rows.selected is None


def expanded(customer_id: str) -> dict[str, Any]:
    return {"id": customer_id, "name": "Ana Díaz", "email": "ana@example.com", "created": T - DAY}


def test_the_customer_widget_narrows_sums_per_currency_and_lists_max_rows() -> None:
    history = [
        charge(f"ch_{index}", 1000 + index, "usd", expanded("cus_a"), created=T - index * HOUR)
        for index in range(6)
    ]
    history += [
        charge("ch_eur", 500, "eur", expanded("cus_a"), created=T - 9 * HOUR),
        charge("ch_other", 9999, "usd", expanded("cus_b"), created=T),
        # Fully refunded: still "succeeded" in Stripe, but nothing of it was kept.
        charge(
            "ch_back", 7000, "eur", expanded("cus_a"), created=T - 10 * HOUR, amount_refunded=7000
        ),
    ]
    inputs = InteractionInputs(filters=(ActiveFilter(0, "customer", "cus_a"),))

    view = build_widget_view(
        load_widget_file(CUSTOMER), ApiResponse(success=True, data={"data": history}), NOW, inputs
    )

    assert [(cell.label, cell.text) for cell in view.summary] == [
        ("Name", "Ana Díaz"),
        ("Email", "ana@example.com"),
        ("Customer id", "cus_a"),
        ("Customer since", "Nov 26, 2026"),
    ]
    # Net of refunds, as the Charges summary's "Net": the refunded €70.00 is not counted.
    assert [(f.label, f.group, f.text) for f in view.stats] == [
        ("Lifetime net (after refunds)", "EUR", "€5.00"),
        ("Lifetime net (after refunds)", "USD", "$60.15"),
    ]
    assert [(chip.active, chip.text) for chip in view.chips] == [
        (inputs.filters[0], "Customer: Ana Díaz")
    ]
    assert view.total_rows == 8
    assert view.rows is not None
    assert [spec.key for spec in view.rows.fields] == ["amount", "description", "created"]
    assert [row.cells[0].text for row in view.rows] == [
        *("$10.00", "$10.01", "$10.02", "$10.03", "$10.04"),
    ]


def test_a_required_filter_not_yet_set_shows_the_empty_state_without_rows() -> None:
    view = build_widget_view(load_widget_file(CUSTOMER), None, NOW, InteractionInputs(waiting=True))
    assert view.empty_state == "Select a payment or a subscription to see its customer"
    assert view.rows is None and view.stats == ()


def test_no_rows_show_the_empty_state_and_no_rows_for_a_filter_say_so() -> None:
    nothing = build_widget_view(load_widget_file(SEED), ApiResponse(success=True, data={}), NOW)
    assert (nothing.empty_state, nothing.rows) == ("No recent payments", None)

    view = seed_view(InteractionInputs(filters=(ActiveFilter(0, "customer", "cus_nobody"),)))
    assert (view.empty_state, view.rows) == ("Nothing to show for this selection.", None)
    assert [chip.text for chip in view.chips] == ["Customer: cus_nobody"]


def test_a_rejected_key_is_a_problem_that_asks_to_reconnect() -> None:
    error = ApiError(
        ErrorCode.UNAUTHORIZED, "Invalid API Key", "stripe", False, ErrorAction.RECONNECT
    )

    view = build_widget_view(load_widget_file(SEED), ApiResponse(success=False, error=error), NOW)

    assert view.problem is not None and view.rows is None
    assert view.problem.text == (
        "Stripe rejected the stored Stripe connection. Reconnect Stripe to see this widget."
    )
    assert view.problem.link == "Reconnect Stripe"


def test_a_provider_error_keeps_the_providers_words_and_says_what_to_do() -> None:
    error = ApiError(
        ErrorCode.PROVIDER_ERROR, "Stripe had a problem.", "stripe", True, ErrorAction.RETRY
    )

    view = build_widget_view(load_widget_file(SEED), ApiResponse(success=False, error=error), NOW)

    assert view.problem is not None
    assert view.problem.plain() == (
        "Stripe had a problem. Try again in a moment; the widget retries on its next refresh."
    )


def test_a_problem_found_before_the_request_is_shown_as_is() -> None:
    problem = missing_connection_problem("GitHub")

    view = build_widget_view(load_widget_file(SEED), problem, NOW)

    assert view.problem == problem
    assert problem.link == "Connect GitHub"


def test_actions_without_on_item_click_publish_the_shown_fields() -> None:
    definition = parse_widget_data(
        {
            "type": "actions-only",
            "version": 1,
            "name": "Actions only",
            "provider": "stripe",
            "dataSource": {"type": "static", "data": CHARGES.data},
            "transform": {"path": "data", "mapItem": {"id": "id", "amount": "amount"}},
            "display": {
                "view": "list",
                "fields": [{"key": "id", "label": "Charge"}],
                "actions": [{"trigger": "click", "event": "payment.selected"}],
            },
        }
    )

    view = build_widget_view(definition, ApiResponse(success=True, data=CHARGES.data), NOW)

    assert (view.actions, view.event_source) == (
        (RowAction("View", "stripe.payment.selected"),),
        None,
    )
    assert view.rows is not None
    assert dict(view.rows[0].payload) == {"id": "ch_old"}


def test_a_table_view_carries_numbers_to_sort_by() -> None:
    definition = load_widget_file(SEED)
    table = definition.model_copy(
        update={"display": definition.display.model_copy(update={"view": "table"})}
    )

    view = build_widget_view(table, CHARGES, NOW)

    assert view.rows is not None and view.rows.table is not None
    assert view.rows.table.values["amount"].tolist() == [19.99, 1999.0, 1200.0]
    assert [column.currencies.tolist() for column in view.rows.table.money] == [
        ["usd", "jpy", "eur"]
    ]


def subscription(subscription_id: str, status: str) -> dict[str, Any]:
    return {
        "id": subscription_id,
        "customer": {"id": "cus_a", "email": "ana@example.com"},
        "status": status,
        "plan": {"nickname": "Pro", "amount": 2400, "interval": "week", "interval_count": 2},
        "currency": "usd",
        "quantity": 1,
        "current_period_end": T + DAY,
        "created": T - DAY,
    }


def test_statuses_read_as_words_and_the_title_is_not_repeated_as_a_caption() -> None:
    rows = [subscription("sub_1", "past_due"), subscription("sub_2", "active")]
    answer = ApiResponse(success=True, data={"data": rows})

    view = build_widget_view(load_widget_file(SUBSCRIPTIONS), answer, NOW)

    assert view.rows is not None
    statuses = [row.cells[5].text for row in view.rows]
    assert statuses == ["Past due", "Active"]
    assert view.rows.table is not None
    assert view.rows.table.values["status"].tolist() == ["Past due", "Active"]
    assert [(figure.group, figure.text) for figure in view.stats] == [
        ("Active", "1"),
        ("Past due", "1"),
    ]
    assert (view.title, view.stat_caption) == ("Subscriptions", "")
    customer = build_widget_view(
        load_widget_file(CUSTOMER),
        ApiResponse(success=True, data={"data": [charge("ch_1", 500, "eur", "cus_a")]}),
        NOW,
    )
    assert customer.stat_caption == "Lifetime net (after refunds)"


def test_descriptions_speak_to_the_person_not_to_the_engine() -> None:
    assert seed_view().description == "Recent successful payments from Stripe"
    assert user_description("Shows the customer") == "The customer"
    assert user_description("Latest failed payments") == "Latest failed payments"
    assert user_description("Display") == "Display"
