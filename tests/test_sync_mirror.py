"""The mirror sync against a loopback server speaking Stripe's list semantics, on SQLite and
PostgreSQL: full backfill, incremental syncs, resume after failures, 429 backoff, cancel, and
updates from stored events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.demo import DEMO_API_KEY, DemoAccount, DemoStripeTransport
from lib.finance import load_subscriptions, monthly_amount
from lib.providers.http import RetryPolicy
from lib.providers.stripe import StripeAdapter
from lib.providers.types import ProviderCredentials
from lib.store.tables import (
    mirror_charges,
    mirror_customers,
    mirror_objects,
    mirror_refunds,
    mirror_subscriptions,
    webhook_events,
)
from lib.sync import apply_stored_events, read_states, sync_mirror
from lib.sync.mirror import SyncProgress
from lib.sync.state import read_windows
from tests.loopback_server import LoopbackServer, RecordedRequest, Reply
from tests.time_doubles import RecordingSleep

T0 = 1_790_000_000
"""A fixed moment (Sep 2026); every object is created relative to it."""
ACCOUNT = "settings:0123456789abcdef"
CREDENTIALS = ProviderCredentials(pat=DEMO_API_KEY)
RESOURCES = ("customers", "charges", "refunds", "subscriptions")


def customer(number: int, *, email: str, name: str, created: int = T0) -> dict[str, Any]:
    return {
        "id": f"cus_{number:04d}",
        "object": "customer",
        "created": created,
        "email": email,
        "name": name,
    }


def charge(
    number: int,
    *,
    created: int,
    amount: int = 1000,
    currency: str = "usd",
    status: str = "succeeded",
    customer_id: str | None = "cus_0001",
    amount_refunded: int = 0,
    description: str = "House blend, 500 g",
) -> dict[str, Any]:
    return {
        "id": f"ch_{number:06d}",
        "object": "charge",
        "created": created,
        "amount": amount,
        "amount_refunded": amount_refunded,
        "currency": currency,
        "status": status,
        "customer": customer_id,
        "description": description,
        "refunded": amount_refunded == amount,
        "disputed": False,
        "livemode": False,
        "billing_details": {"email": None, "name": None},
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
        "failure_code": "card_declined" if status == "failed" else None,
        "failure_message": "Your card was declined." if status == "failed" else None,
        "receipt_url": f"https://pay.stripe.com/receipts/ch_{number:06d}",
    }


def refund(number: int, charge_id: str, *, amount: int, created: int) -> dict[str, Any]:
    return {
        "id": f"re_{number:04d}",
        "object": "refund",
        "charge": charge_id,
        "amount": amount,
        "currency": "usd",
        "created": created,
        "status": "succeeded",
        "reason": "requested_by_customer",
    }


def subscription(number: int, *, status: str, created: int) -> dict[str, Any]:
    return {
        "id": f"sub_{number:04d}",
        "object": "subscription",
        "customer": "cus_0001",
        "status": status,
        "currency": "usd",
        "created": created,
        "start_date": created,
        "trial_start": None,
        "trial_end": None,
        "canceled_at": created + 100 if status == "canceled" else None,
        "ended_at": created + 100 if status == "canceled" else None,
        "cancel_at_period_end": False,
        "items": {"object": "list", "data": []},
    }


class FakeStripe:
    """Stripe's list endpoints on a loopback server, answered by the demo transport (limits,
    `starting_after`, `created[gte]`, `status=all`, auth) over objects the test controls."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.objects: dict[str, list[dict[str, Any]]] = {name: [] for name in RESOURCES}
        for name in RESOURCES:
            server.on(f"/v1/{name}", self._answer)

    def add(self, resource: str, *objects: dict[str, Any]) -> None:
        self.objects[resource].extend(objects)

    def requests(self, resource: str) -> list[RecordedRequest]:
        return self.server.requests_to(f"/v1/{resource}")

    def _answer(self, request: RecordedRequest) -> Reply:
        def newest_first(items: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
            return tuple(sorted(items, key=lambda o: (o["created"], o["id"]), reverse=True))

        account = DemoAccount(
            anchor=T0,
            account={"id": "acct_test"},
            events=(),
            **{name: newest_first(items) for name, items in self.objects.items()},
        )
        transport = DemoStripeTransport(account, clock=lambda: T0 + 10_000_000)
        answer = transport.handle_request(
            httpx.Request(
                request.method,
                "https://api.stripe.com" + request.path,
                params=request.query,
                headers=dict(request.headers),
            )
        )
        return Reply(status=answer.status_code, body=answer.content, headers=answer.headers)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def stripe(server: LoopbackServer) -> FakeStripe:
    return FakeStripe(server)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def adapter(server: LoopbackServer, sleep: RecordingSleep) -> Iterator[StripeAdapter]:
    retry = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=20.0)
    with StripeAdapter(base_url=server.url + "/v1", retry=retry, sleep=sleep) as made:
        yield made


