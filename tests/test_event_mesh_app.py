"""Widgets talking over the session's event bus, and the Event Debugger, run with AppTest."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest

from lib.accounts import demo_account, stripe_adapter_for
from lib.events import EventBus
from lib.providers.types import RequestOptions
from lib.render.session import _BUS_KEY
from lib.store import get_engine
from lib.webhooks.events_store import new_event, store_event
from tests.apptest_support import run_app, select_row, shown_text, table, unescape

DEBUGGER = "app_pages/event_debugger.py"
TIMELINE = "debugger-events-"
DASHBOARD = "app_pages/dashboard.py"
PAYMENT_FIELDS = ("id", "amount", "currency", "customer", "status")
CUSTOMER_EMPTY_STATE = "Select a payment or a subscription to see its customer"


def demo_get(path: str, params: dict[str, Any] | None = None) -> Any:
    """What the demo account answers, read in-process through the production adapter."""
    account = demo_account()
    response = stripe_adapter_for(account).request(
        account.credentials, RequestOptions(path, params=params or {})
    )
    assert response.success
    return response.data


def recent_payments() -> list[dict[str, Any]]:
    """The rows of Recent Payments, as the demo account answers its definition's request."""
    charges = demo_get("/charges", {"limit": 20})["data"]
    succeeded = [charge for charge in charges if charge["status"] == "succeeded"]
    return sorted(succeeded, key=lambda charge: charge["created"], reverse=True)


def bus_of(app: AppTest) -> EventBus:
    return app.session_state[_BUS_KEY]


def view_payment(app: AppTest, row: int) -> None:
    app.button(key=f"widget-stripe-payments-rows-{row}").click().run()
    assert not app.exception


def event_labels(app: AppTest) -> list[str]:
    """The timeline's rows as read across: time · event · source · origin · reach."""
    if not [frame for frame in app.dataframe if (frame.key or "").startswith(TIMELINE)]:
        return []
    return [" · ".join(row) for row in table(app, TIMELINE).value.itertuples(index=False)]


def open_event(app: AppTest, name: str) -> None:
    """Select the newest row of the timeline showing event `name`."""
    names = list(table(app, TIMELINE).value["Event"])
    select_row(app, TIMELINE, names.index(name))


def test_viewing_a_recent_payment_publishes_exactly_its_listed_fields() -> None:
    app = run_app()
    payment = recent_payments()[1]

    view_payment(app, 1)

    [entry] = bus_of(app).log()
    assert entry.event.name == "stripe.payment.selected"
    assert entry.event.source == "stripe-payments-widget"
    assert entry.event.payload == {field: payment[field] for field in PAYMENT_FIELDS}
    assert type(entry.event.payload["amount"]) is int
    assert entry.delivered_to == ("customer", "failed-payments")


def test_the_customer_widget_narrows_to_the_selected_customer_until_the_chip_is_cleared() -> None:
    app = run_app()
    assert CUSTOMER_EMPTY_STATE in shown_text(app)
    payment = recent_payments()[2]
    customer = demo_get(f"/customers/{payment['customer']}")

    view_payment(app, 2)

    texts = shown_text(app)
    assert f"**Name**: {customer['name']}" in texts
    assert f"**Email**: {customer['email']}" in texts
    assert CUSTOMER_EMPTY_STATE not in texts
    chip = app.button(key="widget-customer-chip-0")
    # The chip names the customer; the filter itself holds the id.
    assert unescape(chip.label) == f"Customer: {customer['name']}  ✕"
    assert payment["customer"] not in chip.label

    chip.click().run()

    texts = shown_text(app)
    assert CUSTOMER_EMPTY_STATE in texts
    assert f"**Name**: {customer['name']}" not in texts
    assert not [button for button in app.button if button.key == "widget-customer-chip-0"]


