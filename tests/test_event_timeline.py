"""The Event Debugger's timeline: bus log and stored server events in one list, newest first."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine

from lib.events import Event, EventBus, InvalidPatternError
from lib.events.timeline import build_timeline, timeline_sources
from lib.webhooks import ServerEvent, list_server_events
from lib.webhooks.events_store import new_event, store_event


def stored(
    event_id: int,
    name: str,
    received_at: datetime,
    *,
    source: str = "webhook",
    status: str = "processed",
    error: str | None = None,
) -> ServerEvent:
    return ServerEvent(
        id=event_id,
        stripe_event_id=f"evt_{event_id}",
        name=name,
        payload={"id": f"ch_{event_id}"},
        source=source,  # type: ignore[arg-type]
        received_at=received_at,
        event_type="charge.succeeded",
        status=status,  # type: ignore[arg-type]
        error=error,
        account_ref=None,
        attempts=1,
        created_at=None,
    )


def test_bus_and_server_events_form_one_timeline_newest_first() -> None:
    bus = EventBus()
    bus.subscribe("stripe.*", lambda _event: None, "customer")
    bus.subscribe("stripe.payment.selected", lambda _event: None, "failed-payments")
    before = datetime.now(UTC) - timedelta(minutes=1)
    bus.publish("stripe.payment.selected", {"id": "ch_1", "amount": 2800}, "payments")
    after = datetime.now(UTC) + timedelta(minutes=1)
    server = [
        stored(7, "stripe.payment.received", after),
        stored(6, "stripe.payment.failed", before, source="poll", status="failed", error="boom"),
    ]

    items = build_timeline(bus.log(), server)

    assert [item.name for item in items] == [
        "stripe.payment.received",
        "stripe.payment.selected",
        "stripe.payment.failed",
    ]
    newest, selected, oldest = items
    assert selected.origin_label == "browser"
    assert selected.outcome == "reached 2 subscribers"
    assert selected.delivered_to == ("customer", "failed-payments")
    assert selected.payload == {"id": "ch_1", "amount": 2800}
    assert selected.bus_event_id == selected.key
    assert (newest.origin_label, newest.source, newest.outcome) == (
        "server · webhook",
        "stripe-webhook",
        "stored: processed",
    )
    assert (oldest.origin_label, oldest.outcome, oldest.errors) == (
        "server · poll",
        "stored: failed",
        ("boom",),
    )
    assert oldest.server_event_id == 6
    assert len({item.key for item in items}) == 3


def test_outcomes_say_held_blocked_reached_and_name_each_handler_error() -> None:
    bus = EventBus(max_depth=0)

    def fail(_event: Event) -> None:
        raise ValueError("no customer field")

    def cascade(event: Event) -> None:
        bus.publish("stripe.cascade", {}, "cascader")

    bus.subscribe("stripe.payment.selected", fail, "broken")
    bus.subscribe("stripe.payment.selected", cascade, "cascader")
    bus.publish("stripe.payment.selected", {}, "payments")
    bus.safe_mode = True
    bus.publish("stripe.payment.selected", {}, "payments")

    held, blocked, first = build_timeline(bus.log())

    assert held.outcome == "held: safe mode"
    assert blocked.outcome == "blocked: cascade limit"
    assert first.outcome == "reached 1 subscriber"
    assert first.errors == ("broken: ValueError: no customer field",)


def test_a_replay_points_at_the_event_it_repeats() -> None:
    bus = EventBus()
    original = bus.publish("stripe.payment.selected", {"id": "ch_1"}, "payments")
    bus.replay(event_ids=[original.event.id])

    replay, first = build_timeline(bus.log())

    assert replay.replay_of == original.event.id
    assert first.replay_of is None
    assert replay.payload == first.payload


def test_filters_narrow_by_pattern_source_and_origin() -> None:
    bus = EventBus()
    bus.publish("stripe.payment.selected", {}, "payments")
    bus.publish("stripe.subscription.failed", {}, "subscriptions")
    server = [stored(1, "stripe.payment.failed", datetime.now(UTC))]
    entries = bus.log()

    def names(**filters: object) -> list[str]:
        return [item.name for item in build_timeline(entries, server, **filters)]  # type: ignore[arg-type]

    assert names(pattern="stripe.*.failed") == [
        "stripe.payment.failed",
        "stripe.subscription.failed",
    ]
    assert names(pattern="stripe.payment.*") == [
        "stripe.payment.failed",
        "stripe.payment.selected",
    ]
    assert names(sources=["payments", "stripe-webhook"]) == [
        "stripe.payment.failed",
        "stripe.payment.selected",
    ]
    assert names(sources=[]) == names()
    assert names(origin="server") == ["stripe.payment.failed"]
    assert names(origin="browser", pattern="*") == [
        "stripe.subscription.failed",
        "stripe.payment.selected",
    ]
    assert timeline_sources(build_timeline(entries, server)) == [
        "payments",
        "stripe-webhook",
        "subscriptions",
    ]


def test_an_invalid_pattern_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidPatternError, match=r"segment 2 \(''\)"):
        build_timeline([], pattern="stripe..selected")


def test_server_events_are_placed_at_when_they_happened_with_the_stored_time_kept() -> None:
    stored_together = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    berlin = timezone(timedelta(hours=1))
    early, late = (
        replace(stored(n, "stripe.payment.received", stored_together), created_at=created)
        for n, created in (
            (1, datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
            (2, datetime(2026, 11, 25, 9, 0, tzinfo=berlin)),
        )
    )
    unknown = stored(3, "stripe.payment.received", stored_together - timedelta(days=1))

    items = build_timeline([], [early, unknown, late])

    assert [(item.server_event_id, item.at) for item in items] == [
        (3, datetime(2026, 11, 26, 12, 0, tzinfo=UTC)),
        (2, datetime(2026, 11, 25, 8, 0, tzinfo=UTC)),
        (1, datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
    ]
    assert {item.stored_at for item in items[1:]} == {stored_together}


def test_a_naive_stored_time_is_read_as_utc() -> None:
    [item] = build_timeline([], [stored(1, "stripe.payment.received", datetime(2026, 1, 2, 3))])
    assert item.at == datetime(2026, 1, 2, 3, tzinfo=UTC)


def test_events_stored_by_the_webhook_receiver_appear_as_server_events(engine: Engine) -> None:
    delivered = {
        "id": "evt_1",
        "type": "charge.failed",
        "created": 1_790_000_000,
        "data": {
            "object": {
                "id": "ch_9",
                "amount": 1999,
                "currency": "jpy",
                "customer": "cus_1",
                "status": "failed",
            }
        },
    }
    store_event(engine, new_event(delivered, json.dumps(delivered), "webhook"))
    bus = EventBus()
    bus.publish("stripe.payment.selected", {"id": "ch_1"}, "payments")

    items = build_timeline(bus.log(), list_server_events(engine), pattern="stripe.payment.*")

    assert [(item.name, item.origin_label) for item in items] == [
        ("stripe.payment.selected", "browser"),
        ("stripe.payment.failed", "server · webhook"),
    ]
    server = items[1]
    assert server.payload["id"] == "ch_9"
    assert server.payload["amount"] == 1999
    assert server.outcome == "stored: pending"