def seed_account(stripe: FakeStripe, charges: int = 250) -> None:
    stripe.add(
        "customers",
        customer(1, email="ana@example.com", name="Ana Lima"),
        customer(2, email="kenji@example.jp", name="Kenji Sato"),
    )
    stripe.add(
        "charges",
        *(
            charge(n, created=T0 + n * 60, customer_id="cus_0001" if n % 2 else "cus_0002")
            for n in range(1, charges + 1)
        ),
    )
    stripe.add("refunds", refund(1, "ch_000010", amount=400, created=T0 + 700))
    stripe.add(
        "subscriptions",
        subscription(1, status="active", created=T0),
        subscription(2, status="canceled", created=T0 + 10),
    )


def count(engine: Engine, table: sa.Table, account: str = ACCOUNT) -> int:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.account_key == account)
        ).scalar_one()


def stored_charge(engine: Engine, charge_id: str, account: str = ACCOUNT) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(mirror_charges).where(
                mirror_charges.c.account_key == account, mirror_charges.c.id == charge_id
            )
        ).one_or_none()


def event_row(event_id: str, event_type: str, created: int, obj: Any) -> dict[str, Any]:
    """A stored Stripe event as the webhook receiver writes it, received an hour ago."""
    event = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": created,
        "data": {"object": obj},
    }
    return {
        "provider": "stripe",
        "event_id": event_id,
        "event_type": event_type,
        "payload": json.dumps(event),
        "event_created": created,
        "received_at": datetime.now(UTC) - timedelta(hours=1),
    }


def store_event(engine: Engine, event_id: str, event_type: str, created: int, obj: Any) -> None:
    with engine.begin() as connection:
        connection.execute(
            webhook_events.insert().values(event_row(event_id, event_type, created, obj))
        )


# --- full and incremental sync --------------------------------------------------------------


def test_first_sync_copies_every_object_with_its_filter_columns_and_raw_json(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    seed_account(stripe)
    progress: list[SyncProgress] = []

    report = sync_mirror(
        engine, ACCOUNT, adapter, CREDENTIALS, on_progress=progress.append, clock=lambda: T0 + 1e6
    )

    assert report.outcome == "complete"
    assert (report.objects, report.requests) == (2 + 250 + 1 + 2, 1 + 3 + 1 + 1)
    assert [count(engine, t) for t in (mirror_customers, mirror_charges)] == [2, 250]
    assert [count(engine, t) for t in (mirror_refunds, mirror_subscriptions)] == [1, 2]
    assert count(engine, mirror_objects) == 255
    # Progress after every page: objects and pages keep growing.
    assert [(p.resource, p.objects, p.pages) for p in progress][:4] == [
        ("customers", 2, 1),
        ("charges", 102, 2),
        ("charges", 202, 3),
        ("charges", 252, 4),
    ]
    newest = stored_charge(engine, "ch_000250")
    assert (newest.amount, newest.currency, newest.status) == (1000, "usd", "succeeded")
    assert (newest.customer_email, newest.customer_name) == ("kenji@example.jp", "Kenji Sato")
    assert (newest.card_brand, newest.card_last4) == ("visa", "4242")
    with engine.connect() as connection:
        raw = connection.execute(
            sa.select(mirror_objects.c.raw).where(mirror_objects.c.id == "ch_000250")
        ).scalar_one()
    assert json.loads(raw)["receipt_url"] == "https://pay.stripe.com/receipts/ch_000250"
    # Canceled subscriptions are mirrored too: Stripe lists them only with status=all.
    assert all(r.param("status") == "all" for r in stripe.requests("subscriptions"))
    with engine.connect() as connection:
        states = read_states(connection, ACCOUNT)
    assert all(s.complete and not s.run_open for s in states.values())
    assert states["charges"].newest_created == T0 + 250 * 60


def test_resync_of_an_unchanged_account_costs_one_request_per_resource(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    seed_account(stripe)
    sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS)
    before = len(stripe.server.requests)

    report = sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS)

    assert report.outcome == "complete"
    assert report.requests == 4
    later = stripe.server.requests[before:]
    assert sorted(r.path for r in later) == [f"/v1/{name}" for name in sorted(RESOURCES)]
    charges_request = next(r for r in later if r.path == "/v1/charges")
    assert charges_request.param("created[gte]") == str(T0 + 250 * 60)
    assert count(engine, mirror_charges) == 250