def test_selecting_a_failed_payments_table_row_publishes_its_fields() -> None:
    app = run_app()
    rows = [
        charge
        for charge in demo_get("/charges", {"limit": 50, "expand[]": "data.customer"})["data"]
        if charge["status"] == "failed"
    ]
    failed = sorted(rows, key=lambda charge: charge["created"], reverse=True)[0]

    app.session_state["widget-failed-payments-rows"] = {
        "selection": {"rows": [0], "columns": [], "cells": []}
    }
    app.run()

    assert not app.exception
    [entry] = bus_of(app).log()
    assert entry.event.source == "failed-payments-widget"
    assert entry.event.payload == {
        "id": failed["id"],
        "amount": failed["amount"],
        "currency": failed["currency"],
        "customer": failed["customer"]["id"],
        "status": "failed",
        "failure_code": failed["failure_code"],
    }
    assert f"**Email**: {failed['customer']['email']}" in shown_text(app)


def test_the_debugger_lists_the_selection_with_its_payload_and_subscriptions() -> None:
    app = run_app()
    payment = recent_payments()[0]
    view_payment(app, 0)
    [entry] = bus_of(app).log()

    app.switch_page(DEBUGGER).run()

    assert not app.exception
    [label] = event_labels(app)
    assert "stripe.payment.selected · stripe-payments-widget · browser" in label
    assert label.endswith("reached 2 subscribers")
    open_event(app, entry.event.name)
    assert json.loads(app.json[0].value) == {field: payment[field] for field in PAYMENT_FIELDS}
    assert "- Delivered to: customer, failed-payments" in "\n".join(shown_text(app))
    texts = shown_text(app)
    assert "**Customer** (customer)" in texts
    assert "- stripe.*.selected" in texts
    assert "- stripe.payment.received" in texts


def test_safe_mode_holds_a_selection_and_replay_delivers_it_later() -> None:
    app = run_app(DEBUGGER)
    app.toggle(key="debugger-safe-mode").set_value(True).run()
    assert any("Safe mode is on" in text for text in shown_text(app))
    payment = recent_payments()[3]
    customer = demo_get(f"/customers/{payment['customer']}")

    app.switch_page(DASHBOARD).run()
    view_payment(app, 3)

    assert CUSTOMER_EMPTY_STATE in shown_text(app)
    [held] = bus_of(app).log()
    assert held.held and held.delivered_to == ()

    app.switch_page(DEBUGGER).run()
    assert event_labels(app)[0].endswith("held: safe mode")
    app.toggle(key="debugger-safe-mode").set_value(False).run()
    open_event(app, held.event.name)
    app.button(key=f"debugger-replay-{held.event.id}").click().run()

    replay = bus_of(app).log()[-1]
    assert replay.replay_of == held.event.id
    assert replay.delivered_to == ("customer", "failed-payments")
    assert event_labels(app)[0].endswith("reached 2 subscribers · replay")
    app.switch_page(DASHBOARD).run()
    assert f"**Name**: {customer['name']}" in shown_text(app)


def test_stored_server_events_join_the_timeline_and_replay_into_the_session() -> None:
    delivered = {
        "id": "evt_server_1",
        "type": "charge.succeeded",
        "created": 1_790_000_000,
        "data": {"object": {"id": "ch_server", "amount": 1500, "currency": "eur"}},
    }
    store_event(get_engine(), new_event(delivered, json.dumps(delivered), "webhook"))
    app = run_app()
    view_payment(app, 0)

    app.switch_page(DEBUGGER).run()

    labels = event_labels(app)
    assert len(labels) == 2
    [server_label] = [label for label in labels if "stripe.payment.received" in label]
    assert "stripe-webhook · server · webhook · stored: pending" in server_label
    open_event(app, "stripe.payment.received")
    [replay_button] = [b for b in app.button if (b.key or "").startswith("debugger-replay-server")]
    replay_button.click().run()

    replay = bus_of(app).log()[-1]
    assert (replay.event.name, replay.event.origin) == ("stripe.payment.received", "server")
    assert replay.event.payload["id"] == "ch_server"
    assert replay.delivered_to == ("revenue-today",)


def test_filters_validate_the_pattern_and_clear_empties_the_timeline() -> None:
    app = run_app()
    view_payment(app, 0)
    app.switch_page(DEBUGGER).run()

    app.text_input(key="debugger-pattern").input("stripe..selected").run()
    assert any("segment 2" in error.value for error in app.error)
    assert event_labels(app) == []

    app.text_input(key="debugger-pattern").input("stripe.*.failed").run()
    assert not app.error
    assert "No event matches the filters." in shown_text(app)

    app.text_input(key="debugger-pattern").input("stripe.*").run()
    assert len(event_labels(app)) == 1

    app.button(key="debugger-clear").click().run()
    assert event_labels(app) == []
    assert bus_of(app).log() == []


