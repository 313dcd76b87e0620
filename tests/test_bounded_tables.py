"""Tables anyone can fill stay bounded, on SQLite and PostgreSQL: refused deliveries are counted
per reason per hour, OAuth states are capped per client and purged on a schedule, and stored
events are purged after the retention period, never before they are processed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

import lib.config
import lib.store.oauth_states
from lib.config import Settings
from lib.oauth import oauth_routes
from lib.store import (
    OAuthStateStore,
    StateCheck,
    TooManyPendingStates,
    client_ref_for,
    get_engine,
)
from lib.store.tables import oauth_states, webhook_events, webhook_rejection_counts
from lib.webhooks import Housekeeping, WebhookRuntime
from lib.webhooks.events_store import (
    new_event,
    purge_settled_events,
    record_outcomes,
    record_rejections,
    rejection_counts,
    store_event,
)
from lib.webhooks.housekeeping import purge_once
from tests.test_webhook_receiver import SECRET, Receiver, signed, stripe_event
from tests.test_webhook_worker import wait_until


def count_rows(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_flood_of_refused_deliveries_adds_one_row_per_reason_and_hour(engine: Engine) -> None:
    receiver = Receiver(lambda: engine, [SECRET])
    body = stripe_event("evt_forged")
    with receiver.client:
        for _ in range(150):
            receiver.post(body, signed(body, "whsec_forged"))
        for _ in range(50):
            receiver.post(body, {})

    assert receiver.refusals() == {"bad_signature": 150, "missing_signature": 50}
    assert count_rows(engine, webhook_rejection_counts) == 2


def test_refusals_are_counted_in_the_hour_they_happen(engine: Engine) -> None:
    nine = datetime(2026, 11, 2, 9, 5, tzinfo=UTC)
    record_rejections(engine, {"bad_signature": 2}, at=nine)
    record_rejections(engine, {"bad_signature": 3, "body_timeout": 1}, at=nine.replace(minute=59))
    record_rejections(engine, {"bad_signature": 4}, at=nine + timedelta(hours=1))

    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                webhook_rejection_counts.c.reason,
                webhook_rejection_counts.c.hour,
                webhook_rejection_counts.c.deliveries,
            ).order_by(webhook_rejection_counts.c.hour, webhook_rejection_counts.c.reason)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("bad_signature", datetime(2026, 11, 2, 9, tzinfo=UTC), 5),
        ("body_timeout", datetime(2026, 11, 2, 9, tzinfo=UTC), 1),
        ("bad_signature", datetime(2026, 11, 2, 10, tzinfo=UTC), 4),
    ]
    assert rejection_counts(engine) == {"bad_signature": 9, "body_timeout": 1}


# OAuth states: capped per client, purged on a schedule.


@pytest.fixture
def oauth_configured(monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("STRIPE_CLIENT_ID", "ca_test_bounded")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_" + "p" * 24)
    # Remote clients may start flows only when admin actions are open to them.
    monkeypatch.setenv("ALLOW_REMOTE_ADMIN", "true")
    lib.config.get_settings.cache_clear()
    yield
    lib.config.get_settings.cache_clear()


def start(client_address: str) -> TestClient:
    return TestClient(Starlette(routes=oauth_routes()), client=(client_address, 40000))


def test_anonymous_starts_from_one_client_are_capped_and_others_still_start(
    oauth_configured: None,
) -> None:
    flooding = start("203.0.113.7")
    answers = [
        flooding.get("/api/auth/stripe", follow_redirects=False).status_code for _ in range(40)
    ]
    refused = flooding.get("/api/auth/stripe", follow_redirects=False)
    other = start("198.51.100.20").get("/api/auth/stripe", follow_redirects=False)

    cap = lib.store.oauth_states.MAX_PENDING_PER_CLIENT
    assert answers == [302] * cap + [429] * (40 - cap)
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_pending"
    assert 0 < int(refused.headers["retry-after"]) <= 600
    assert other.status_code == 302
    assert count_rows(get_engine(), oauth_states) == cap + 1


def test_an_ipv6_client_is_one_client_across_its_64_block() -> None:
    same_site = client_ref_for("2001:db8:1:2::1"), client_ref_for("2001:db8:1:2:ffff::9")
    other_site = client_ref_for("2001:db8:1:3::1")

    assert same_site[0] == same_site[1] != other_site
    assert client_ref_for("203.0.113.7") != client_ref_for("203.0.113.8")
    assert "203.0.113.7" not in client_ref_for("203.0.113.7")


def test_a_finished_flow_frees_its_place_and_all_clients_together_are_capped(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lib.store.oauth_states, "MAX_PENDING_PER_CLIENT", 2)
    monkeypatch.setattr(lib.store.oauth_states, "MAX_PENDING_TOTAL", 3)
    states = OAuthStateStore(engine)
    first = states.create("stripe", "browser", client_ref="a")
    states.create("stripe", "browser", client_ref="a")
    with pytest.raises(TooManyPendingStates):
        states.create("stripe", "browser", client_ref="a")

    assert states.consume(first, "stripe") is StateCheck.OK
    states.create("stripe", "browser", client_ref="a")
    states.create("stripe", "browser", client_ref="b")
    with pytest.raises(TooManyPendingStates):
        states.create("stripe", "browser", client_ref="c")


def test_expired_states_are_purged_on_schedule_without_any_request(engine: Engine) -> None:
    states = OAuthStateStore(engine)
    states.create("stripe", "browser", ttl_seconds=0, client_ref="a")
    kept = states.create("stripe", "browser", ttl_seconds=600, client_ref="a")
    housekeeping = Housekeeping(engine=lambda: engine, interval_seconds=0.05)

    housekeeping.start()
    try:
        wait_until(lambda: count_rows(engine, oauth_states) == 1)
    finally:
        housekeeping.stop()

    assert states.consume(kept, "stripe") is StateCheck.OK


# Stored events: retention.


def store_received(engine: Engine, event_id: str, received_at: datetime) -> int:
    store_event(engine, new_event(json.loads(stripe_event(event_id)), "{}", "webhook"))
    with engine.begin() as connection:
        connection.execute(
            webhook_events.update()
            .where(webhook_events.c.event_id == event_id)
            .values(received_at=received_at)
        )
        return int(
            connection.execute(
                sa.select(webhook_events.c.id).where(webhook_events.c.event_id == event_id)
            ).scalar_one()
        )


def test_retention_deletes_old_settled_events_and_keeps_pending_and_recent_ones(
    engine: Engine,
) -> None:
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    old = now - timedelta(days=91)
    processed = store_received(engine, "evt_old_processed", old)
    failed = store_received(engine, "evt_old_failed", old)
    store_received(engine, "evt_old_pending", old)
    recent = store_received(engine, "evt_recent_processed", now - timedelta(days=89))
    record_outcomes(engine, {processed: None, failed: "boom", recent: None})
    record_rejections(engine, {"bad_signature": 7}, at=old)
    record_rejections(engine, {"bad_signature": 2}, at=now - timedelta(days=1))

    purged = purge_once(engine, retention_days=90, now=now)

    with engine.connect() as connection:
        left = connection.execute(
            sa.select(webhook_events.c.event_id).order_by(webhook_events.c.id)
        ).scalars()
        assert list(left) == ["evt_old_pending", "evt_recent_processed"]
    assert (purged.events, purged.rejection_counts) == (2, 1)
    assert rejection_counts(engine) == {"bad_signature": 2}


def test_retention_deletes_in_batches_until_everything_old_is_gone(engine: Engine) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    ids = [store_received(engine, f"evt_batch_{number}", old) for number in range(7)]
    record_outcomes(engine, dict.fromkeys(ids))

    deleted = purge_settled_events(engine, datetime.now(UTC), batch_rows=3)

    assert deleted == 7
    assert count_rows(engine, webhook_events) == 0


def test_the_apps_runtime_purges_at_start(engine: Engine) -> None:
    OAuthStateStore(engine).create("stripe", "browser", ttl_seconds=0, client_ref="a")
    runtime = WebhookRuntime(
        settings=lambda: Settings(events_poll_enabled=False), engine=lambda: engine
    )

    runtime.start()
    try:
        wait_until(lambda: count_rows(engine, oauth_states) == 0)
    finally:
        runtime.stop()