def test_incremental_sync_fetches_only_new_charges(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    seed_account(stripe)
    sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS)
    before = len(stripe.requests("charges"))
    stripe.add("charges", *(charge(n, created=T0 + 250 * 60 + n) for n in range(1001, 1121)))

    report = sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS)

    assert report.outcome == "complete"
    new_requests = stripe.requests("charges")[before:]
    assert len(new_requests) == 2  # 121 objects at or after the newest stored, 100 a page
    assert all(r.param("created[gte]") == str(T0 + 250 * 60) for r in new_requests)
    assert count(engine, mirror_charges) == 370
    assert stored_charge(engine, "ch_001120") is not None


# --- failures, rate limits, cancel ----------------------------------------------------------


def test_a_sync_that_fails_part_way_keeps_whole_pages_and_resumes_after_the_last(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter, sleep: RecordingSleep
) -> None:
    seed_account(stripe)
    server = stripe.server

    def second_charges_page_fails(request: RecordedRequest) -> Reply:
        if request.param("starting_after") == "ch_000151":
            return Reply(status=500, json={"error": {"message": "Something went wrong"}})
        return stripe._answer(request)

    server.on("/v1/charges", second_charges_page_fails)
    failed = sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS)

    assert failed.outcome == "failed" and failed.failed_resource == "charges"
    assert failed.error is not None and "Something went wrong" in failed.error.message
    assert count(engine, mirror_charges) == 100  # page one only, whole
    with engine.connect() as connection:
        state = read_states(connection, ACCOUNT)["charges"]
        [window] = read_windows(connection, ACCOUNT, "charges")
    assert state.run_open and window.cursor == "ch_000151"
    assert state.last_error is not None and "Something went wrong" in state.last_error
    assert len(sleep.waits) == 2  # the adapter retried the 500 before giving up

    server.on("/v1/charges", stripe._answer)
    before = len(stripe.requests("charges"))
    resumed = sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS)

    assert resumed.outcome == "complete"
    first_retry = stripe.requests("charges")[before]
    assert first_retry.param("starting_after") == "ch_000151"
    assert first_retry.param("created[gte]") is None  # still the first backfill
    assert count(engine, mirror_charges) == 250
    with engine.connect() as connection:
        state = read_states(connection, ACCOUNT)["charges"]
    assert state.complete and not state.run_open and state.last_error is None


def test_rate_limited_pages_are_retried_after_the_wait_stripe_asks_for(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter, sleep: RecordingSleep
) -> None:
    seed_account(stripe, charges=150)
    stripe.server.queue(
        "/v1/charges",
        Reply(
            status=429,
            json={"error": {"message": "Too many requests"}},
            headers={"Retry-After": "2"},
        ),
    )

    report = sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS)

    assert report.outcome == "complete"
    assert count(engine, mirror_charges) == 150
    assert len(sleep.waits) == 1 and sleep.waits[0] >= 2
    assert report.requests == 1 + 3 + 1 + 1  # the 429 and its retry are both requests


def test_a_cancelled_sync_stops_before_its_next_request_and_resumes_later(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    seed_account(stripe)
    pages: list[SyncProgress] = []

    report = sync_mirror(
        engine,
        ACCOUNT,
        adapter,
        CREDENTIALS,
        on_progress=pages.append,
        should_cancel=lambda: len(pages) >= 2,
    )

    assert report.outcome == "cancelled"
    assert (report.pages, count(engine, mirror_charges)) == (2, 100)
    assert len(stripe.requests("charges")) == 1
    resumed = sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS)
    assert resumed.outcome == "complete"
    assert stripe.requests("charges")[1].param("starting_after") == "ch_000151"
    assert count(engine, mirror_charges) == 250


