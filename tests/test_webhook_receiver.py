"""The webhook endpoint through Starlette's TestClient, on SQLite and PostgreSQL: what Stripe
gets back for each kind of delivery, and what ends up stored."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
import stripe
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from lib.events import EventBus, InvalidPatternError
from lib.store import create_db_engine
from lib.store.tables import webhook_events
from lib.webhooks import (
    MAX_BODY_BYTES,
    WEBHOOK_PATH,
    RejectionCounter,
    WebhookRejected,
    latest_server_event_id,
    list_server_events,
    publish_server_event,
    rejection_counts,
    stripe_webhook_route,
    verify_delivery,
)
from tests.loopback_server import unused_url

SECRET = "whsec_test_current_0123456789"
OLD_SECRET = "whsec_test_previous_9876543210"


def stripe_event(
    event_id: str = "evt_1", event_type: str = "charge.succeeded", **extra: Any
) -> str:
    """A Stripe event's JSON text, shaped as Stripe sends it (API 2024-06-20)."""
    data_object = extra.pop(
        "data_object",
        {
            "id": "ch_1",
            "object": "charge",
            "amount": 1999,
            "currency": "eur",
            "customer": "cus_1",
            "status": "succeeded",
        },
    )
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_790_000_000,
        "data": {"object": data_object},
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        **extra,
    }
    return json.dumps(event)


def signed(body: str, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


class Receiver:
    """The route mounted alone, with the secrets it accepts and a count of worker wake-ups."""

    def __init__(
        self, engine: Callable[[], Engine], secrets: Sequence[str], **route_options: Any
    ) -> None:
        self.secrets = list(secrets)
        self.wakeups = 0
        self.engine = engine
        self.rejections = RejectionCounter(engine, delay_seconds=60)
        route = stripe_webhook_route(
            engine=engine,
            secrets=lambda: self.secrets,
            on_stored=self._woken,
            rejections=self.rejections,
            **route_options,
        )
        self.client = TestClient(Starlette(routes=[route]))

    def _woken(self) -> None:
        self.wakeups += 1

    def post(self, body: str | bytes, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(WEBHOOK_PATH, content=body, headers=headers or {})

    def refusals(self) -> dict[str, int]:
        """The refusal counts as stored, once the counter has written what it holds."""
        self.rejections.flush()
        return rejection_counts(self.engine())


@pytest.fixture
def receiver(engine: Engine) -> Iterator[Receiver]:
    served = Receiver(lambda: engine, [SECRET])
    with served.client:
        yield served


def stored_rows(engine: Engine) -> list[sa.Row[Any]]:
    with engine.connect() as connection:
        return connection.execute(sa.select(webhook_events).order_by(webhook_events.c.id)).all()


def test_a_signed_event_is_stored_then_acknowledged(receiver: Receiver, engine: Engine) -> None:
    body = stripe_event("evt_good")

    response = receiver.post(body, signed(body))

    assert response.status_code == 200
    assert response.json() == {"received": True}
    [row] = stored_rows(engine)
    assert (row.event_id, row.event_type, row.source, row.status) == (
        "evt_good",
        "charge.succeeded",
        "webhook",
        "pending",
    )
    assert row.payload == body
    assert row.event_created == 1_790_000_000
    assert receiver.wakeups == 1
    [event] = list_server_events(engine)
    assert event.name == "stripe.payment.received"
    assert event.payload == {
        "id": "ch_1",
        "amount": 1999,
        "currency": "eur",
        "customer": "cus_1",
        "status": "succeeded",
        "stripe_event_id": "evt_good",
        "type": "charge.succeeded",
    }


def test_a_redelivery_is_acknowledged_and_changes_nothing(
    receiver: Receiver, engine: Engine
) -> None:
    body = stripe_event("evt_twice")
    receiver.post(body, signed(body))
    before = stored_rows(engine)

    again = receiver.post(body, signed(body))

    assert again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True}
    assert stored_rows(engine) == before
    assert receiver.wakeups == 1


def test_twenty_concurrent_deliveries_of_one_event_store_one_row(
    receiver: Receiver, engine: Engine
) -> None:
    body = stripe_event("evt_race")
    headers = signed(body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: receiver.post(body, headers), range(20)))

    assert [response.status_code for response in responses] == [200] * 20
    assert sum("duplicate" not in response.json() for response in responses) == 1
    assert [row.event_id for row in stored_rows(engine)] == ["evt_race"]


MESH_NAMES = {
    "charge.succeeded": "stripe.payment.received",
    "charge.failed": "stripe.payment.failed",
    "charge.refunded": "stripe.payment.refunded",
    "customer.subscription.created": "stripe.subscription.created",
    "customer.subscription.updated": "stripe.subscription.updated",
    "customer.subscription.deleted": "stripe.subscription.deleted",
    "invoice.payment_failed": "stripe.invoice.payment_failed",
    "account.application.deauthorized": "stripe.account.deauthorized",
    "payout.paid": "stripe.event.payout.paid",
}


