"""Events API catch-up against the demo account (with a clock the test moves) and a loopback
fake of Stripe: paging, dedupe with webhooks, restarts, failures; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.accounts import StripeAccount, demo_account
from lib.config import Settings
from lib.demo import DemoAccount, DemoStripeTransport
from lib.providers.http import RetryPolicy
from lib.providers.stripe import StripeAdapter
from lib.providers.types import ProviderCredentials
from lib.store import create_db_engine
from lib.store.tables import webhook_events
from lib.webhooks import PeriodicPoller, PollResult, WebhookRuntime, load_cursor, poll_once
from lib.webhooks.events_store import new_event, store_event
from tests.loopback_server import LoopbackServer, Reply, unused_url
from tests.test_webhook_worker import wait_until
from tests.time_doubles import Clock

ANCHOR = 1_790_000_000
DAY = 86_400


@pytest.fixture(scope="module")
def demo_data() -> DemoAccount:
    """The demo account around ANCHOR, built once (building takes a moment)."""
    return DemoStripeTransport(clock=lambda: ANCHOR).account


def demo_stripe(data: DemoAccount, clock: Clock) -> StripeAdapter:
    """A fresh adapter on a fresh transport over the same demo data: what a restart has."""
    return StripeAdapter(transport=DemoStripeTransport(data, clock=clock))


def event_ids_between(data: DemoAccount, start: float, end: float) -> list[str]:
    """Ids of the demo events created in [start, end], oldest first."""
    found = [event for event in data.events if start <= event["created"] <= end]
    return [event["id"] for event in sorted(found, key=lambda e: (e["created"], e["id"]))]


def stored(engine: Engine) -> list[tuple[str, str]]:
    """(event id, source) of every stored row, in storage order."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(webhook_events.c.event_id, webhook_events.c.source).order_by(
                webhook_events.c.id
            )
        ).all()
    return [(row.event_id, row.source) for row in rows]


def test_the_first_poll_stores_the_last_24_hours_oldest_first(
    engine: Engine, demo_data: DemoAccount
) -> None:
    clock = Clock(ANCHOR)

    result = poll_once(engine, demo_account(), demo_stripe(demo_data, clock), clock=clock)

    expected = event_ids_between(demo_data, ANCHOR - DAY, ANCHOR)
    assert len(expected) > 10
    assert result == PollResult(stored=len(expected), duplicates=0, pages=1)
    assert stored(engine) == [(event_id, "poll") for event_id in expected]
    cursor = load_cursor(engine, "demo")
    assert cursor is not None and cursor.last_error is None
    assert cursor.last_event_id == expected[-1]


def test_every_page_is_read(engine: Engine, demo_data: DemoAccount) -> None:
    clock = Clock(ANCHOR)

    result = poll_once(
        engine,
        demo_account(),
        demo_stripe(demo_data, clock),
        clock=clock,
        first_lookback_seconds=20 * DAY,
    )

    expected = event_ids_between(demo_data, ANCHOR - 20 * DAY, ANCHOR)
    assert len(expected) > 250
    assert result.pages == math.ceil(len(expected) / 100)
    assert result.stored == len(expected)
    assert [event_id for event_id, _ in stored(engine)] == expected


def test_an_event_received_by_webhook_and_by_polling_is_stored_once(
    engine: Engine, demo_data: DemoAccount
) -> None:
    clock = Clock(ANCHOR)
    window = event_ids_between(demo_data, ANCHOR - DAY, ANCHOR)
    delivered = next(event for event in demo_data.events if event["id"] == window[3])
    store_event(engine, new_event(delivered, json.dumps(delivered), "webhook"))

    result = poll_once(engine, demo_account(), demo_stripe(demo_data, clock), clock=clock)

    assert (result.stored, result.duplicates) == (len(window) - 1, 1)
    rows = stored(engine)
    assert sorted(event_id for event_id, _ in rows) == sorted(window)
    assert (window[3], "webhook") in rows


def test_after_a_restart_polling_resumes_without_re_storing_or_skipping(
    db_url: str, engine: Engine, demo_data: DemoAccount
) -> None:
    clock = Clock(ANCHOR)
    poll_once(engine, demo_account(), demo_stripe(demo_data, clock), clock=clock)
    first = stored(engine)
    engine.dispose()

    clock.now = ANCHOR + 3 * 3600  # the demo's live tail adds charges while the app is down
    restarted = create_db_engine(db_url)
    result = poll_once(restarted, demo_account(), demo_stripe(demo_data, clock), clock=clock)
    again = poll_once(restarted, demo_account(), demo_stripe(demo_data, clock), clock=clock)

    everything = event_ids_between(demo_data, ANCHOR - DAY, clock.now)
    rows = stored(restarted)
    assert rows[: len(first)] == first
    assert [event_id for event_id, _ in rows] == everything
    assert result.stored == len(everything) - len(first) > 0
    assert again.stored == 0
    restarted.dispose()