def store_server_event(event_id: str, created: int) -> None:
    delivered = {
        "id": event_id,
        "type": "charge.succeeded",
        "created": created,
        "data": {"object": {"id": f"ch_{event_id}", "amount": 1500, "currency": "eur"}},
    }
    assert store_event(get_engine(), new_event(delivered, json.dumps(delivered), "webhook"))


def test_server_events_show_when_they_happened_latest_first_with_the_stored_time_secondary() -> (
    None
):
    # Stored in one go (so with one stored time), out of the order they happened in.
    for event_id, created in (("evt_b", 1_790_003_600), ("evt_c", 1_790_007_200)):
        store_server_event(event_id, created)
    store_server_event("evt_a", 1_790_000_000)

    app = run_app(DEBUGGER, context={"timezone": "America/New_York"})

    rows = table(app, TIMELINE).value
    # 1_790_000_000 is Sep 21, 2026, 14:13:20 UTC, 10:13:20 in New York's summer time.
    assert list(rows["Time"]) == [
        "Sep 21, 2026, 12:13:20 EDT",
        "Sep 21, 2026, 11:13:20 EDT",
        "Sep 21, 2026, 10:13:20 EDT",
    ]
    assert list(rows.columns) == ["Time", "Event", "Source", "Origin", "Reach"]

    select_row(app, TIMELINE, 2)

    details = "\n".join(shown_text(app))
    assert "- Happened: Sep 21, 2026, 10:13:20 EDT (" in details
    assert "- Stored by this app: " in details
    assert json.loads(app.json[0].value)["stripe_event_id"] == "evt_a"


def test_the_selected_event_stays_selected_when_newer_events_arrive() -> None:
    store_server_event("evt_first", 1_790_000_000)
    app = run_app(DEBUGGER)
    select_row(app, TIMELINE, 0)
    assert json.loads(app.json[0].value)["stripe_event_id"] == "evt_first"

    store_server_event("evt_newer", 1_790_003_600)
    app.run()

    assert list(table(app, TIMELINE).value["Time"]) == [
        "Sep 21, 2026, 15:13:20 UTC",
        "Sep 21, 2026, 14:13:20 UTC",
    ]
    assert json.loads(app.json[0].value)["stripe_event_id"] == "evt_first"


def live_subscriptions() -> list[dict[str, Any]]:
    """The rows of the Subscriptions widget, as the demo account answers its definition."""
    listed = demo_get("/subscriptions", {"limit": 100, "expand": ["data.customer"]})["data"]
    live = [s for s in listed if s["status"] in ("active", "trialing", "past_due", "unpaid")]
    return sorted(live, key=lambda subscription: subscription["created"], reverse=True)


def test_a_ticked_subscription_shows_its_customer_in_the_customer_widget() -> None:
    app = run_app()
    rows = live_subscriptions()
    position = next(i for i, row in enumerate(rows) if row["status"] == "active")
    customer = rows[position]["customer"]

    select_row(app, "widget-subscriptions-rows", position)

    assert not app.exception
    [entry] = bus_of(app).log()
    assert (entry.event.name, entry.event.payload) == (
        "stripe.subscription.selected",
        {"id": rows[position]["id"], "customer": customer["id"], "status": "active"},
    )
    assert entry.delivered_to == ("customer", "failed-payments")
    texts = shown_text(app)
    assert f"**Name**: {customer['name']}" in texts
    assert unescape(app.button(key="widget-customer-chip-0").label) == (
        f"Customer: {customer['name']}  ✕"
    )


def test_the_viewed_payment_is_marked_selected_in_the_list() -> None:
    app = run_app()
    payment = recent_payments()[1]

    view_payment(app, 1)

    selected = [text for text in shown_text(app) if "Selected]" in text]
    assert len(selected) == 1
    assert selected[0].startswith(":blue-badge[:material/check: Selected] **")
    customer = demo_get(f"/customers/{payment['customer']}")
    assert f" · {customer['name']} · " in selected[0]