def test_each_stripe_type_is_published_under_its_mesh_name(
    receiver: Receiver, engine: Engine
) -> None:
    for number, event_type in enumerate(MESH_NAMES):
        body = stripe_event(f"evt_{number}", event_type)
        assert receiver.post(body, signed(body)).status_code == 200, event_type

    published = {event.event_type: event.name for event in list_server_events(engine)}
    assert published == MESH_NAMES


def test_payloads_carry_the_fields_of_refunds_subscriptions_invoices_and_deauthorizations(
    receiver: Receiver, engine: Engine
) -> None:
    bodies = [
        stripe_event(
            "evt_refund",
            "charge.refunded",
            data_object={
                "id": "ch_9",
                "amount": 5000,
                "amount_refunded": 1500,
                "currency": "jpy",
                "customer": {"id": "cus_9", "object": "customer"},
                "status": "succeeded",
            },
        ),
        stripe_event(
            "evt_sub",
            "customer.subscription.updated",
            data_object={
                "id": "sub_1",
                "currency": "usd",
                "customer": "cus_2",
                "status": "past_due",
            },
        ),
        stripe_event(
            "evt_invoice",
            "invoice.payment_failed",
            data_object={
                "id": "in_1",
                "amount_due": 2500,
                "currency": "kwd",
                "customer": "cus_3",
                "status": "open",
            },
        ),
        stripe_event(
            "evt_deauth",
            "account.application.deauthorized",
            account="acct_123",
            data_object={"id": "ca_456", "object": "application", "name": "Dashboard"},
        ),
    ]
    for body in bodies:
        assert receiver.post(body, signed(body)).status_code == 200

    payloads = {event.stripe_event_id: event.payload for event in list_server_events(engine)}
    assert payloads["evt_refund"] == {
        "id": "ch_9",
        "amount": 5000,
        "amount_refunded": 1500,
        "currency": "jpy",
        "customer": "cus_9",
        "status": "succeeded",
        "stripe_event_id": "evt_refund",
        "type": "charge.refunded",
    }
    assert payloads["evt_sub"] == {
        "id": "sub_1",
        "amount": None,
        "currency": "usd",
        "customer": "cus_2",
        "status": "past_due",
        "stripe_event_id": "evt_sub",
        "type": "customer.subscription.updated",
    }
    assert payloads["evt_invoice"]["amount"] == 2500
    assert payloads["evt_invoice"]["currency"] == "kwd"
    assert payloads["evt_deauth"]["id"] == "acct_123"
    assert payloads["evt_deauth"]["application"] == "ca_456"
    assert payloads["evt_deauth"]["status"] == "deauthorized"


def test_an_event_signed_with_either_rotated_secret_is_accepted(engine: Engine) -> None:
    served = Receiver(lambda: engine, [SECRET, OLD_SECRET])
    old, new = stripe_event("evt_old"), stripe_event("evt_new")

    with served.client:
        assert served.post(old, signed(old, OLD_SECRET)).status_code == 200
        assert served.post(new, signed(new, SECRET)).status_code == 200

    assert [row.event_id for row in stored_rows(engine)] == ["evt_old", "evt_new"]


def test_clock_skew_within_five_minutes_either_way_is_accepted(
    receiver: Receiver, engine: Engine
) -> None:
    late, early = stripe_event("evt_late"), stripe_event("evt_early")
    now = int(time.time())

    assert receiver.post(late, signed(late, timestamp=now - 290)).status_code == 200
    assert receiver.post(early, signed(early, timestamp=now + 290)).status_code == 200


REFUSED: list[tuple[str, Callable[[], tuple[bytes | str, dict[str, str]]], str]] = [
    ("no header", lambda: (stripe_event(), {}), "missing_signature"),
    (
        "tampered body",
        lambda: (stripe_event().replace("1999", "1"), signed(stripe_event())),
        "bad_signature",
    ),
    (
        "wrong secret",
        lambda: (stripe_event(), signed(stripe_event(), "whsec_other")),
        "bad_signature",
    ),
    (
        "garbled header",
        lambda: (stripe_event(), {"Stripe-Signature": "v1=abc,t=notanumber"}),
        "bad_signature",
    ),
    (
        "stale timestamp",
        lambda: (stripe_event(), signed(stripe_event(), timestamp=int(time.time()) - 301)),
        "stale_timestamp",
    ),
    (
        "future timestamp",
        lambda: (stripe_event(), signed(stripe_event(), timestamp=int(time.time()) + 600)),
        "future_timestamp",
    ),
    ("not JSON", lambda: ("not json at all", signed("not json at all")), "malformed_json"),
    ("JSON array", lambda: ("[1, 2]", signed("[1, 2]")), "malformed_json"),
    ("not UTF-8", lambda: (b"\xff\xfe{}", signed("{}")), "malformed_json"),
    ("not an event", lambda: ('{"hello": 1}', signed('{"hello": 1}')), "malformed_event"),
]