def test_a_page_that_cannot_be_stored_is_not_half_written(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    seed_account(stripe)
    broken = next(c for c in stripe.objects["charges"] if c["id"] == "ch_000100")
    del broken["amount"]

    with pytest.raises(KeyError):
        sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS)

    assert count(engine, mirror_charges) == 100  # the page holding the broken charge: none
    assert stored_charge(engine, "ch_000101") is None
    with engine.connect() as connection:
        [window] = read_windows(connection, ACCOUNT, "charges")
    assert window.cursor == "ch_000151"


def test_mirrors_of_different_accounts_never_mix(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    seed_account(stripe, charges=30)
    sync_mirror(engine, "demo", adapter, CREDENTIALS)
    stripe.add("charges", charge(999, created=T0 + 99_999))
    sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS)

    assert count(engine, mirror_charges, "demo") == 30
    assert count(engine, mirror_charges, ACCOUNT) == 31
    assert stored_charge(engine, "ch_000999", "demo") is None


# --- updates from stored events -------------------------------------------------------------


def test_stored_events_update_mirrored_objects_in_event_order_when_newer(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    seed_account(stripe, charges=20)
    synced_at = T0 + 100_000
    sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS, clock=lambda: synced_at)
    refunded = charge(5, created=T0 + 300, amount_refunded=1000)
    refunded["refunds"] = {
        "object": "list",
        "data": [refund(7, "ch_000005", amount=1000, created=synced_at + 50)],
    }
    # Stored out of order: the newer partial refund arrives before the older full one.
    store_event(
        engine,
        "evt_2",
        "charge.updated",
        synced_at + 90,
        charge(6, created=T0 + 360, amount_refunded=300),
    )
    store_event(
        engine,
        "evt_1",
        "charge.updated",
        synced_at + 60,
        charge(6, created=T0 + 360, amount_refunded=1000),
    )
    store_event(engine, "evt_3", "charge.refunded", synced_at + 50, refunded)
    store_event(
        engine,
        "evt_old",
        "charge.refunded",
        synced_at - 500,
        charge(7, created=T0 + 420, amount_refunded=1000),
    )
    store_event(
        engine,
        "evt_4",
        "charge.dispute.created",
        synced_at + 70,
        {"object": "dispute", "id": "dp_1", "charge": "ch_000008"},
    )
    store_event(
        engine,
        "evt_5",
        "customer.updated",
        synced_at + 80,
        customer(1, email="ana.new@example.com", name="Ana Lima"),
    )
    store_event(
        engine,
        "evt_6",
        "customer.subscription.deleted",
        synced_at + 80,
        subscription(1, status="canceled", created=T0),
    )
    store_event(
        engine, "evt_7", "charge.succeeded", synced_at + 80, charge(777, created=synced_at + 80)
    )

    applied = apply_stored_events(engine, ACCOUNT)

    assert applied.read == 8
    assert stored_charge(engine, "ch_000005").amount_refunded == 1000
    assert stored_charge(engine, "ch_000005").refunded
    assert stored_charge(engine, "ch_000006").amount_refunded == 300  # the newer event wins
    assert stored_charge(engine, "ch_000007").amount_refunded == 0  # older than the fetch
    assert stored_charge(engine, "ch_000008").disputed
    assert stored_charge(engine, "ch_000009").customer_email == "ana.new@example.com"
    assert stored_charge(engine, "ch_000777") is None  # new objects come from the next sync
    with engine.connect() as connection:
        status = connection.execute(
            sa.select(mirror_subscriptions.c.status).where(mirror_subscriptions.c.id == "sub_0001")
        ).scalar_one()
        refunds = (
            connection.execute(
                sa.select(mirror_refunds.c.id).where(mirror_refunds.c.charge_id == "ch_000005")
            )
            .scalars()
            .all()
        )
    assert status == "canceled"
    assert refunds == ["re_0007"]
    # Each event is read once: a second pass has nothing to do.
    assert apply_stored_events(engine, ACCOUNT).read == 0


