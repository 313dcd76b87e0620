"""Widgets talking over the session's event bus, and the Event Debugger, run with AppTest."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest

from lib.accounts import demo_account, stripe_adapter_for
from lib.events import EventBus, LogEntry
from lib.providers.types import RequestOptions
from lib.render.session import _BUS_KEY
from lib.store import get_engine
from lib.webhooks.events_store import new_event, store_event
from tests.apptest_support import run_app, shown_text, unescape

DEBUGGER = "pages/event_debugger.py"
DASHBOARD = "pages/dashboard.py"
PAYMENT_FIELDS = ("id", "amount", "currency", "customer", "status")
CUSTOMER_EMPTY_STATE = "Select a payment to see its customer"


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


def open_event(app: AppTest, entry: LogEntry) -> None:
    app.session_state[f"debugger-event-{entry.event.id}"] = True
    app.run()


def event_labels(app: AppTest) -> list[str]:
    return [unescape(expander.label) for expander in app.expander]


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
    assert unescape(chip.label) == f"Filtered by customer {payment['customer']}  ✕"

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
    open_event(app, entry)
    assert json.loads(app.json[0].value) == {field: payment[field] for field in PAYMENT_FIELDS}
    assert "- Delivered to: customer, failed-payments" in "\n".join(shown_text(app))
    texts = shown_text(app)
    assert "**Customer** (customer)" in texts
    assert "- stripe.payment.selected" in texts
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
    open_event(app, held)
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
    [key] = [e.key for e in app.expander if "stripe.payment.received" in e.label]
    app.session_state[key] = True
    app.run()
    app.button(key=key.replace("debugger-event-", "debugger-replay-")).click().run()

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