def test_refused_deliveries_get_400_with_the_reason_and_are_counted(
    receiver: Receiver, engine: Engine
) -> None:
    for name, make, reason in REFUSED:
        body, headers = make()

        response = receiver.post(body, headers)

        assert response.status_code == 400, name
        assert response.json()["error"] == reason, name
    assert stored_rows(engine) == []
    expected: dict[str, int] = {}
    for _name, _make, reason in REFUSED:
        expected[reason] = expected.get(reason, 0) + 1
    assert receiver.refusals() == expected
    assert receiver.wakeups == 0


def test_a_body_over_one_mebibyte_is_refused_before_checking_anything(
    receiver: Receiver, engine: Engine
) -> None:
    padding = "x" * MAX_BODY_BYTES
    body = stripe_event("evt_big", description=padding)

    declared = receiver.post(body, signed(body))
    streamed = receiver.client.post(
        WEBHOOK_PATH,
        content=(chunk for chunk in [body[:1000].encode(), body[1000:].encode()]),
        headers=signed(body),
    )

    assert declared.status_code == streamed.status_code == 400
    assert declared.json()["error"] == streamed.json()["error"] == "body_too_large"
    assert receiver.refusals() == {"body_too_large": 2}
    assert stored_rows(engine) == []


def test_a_body_of_exactly_one_mebibyte_is_accepted(receiver: Receiver, engine: Engine) -> None:
    almost = stripe_event("evt_edge", description="")
    body = almost.replace(
        '"description": ""', '"description": "' + "x" * (MAX_BODY_BYTES - len(almost)) + '"'
    )
    assert len(body.encode()) == MAX_BODY_BYTES

    assert receiver.post(body, signed(body)).status_code == 200


def test_rejections_are_counted_per_reason(receiver: Receiver, engine: Engine) -> None:
    body = stripe_event()
    receiver.post(body, {})
    receiver.post(body, {})
    receiver.post(body, signed(body, "whsec_other"))

    assert receiver.refusals() == {"missing_signature": 2, "bad_signature": 1}


