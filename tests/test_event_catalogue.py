"""The event catalogue: which names exist, who publishes them, and what their payloads carry."""

from __future__ import annotations

from typing import Any

import pytest

from lib.events import (
    CATALOGUE,
    SERVER_EVENTS,
    UI_EVENTS,
    EventBus,
    InvalidPatternError,
    catalogue_label,
    catalogued_event,
    events_matching,
    patterns_overlap,
)
from lib.events.catalogue import PAYMENT_SELECTED
from lib.events.timeline import build_timeline
from lib.webhooks.mapping import MESH_NAMES, to_mesh_event
from lib.widgets.interactions import SERVER_EVENT_PATTERNS
from tests.apptest_support import run_app, select_row, shown_text

DEBUGGER = "app_pages/event_debugger.py"


def test_names_are_looked_up_exactly_before_their_family() -> None:
    selected = catalogued_event("stripe.payment.selected")
    assert selected is not None and selected.origin == "browser"
    received = catalogued_event("stripe.payment.received")
    assert received is not None and received.origin == "server"
    assert received.stripe_type == "charge.succeeded"
    unmapped = catalogued_event("stripe.event.payout.paid")
    assert unmapped is not None and unmapped.name == "stripe.event.*"
    assert catalogued_event("stripe.payment.selcted") is None
    assert catalogued_event("stripe.event") is None


def test_ui_and_server_events_are_kept_apart() -> None:
    assert {event.origin for event in UI_EVENTS} == {"browser"}
    assert {event.origin for event in SERVER_EVENTS} == {"server"}
    names = [event.name for event in CATALOGUE]
    assert len(names) == len(set(names))


def test_a_pattern_names_the_events_it_can_reach_with_their_origin() -> None:
    reached = {(event.name, event.origin) for event in events_matching("stripe.payment.*")}
    assert reached == {
        ("stripe.payment.selected", "browser"),
        ("stripe.payment.received", "server"),
        ("stripe.payment.failed", "server"),
        ("stripe.payment.refunded", "server"),
    }
    assert [event.name for event in events_matching("stripe.event.customer.*")] == [
        "stripe.event.*"
    ]
    assert events_matching("stripe.payment.selcted") == ()
    assert events_matching("github.*") == ()
    with pytest.raises(InvalidPatternError):
        events_matching("stripe..payment")


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("stripe.payment.*", "stripe.payment.selected", True),
        ("stripe.*.failed", "stripe.payment.*", True),
        ("stripe.*.failed", "stripe.event.*", True),
        ("*", "anything.at.all", True),
        ("stripe.*.failed", "stripe.payment.received", False),
        ("stripe.payment.*", "stripe.payment", False),
        ("stripe.*", "stripe", False),
        ("stripe.*.selected", "stripe.payment.card.selected", False),
        ("a.b", "a.b", True),
        ("a.b", "a.c", False),
    ],
)
def test_patterns_overlap_when_one_name_matches_both(
    first: str, second: str, expected: bool
) -> None:
    assert patterns_overlap(first, second) is expected
    assert patterns_overlap(second, first) is expected


def _stripe_event(stripe_type: str) -> dict[str, Any]:
    return {
        "id": "evt_1",
        "type": stripe_type,
        "account": "acct_1",
        "data": {"object": {"id": "obj_1", "amount": 100, "customer": {"id": "cus_1"}}},
    }


@pytest.mark.parametrize(
    "stripe_type", [*MESH_NAMES, "payout.paid", "customer.created", "odd type!", ""]
)
def test_the_webhook_mapping_produces_only_catalogued_server_events(stripe_type: str) -> None:
    mesh = to_mesh_event(_stripe_event(stripe_type))
    event = catalogued_event(mesh.name)
    assert event is not None and event.origin == "server"
    assert list(mesh.payload) == list(event.fields)


def test_every_catalogued_server_event_is_made_from_its_stripe_type() -> None:
    mapped = {event.stripe_type: event.name for event in SERVER_EVENTS if event.stripe_type}
    assert dict(MESH_NAMES) == mapped


def test_widgets_refetch_only_on_patterns_that_reach_server_events() -> None:
    for resource, pattern in SERVER_EVENT_PATTERNS.items():
        origins = {event.origin for event in events_matching(pattern)}
        assert "server" in origins, resource


def test_a_payload_holds_only_the_catalogued_fields_in_their_order() -> None:
    payload = PAYMENT_SELECTED.payload({"status": "paid", "id": "ch_1", "customer": None})
    assert list(payload) == ["id", "customer", "status"]
    with pytest.raises(ValueError) as refused:
        PAYMENT_SELECTED.payload({"id": "ch_1", "email": "a@example.com"})
    assert str(refused.value) == (
        "stripe.payment.selected carries id, amount, currency, customer, status, failure_code; "
        "not email"
    )


def test_the_timeline_says_what_the_catalogue_knows_of_each_name() -> None:
    bus = EventBus()
    bus.publish("stripe.payment.selected", {}, "widget")
    bus.publish("stripe.payment.received", {}, "stripe-webhook", origin="server")
    bus.publish("team.lunch.ready", {}, "widget")
    labels = {item.name: item.kind_label for item in build_timeline(bus.log())}
    assert labels == {
        "stripe.payment.selected": "UI event: a payment chosen in a widget or on the Charges page",
        "stripe.payment.received": "server event: made from Stripe's charge.succeeded",
        "team.lunch.ready": "not in the event catalogue",
    }
    assert catalogue_label("stripe.event.payout.paid") == (
        "server event: a Stripe event type with no name of its own"
    )


def test_the_debugger_shows_the_kind_of_an_event() -> None:
    app = run_app(DEBUGGER)
    [bus] = [value for value in app.session_state.values() if isinstance(value, EventBus)]
    bus.publish("stripe.payment.refunded", {"id": "ch_1"}, "test", origin="server")
    app.run()

    select_row(app, "debugger-events-", 0)

    assert not app.exception
    assert "- Kind: server event: made from Stripe's charge.refunded" in "\n".join(shown_text(app))
