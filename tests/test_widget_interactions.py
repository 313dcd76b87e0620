"""Widgets on the bus without Streamlit: selection events and filter, highlight, refresh."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lib.config import PROJECT_ROOT
from lib.events import EventBus
from lib.widgets.interactions import WidgetInteractions
from lib.widgets.loader import load_widget_file, parse_widget_data

ROWS = pd.DataFrame(
    {
        "id": ["ch_1", "ch_2", "ch_3"],
        "amount": pd.array([1999, 500, 120000], dtype="Int64"),
        "currency": ["usd", "jpy", "kwd"],
        "customer": ["cus_a", "cus_b", "cus_a"],
        "status": ["succeeded", "failed", "succeeded"],
        "description": ["x", "y", "z"],
    }
)


def widget(name: str, bus: EventBus, session: dict[str, Any]) -> WidgetInteractions:
    definition = load_widget_file(PROJECT_ROOT / "widgets" / name)
    interactions = WidgetInteractions(definition.type, definition, bus, session)
    interactions.subscribe()
    return interactions


def test_selecting_a_row_publishes_exactly_the_listed_payload_fields_once() -> None:
    bus = EventBus()
    payments = widget("stripe-payments.json", bus, {})

    assert payments.publish_selection(ROWS.iloc[2]) is True
    assert payments.publish_selection(ROWS.iloc[2]) is False

    assert payments.highlighted(ROWS).tolist() == [False, False, True]
    [entry] = bus.log()
    assert entry.event.name == "stripe.payment.selected"
    assert entry.event.source == "stripe-payments-widget"
    assert entry.event.payload == {
        "id": "ch_3",
        "amount": 120000,
        "currency": "kwd",
        "customer": "cus_a",
        "status": "succeeded",
    }
    assert type(entry.event.payload["amount"]) is int


def test_the_customer_widget_waits_then_narrows_to_the_selected_customer() -> None:
    bus, session = EventBus(), {}
    payments = widget("stripe-payments.json", bus, session)
    customer = widget("customer.json", bus, session)
    assert customer.waiting_for_selection()
    assert customer.query_params() == {}

    payments.publish_selection(ROWS.iloc[1])

    assert not customer.waiting_for_selection()
    assert customer.query_params() == {"customer": "cus_b"}
    assert customer.narrow(ROWS)["id"].tolist() == ["ch_2"]
    [chip] = customer.active_filters()
    assert (chip.field, chip.value) == ("customer", "cus_b")

    customer.clear_filter(chip.index)
    assert customer.narrow(ROWS)["id"].tolist() == ["ch_1", "ch_2", "ch_3"]
    assert customer.waiting_for_selection()


def test_failed_payments_highlights_rows_of_the_selected_customer() -> None:
    bus, session = EventBus(), {}
    failed = widget("failed-payments.json", bus, session)
    bus.publish("stripe.payment.selected", {"customer": "cus_a"}, "test")
    assert failed.highlighted(ROWS).tolist() == [True, False, True]
    assert failed.narrow(ROWS).shape[0] == 3


def test_a_selected_subscription_narrows_the_customer_widget_and_marks_failures() -> None:
    bus, session = EventBus(), {}
    subscriptions = widget("subscriptions.json", bus, session)
    customer = widget("customer.json", bus, session)
    failed = widget("failed-payments.json", bus, session)
    row = pd.Series({"id": "sub_1", "customer": "cus_a", "status": "past_due", "plan": "Pro"})

    assert subscriptions.publish_selection(row) is True

    [entry] = bus.log()
    assert (entry.event.name, entry.event.payload) == (
        "stripe.subscription.selected",
        {"id": "sub_1", "customer": "cus_a", "status": "past_due"},
    )
    assert not customer.waiting_for_selection()
    assert customer.query_params() == {"customer": "cus_a"}
    assert failed.highlighted(ROWS).tolist() == [True, False, True]


def test_the_subscriptions_widget_refreshes_on_changes_not_on_its_own_selection() -> None:
    bus = EventBus()
    subscriptions = widget("subscriptions.json", bus, {})
    subscriptions.publish_selection(pd.Series({"id": "sub_1", "customer": "cus_a"}))
    assert subscriptions.refresh_count() == 0
    bus.publish("stripe.subscription.updated", {"id": "sub_1"}, "webhook", origin="server")
    assert subscriptions.refresh_count() == 1


def test_revenue_today_refreshes_on_received_payments_only() -> None:
    bus = EventBus()
    revenue = widget("revenue-today.json", bus, {})
    bus.publish("stripe.payment.selected", {"customer": "cus_a"}, "test")
    assert revenue.refresh_count() == 0
    bus.publish("stripe.payment.received", {"id": "ch_9"}, "webhook", origin="server")
    assert revenue.refresh_count() == 1


def test_state_survives_a_rerun_and_resubscribing_does_not_duplicate() -> None:
    bus, session = EventBus(), {}
    widget("customer.json", bus, session)
    again = widget("customer.json", bus, session)
    bus.publish("stripe.payment.selected", {"customer": "cus_b"}, "test")
    assert again.query_params() == {"customer": "cus_b"}
    assert bus.subscriptions_by_subscriber() == {"customer": ["stripe.*.selected"]}


def test_an_event_driven_widget_lists_matching_payloads_newest_first() -> None:
    definition = parse_widget_data(
        {
            "type": "live-failures",
            "version": 1,
            "name": "Live failures",
            "provider": "stripe",
            "dataSource": {"type": "event-driven"},
            "transform": {"path": "data", "mapItem": {"id": "id"}},
            "display": {"view": "list", "fields": [{"key": "id", "label": "Id"}]},
            "subscriptions": [{"pattern": "stripe.*.failed", "action": "refresh"}],
        }
    )
    bus = EventBus()
    live = WidgetInteractions("live", definition, bus, {})
    bus.publish("stripe.payment.failed", {"id": "ch_1"}, "webhook")
    bus.publish("stripe.payment.received", {"id": "ch_2"}, "webhook")
    bus.publish("stripe.invoice.failed", {"id": "in_3"}, "webhook")
    assert live.event_payloads() == [{"id": "in_3"}, {"id": "ch_1"}]


def test_widgets_refetch_after_server_events_about_their_resource() -> None:
    bus = EventBus()
    assert widget("stripe-payments.json", bus, {}).server_refresh_patterns() == ["stripe.payment.*"]
    assert widget("revenue-today.json", bus, {}).server_refresh_patterns() == [
        "stripe.payment.*",
        "stripe.payment.received",
    ]