def test_logs_name_the_reason_but_never_the_body_or_the_secret(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    body = stripe_event("evt_secretive", description="card ending 4242 for alice@example.com")
    caplog.set_level(logging.DEBUG)

    receiver.post(body, signed(body, "whsec_attacker_guess"))
    receiver.post(body.replace("4242", "0000"), signed(body))
    receiver.refusals()

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "bad_signature" in logged
    for leaked in (SECRET, "whsec_attacker_guess", "alice@example.com", "4242", "evt_secretive"):
        assert leaked not in logged


def test_unavailable_storage_answers_503_so_stripe_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = create_db_engine(
        unused_url().replace("http://", "postgresql+psycopg://postgres@") + "/x"
    )
    served = Receiver(lambda: down, [SECRET])
    body = stripe_event("evt_later")

    with served.client:
        response = served.post(body, signed(body))

    assert response.status_code == 503
    assert response.json() == {"error": "storage_unavailable"}
    assert "Traceback" not in response.text
    assert served.wakeups == 0
    assert any("OperationalError" in record.getMessage() for record in caplog.records)


def test_without_a_configured_secret_every_delivery_is_refused_with_503(engine: Engine) -> None:
    served = Receiver(lambda: engine, [])
    body = stripe_event()

    with served.client:
        response = served.post(body, signed(body))

    assert response.status_code == 503
    assert response.json()["error"] == "no_secret_configured"
    assert stored_rows(engine) == []


def test_only_post_is_served(receiver: Receiver) -> None:
    assert receiver.client.get(WEBHOOK_PATH).status_code == 405


def test_the_feed_lets_sessions_follow_new_server_events_by_pattern(
    receiver: Receiver, engine: Engine
) -> None:
    for event_id, event_type in [
        ("evt_paid", "charge.succeeded"),
        ("evt_sub", "customer.subscription.created"),
        ("evt_declined", "charge.failed"),
    ]:
        body = stripe_event(event_id, event_type)
        receiver.post(body, signed(body))
    paid, subscribed, declined = sorted(event.id for event in list_server_events(engine))

    assert latest_server_event_id(engine) == declined
    assert latest_server_event_id(engine, "stripe.payment.*") == declined
    assert latest_server_event_id(engine, "stripe.subscription.*") == subscribed
    assert latest_server_event_id(engine, "stripe.invoice.*") is None
    with pytest.raises(InvalidPatternError):
        latest_server_event_id(engine, "stripe..payment")
    newer = list_server_events(engine, after_id=paid)
    assert [event.stripe_event_id for event in newer] == ["evt_declined", "evt_sub"]

    bus = EventBus()
    entry = publish_server_event(bus, newer[0])
    assert (entry.event.name, entry.event.origin, entry.event.source) == (
        "stripe.payment.failed",
        "server",
        "stripe-webhook",
    )
    assert entry.event.payload["stripe_event_id"] == "evt_declined"


# Stripe-Signature headers: parsed exactly as stripe-python parses them, never a 500.


def test_a_header_with_a_spaced_t_item_is_refused_not_a_server_error(
    receiver: Receiver,
) -> None:
    body = stripe_event("evt_spaced")

    response = receiver.post(body, {"Stripe-Signature": "t =abc,"})

    assert response.status_code == 400
    assert response.json()["error"] == "bad_signature"


def test_a_spaced_t_item_before_a_valid_signature_is_ignored_as_stripe_python_does(
    receiver: Receiver,
) -> None:
    body = stripe_event("evt_spaced_valid")

    response = receiver.post(
        body, {"Stripe-Signature": "t =abc," + signed(body)["Stripe-Signature"]}
    )

    assert response.status_code == 200


def test_a_spaced_t_item_cannot_hide_a_future_timestamp(receiver: Receiver, engine: Engine) -> None:
    body = stripe_event("evt_from_the_future")
    now, future = int(time.time()), int(time.time()) + 3600
    future_header = signed(body, timestamp=future)["Stripe-Signature"]

    response = receiver.post(body, {"Stripe-Signature": f"t ={now},{future_header}"})

    assert response.status_code == 400
    assert response.json()["error"] == "future_timestamp"
    assert stored_rows(engine) == []


@pytest.mark.parametrize(
    "header",
    [
        b"t=1700000000,v1=\xe9",
        "t=1700000000,v1=é".encode(),
        b"t=,v1=abc",
        b"t=1e9,v1=abc",
        b"t=" + b"9" * 5000 + b",v1=abc",
        b",,,",
        b"t",
        b"v1=abc",
        b"t=\xd9\xa1\xd9\xa2,v1=abc",
    ],
)
def test_malformed_signature_headers_are_400_bad_signature(
    receiver: Receiver, header: bytes
) -> None:
    body = stripe_event("evt_malformed")

    response = receiver.client.post(
        WEBHOOK_PATH, content=body, headers=[(b"Stripe-Signature", header)]
    )

    assert response.status_code == 400
    assert response.json()["error"] == "bad_signature"


# Items of a header, by kind: a value is materialised when the test runs, so "now" is now.
_ITEM_KEYS = st.sampled_from(["t", "t ", " t", "T", "v1", "v0", "x", ""])
_ITEM_VALUES = st.sampled_from(
    [
        "now",
        "future",
        "past",
        " now",
        "+now",
        "abc",
        "",
        None,
        "sig:now",
        "sig:future",
        "sig:past",
        "00",
        "é",
    ]
)
_BODY = stripe_event("evt_fuzzed")


def materialise(items: list[tuple[str, str | None]], now: int) -> str:
    """The header text for `items`: times relative to `now`, "sig:<time>" a signature of the
    body made at that time with the right secret, None an item without "="."""
    times = {"now": now, "future": now + 3600, "past": now - 3600}
    parts = []
    for key, value in items:
        if value is None:
            parts.append(key)
            continue
        if value.startswith("sig:"):
            signed_at = times[value.removeprefix("sig:")]
            value = stripe.WebhookSignature._compute_signature(f"{signed_at}.{_BODY}", SECRET)
        else:
            for name, moment in times.items():
                value = value.replace(name, str(moment))
        parts.append(f"{key}={value}")
    return ",".join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(st.tuples(_ITEM_KEYS, _ITEM_VALUES), min_size=1, max_size=5))
@example(items=[("t", "now"), ("v1", "sig:now")])
@example(items=[("t ", "now"), ("t", "future"), ("v1", "sig:future")])
@example(items=[("t ", "abc"), ("t", "now"), ("v1", "sig:now")])
def test_any_header_is_refused_with_a_reason_or_accepted_exactly_when_stripe_python_would(
    items: list[tuple[str, str | None]],
) -> None:
    header = materialise(items, int(time.time()))
    try:
        stripe.Webhook.construct_event(_BODY, header, SECRET, tolerance=300)
        # stripe-python's own parser is the oracle for the time the signature covers.
        timestamp, _ = stripe.WebhookSignature._get_timestamp_and_signatures(header, "v1")
        stripe_accepts = timestamp <= time.time() + 300
    except (stripe.SignatureVerificationError, TypeError):
        stripe_accepts = False

    try:
        verify_delivery(_BODY.encode(), header, [SECRET])
        accepted = True
    except WebhookRejected:
        accepted = False

    assert accepted == stripe_accepts