def test_an_event_committed_after_a_newer_one_was_applied_is_still_applied(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its rows commit in id order")
    seed_account(stripe, charges=20)
    synced_at = T0 + 100_000
    sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS, clock=lambda: synced_at)
    slow = charge(3, created=T0 + 180, amount_refunded=500)
    fast = charge(4, created=T0 + 240, amount_refunded=400)
    recent = datetime.now(UTC)

    # One webhook request has its row id but has not committed when a later one is stored
    # and applied (two app processes, or two requests of one, on PostgreSQL).
    with engine.connect() as writer:
        transaction = writer.begin()
        writer.execute(
            webhook_events.insert().values(
                {
                    **event_row("evt_slow", "charge.updated", synced_at + 10, slow),
                    "received_at": recent,
                }
            )
        )
        with engine.begin() as connection:
            connection.execute(
                webhook_events.insert().values(
                    {
                        **event_row("evt_fast", "charge.updated", synced_at + 20, fast),
                        "received_at": recent,
                    }
                )
            )
        apply_stored_events(engine, ACCOUNT)
        transaction.commit()
    apply_stored_events(engine, ACCOUNT)

    assert stored_charge(engine, "ch_000004").amount_refunded == 400
    assert stored_charge(engine, "ch_000003").amount_refunded == 500


def test_a_sync_applies_the_events_stored_since_the_last_one(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    seed_account(stripe, charges=5)
    sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS, clock=lambda: T0 + 1_000)
    store_event(
        engine,
        "evt_9",
        "charge.refunded",
        T0 + 2_000,
        charge(3, created=T0 + 180, amount_refunded=1000),
    )

    report = sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS, clock=lambda: T0 + 1_500)

    assert report.events is not None and report.events.applied == 1
    assert stored_charge(engine, "ch_000003").refunded


def tiered_subscription(quantity: int) -> dict[str, Any]:
    """sub_0009: seats at a volume-tiered price, 1-5 at $10.00, 6+ at $8.00 plus $5.00 flat."""
    price = {
        "id": "price_seats",
        "object": "price",
        "created": T0 - 1_000,
        "currency": "usd",
        "billing_scheme": "tiered",
        "tiers_mode": "volume",
        "unit_amount": None,
        "unit_amount_decimal": None,
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        "tiers": [
            {"up_to": 5, "unit_amount": 1000, "flat_amount": None},
            {"up_to": None, "unit_amount": 800, "flat_amount": 500},
        ],
    }
    sub = subscription(9, status="active", created=T0 + 20)
    sub["items"]["data"] = [{"id": "si_9", "quantity": quantity, "price": price}]
    return sub


def test_tiered_prices_are_fetched_once_with_their_tiers_and_kept_through_events(
    engine: Engine, stripe: FakeStripe, server: LoopbackServer, adapter: StripeAdapter
) -> None:
    stripe.add("subscriptions", tiered_subscription(quantity=7))
    server.on("/v1/prices/price_seats", stripe._answer)

    sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS, clock=lambda: T0 + 1_000)

    # Stripe cannot expand tiers from a subscription list (five levels deep): one retrieve.
    [retrieve] = stripe.server.requests_to("/v1/prices/price_seats")
    assert retrieve.query == [("expand[]", "tiers")]
    [facts] = load_subscriptions(engine, ACCOUNT)
    assert monthly_amount(facts) == 6100  # 7 seats in the open tier: 7 x 800 + 500

    # An update event never carries tiers: the stored copy keeps them.
    updated = tiered_subscription(quantity=8)
    del updated["items"]["data"][0]["price"]["tiers"]
    store_event(engine, "evt_seats", "customer.subscription.updated", T0 + 2_000, updated)
    apply_stored_events(engine, ACCOUNT)

    [facts] = load_subscriptions(engine, ACCOUNT)
    assert monthly_amount(facts) == 6900  # 8 x 800 + 500

    # Nor does a later listing: the price is not fetched again.
    stripe.objects["subscriptions"] = [tiered_subscription(quantity=8)]
    sync_mirror(engine, ACCOUNT, adapter, CREDENTIALS, clock=lambda: T0 + 3_000)
    [facts] = load_subscriptions(engine, ACCOUNT)
    assert monthly_amount(facts) == 6900
    assert len(stripe.server.requests_to("/v1/prices/price_seats")) == 1