def stripe_list(events: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": events, "has_more": has_more, "url": "/v1/events"}


def fake_event(event_id: str, created: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "created": created,
        "type": "charge.succeeded",
        "data": {"object": {"id": f"ch_{event_id}", "amount": 100, "currency": "usd"}},
    }


@pytest.fixture
def fake_stripe() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def fake_account(server: LoopbackServer) -> StripeAccount:
    return StripeAccount(
        key="settings:fake",
        source="settings",
        label="Fake Stripe",
        mode="test",
        credentials=ProviderCredentials(pat="sk_test_" + "f" * 24),
        base_url=server.url + "/v1",
    )


def fake_adapter(server: LoopbackServer) -> StripeAdapter:
    return StripeAdapter(base_url=server.url + "/v1", retry=RetryPolicy(max_attempts=1))


def test_events_in_the_same_second_as_the_cursor_are_not_skipped(
    engine: Engine, fake_stripe: LoopbackServer
) -> None:
    same_second = ANCHOR - 60
    fake_stripe.queue("/v1/events", Reply(json=stripe_list([fake_event("evt_a", same_second)])))
    fake_stripe.queue(
        "/v1/events",
        Reply(
            json=stripe_list([fake_event("evt_b", same_second), fake_event("evt_a", same_second)])
        ),
    )
    account, adapter = fake_account(fake_stripe), fake_adapter(fake_stripe)

    first = poll_once(engine, account, adapter, clock=lambda: ANCHOR)
    second = poll_once(engine, account, adapter, clock=lambda: ANCHOR)

    first_request, second_request = fake_stripe.requests_to("/v1/events")
    assert first_request.param("created[gte]") == str(ANCHOR - DAY)
    assert second_request.param("created[gte]") == str(same_second)
    assert (first.stored, second.stored, second.duplicates) == (1, 1, 1)
    assert stored(engine) == [("evt_a", "poll"), ("evt_b", "poll")]


def test_a_failed_page_stores_nothing_records_the_error_and_the_next_poll_catches_up(
    engine: Engine, fake_stripe: LoopbackServer
) -> None:
    newer, older = fake_event("evt_new", ANCHOR - 10), fake_event("evt_old", ANCHOR - 20)
    fake_stripe.queue("/v1/events", Reply(json=stripe_list([newer], has_more=True)))
    fake_stripe.queue("/v1/events", Reply(status=500, json={"error": {"message": "boom"}}))
    account, adapter = fake_account(fake_stripe), fake_adapter(fake_stripe)

    failed = poll_once(engine, account, adapter, clock=lambda: ANCHOR)

    assert failed.error is not None and failed.stored == 0 and failed.pages == 1
    assert stored(engine) == []
    cursor = load_cursor(engine, account.key)
    assert cursor is not None
    assert cursor.last_event_created is None
    assert cursor.last_error == failed.error

    fake_stripe.queue("/v1/events", Reply(json=stripe_list([newer], has_more=True)))
    fake_stripe.queue("/v1/events", Reply(json=stripe_list([older])))
    recovered = poll_once(engine, account, adapter, clock=lambda: ANCHOR)

    assert recovered == PollResult(stored=2, duplicates=0, pages=2)
    assert stored(engine) == [("evt_old", "poll"), ("evt_new", "poll")]
    retried = fake_stripe.requests_to("/v1/events")[2]
    assert retried.param("created[gte]") == str(ANCHOR - DAY)
    cursor = load_cursor(engine, account.key)
    assert cursor is not None and cursor.last_error is None
    assert cursor.last_event_created == ANCHOR - 10


def test_unavailable_storage_is_reported_not_raised(fake_stripe: LoopbackServer) -> None:
    down = create_db_engine(
        unused_url().replace("http://", "postgresql+psycopg://postgres@") + "/x"
    )

    result = poll_once(down, fake_account(fake_stripe), fake_adapter(fake_stripe))

    assert result.error is not None and "database is unavailable" in result.error
    assert result.stored == 0


def test_the_periodic_poller_keeps_polling_after_a_failure() -> None:
    calls: list[int] = []
    enough = threading.Event()

    def poll() -> PollResult:
        calls.append(1)
        if len(calls) >= 3:
            enough.set()
        if len(calls) == 1:
            raise RuntimeError("first poll breaks")
        return PollResult(stored=0, duplicates=0, pages=1)

    poller = PeriodicPoller(poll, interval_seconds=0.01)
    poller.start()
    try:
        assert enough.wait(5)
    finally:
        poller.stop()
    assert not poller.running


def test_the_runtime_polls_the_demo_account_and_processes_what_it_stored(
    engine: Engine,
) -> None:
    settings = Settings(events_poll_interval_seconds=30)
    runtime = WebhookRuntime(settings=lambda: settings, engine=lambda: engine)

    def all_processed() -> bool:
        with engine.connect() as connection:
            statuses = connection.execute(sa.select(webhook_events.c.status)).scalars().all()
        return bool(statuses) and set(statuses) == {"processed"}

    runtime.start()
    try:
        assert runtime.polling
        wait_until(all_processed)
    finally:
        runtime.stop()

    assert not runtime.polling
    assert load_cursor(engine, "demo") is not None


def test_polling_stays_off_when_a_webhook_secret_is_configured(engine: Engine) -> None:
    settings = Settings(stripe_webhook_secret="whsec_configured")
    runtime = WebhookRuntime(settings=lambda: settings, engine=lambda: engine)

    runtime.start()
    try:
        assert runtime.worker.running
        assert not runtime.polling
    finally:
        runtime.stop()
