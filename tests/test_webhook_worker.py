"""Processing after the 200: pending rows are processed in order, also those a crash left,
reactions run without holding up Stripe, failures are recorded; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

import lib.config
from lib.providers.types import ProviderCredentials
from lib.store import ConnectionInfo, CredentialsStore, SecretBox, create_db_engine, migrate
from lib.store.tables import user_credentials, webhook_events
from lib.webhooks import (
    WEBHOOK_PATH,
    ServerEvent,
    WebhookWorker,
    list_server_events,
    stripe_webhook_route,
)
from lib.webhooks.events_store import new_event, store_event
from lib.webhooks.worker import DEFAULT_REACTIONS, MAX_ATTEMPTS
from tests.test_webhook_receiver import SECRET, signed, stripe_event


def store(
    engine: Engine, event_id: str, event_type: str = "charge.succeeded", **extra: Any
) -> None:
    body = stripe_event(event_id, event_type, **extra)
    assert store_event(engine, new_event(json.loads(body), body, "webhook"))


def statuses(engine: Engine) -> dict[str, tuple[str, str | None]]:
    return {
        event.stripe_event_id: (event.status, event.error) for event in list_server_events(engine)
    }


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def started() -> Iterator[list[WebhookWorker]]:
    """Workers a test starts, stopped at its end."""
    workers: list[WebhookWorker] = []
    yield workers
    for worker in workers:
        worker.stop()


def test_rows_a_crash_left_pending_are_processed_when_the_worker_starts(
    engine: Engine, started: list[WebhookWorker]
) -> None:
    for number in range(3):
        store(engine, f"evt_{number}")
    seen: list[str] = []
    worker = WebhookWorker(
        lambda: engine,
        reactions=[("stripe.*", lambda _engine, event: seen.append(event.stripe_event_id))],
    )
    started.append(worker)

    worker.start()

    wait_until(lambda: all(status == "processed" for status, _ in statuses(engine).values()))
    assert seen == ["evt_0", "evt_1", "evt_2"]


OUR_CLIENT_ID = "ca_OurPlatform0000000000000000001"


@pytest.fixture
def connections(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CredentialsStore:
    """The app's stored connections, readable by the worker: our client id and key are set."""
    key = Fernet.generate_key()
    monkeypatch.setenv("APP_ENCRYPTION_KEY", key.decode())
    monkeypatch.setenv("STRIPE_CLIENT_ID", OUR_CLIENT_ID)
    lib.config.get_settings.cache_clear()
    return CredentialsStore(engine, SecretBox([key]))


def connect(
    store: CredentialsStore, user: str, account: str, *, oauth: bool = True, hours_ago: float = 1
) -> None:
    """A Stripe connection of `user` to `account`, saved `hours_ago` hours ago."""
    method = "oauth" if oauth else "api_key"
    store.save(
        user,
        "stripe",
        ProviderCredentials(pat="sk_test_" + "x" * 24, auth_method=method, account_id=account),
        ConnectionInfo(account_id=account, auth_method=method),
    )
    saved_at = datetime.now(UTC) - timedelta(hours=hours_ago)
    with store.engine.begin() as connection:
        connection.execute(
            user_credentials.update()
            .where(user_credentials.c.user_id == user)
            .values(created_at=saved_at, updated_at=saved_at)
        )


def store_deauthorization(
    engine: Engine,
    event_id: str,
    account: str,
    *,
    application: str = OUR_CLIENT_ID,
    minutes_ago: float = 0,
) -> None:
    store(
        engine,
        event_id,
        "account.application.deauthorized",
        account=account,
        created=int(time.time() - minutes_ago * 60),
        data_object={"id": application, "object": "application", "name": "Payments dashboard"},
    )


def connection_status(store: CredentialsStore, user: str) -> str:
    stored = store.get(user, "stripe")
    assert stored is not None
    return stored.status


def test_a_deauthorization_of_our_application_flags_that_accounts_oauth_connection(
    engine: Engine, connections: CredentialsStore
) -> None:
    connect(connections, "u1", "acct_gone")
    connect(connections, "u2", "acct_kept")
    store_deauthorization(engine, "evt_deauth", "acct_gone")

    assert WebhookWorker(lambda: engine).process_pending() == 1

    gone = connections.get("u1", "stripe")
    assert gone is not None and gone.status == "needs_reconnect"
    assert gone.status_reason is not None and "disconnected" in gone.status_reason
    assert connection_status(connections, "u2") == "connected"
    assert statuses(engine)["evt_deauth"] == ("processed", None)


def test_a_deauthorization_of_another_platforms_application_changes_nothing(
    engine: Engine, connections: CredentialsStore
) -> None:
    connect(connections, "u1", "acct_shared")
    store_deauthorization(
        engine, "evt_foreign", "acct_shared", application="ca_SomeoneElsesPlatform00000000"
    )

    WebhookWorker(lambda: engine).process_pending()

    assert connection_status(connections, "u1") == "connected"
    assert statuses(engine)["evt_foreign"] == ("processed", None)


def test_a_deauthorization_leaves_a_pasted_key_to_the_same_account_alone(
    engine: Engine, connections: CredentialsStore
) -> None:
    connect(connections, "u1", "acct_pasted", oauth=False)
    connect(connections, "u2", "acct_pasted")
    store_deauthorization(engine, "evt_oauth_only", "acct_pasted")

    WebhookWorker(lambda: engine).process_pending()

    assert connection_status(connections, "u1") == "connected"
    assert connection_status(connections, "u2") == "needs_reconnect"


def test_a_late_deauthorization_leaves_a_connection_made_after_it_alone(
    engine: Engine, connections: CredentialsStore
) -> None:
    connect(connections, "u1", "acct_back", hours_ago=0)
    store_deauthorization(engine, "evt_late", "acct_back", minutes_ago=30)

    WebhookWorker(lambda: engine).process_pending()

    assert connection_status(connections, "u1") == "connected"
    assert statuses(engine)["evt_late"] == ("processed", None)


def test_a_deauthorization_without_an_account_is_marked_failed(engine: Engine) -> None:
    store(engine, "evt_anon", "account.application.deauthorized", data_object={"id": "ca_1"})

    WebhookWorker(lambda: engine, reactions=DEFAULT_REACTIONS).process_pending()

    status, error = statuses(engine)["evt_anon"]
    assert status == "failed"
    assert error is not None and "no account" in error


def test_a_failing_reaction_marks_its_event_failed_and_the_others_still_run(
    engine: Engine,
) -> None:
    def react(_engine: Engine, event: ServerEvent) -> None:
        if event.stripe_event_id == "evt_bad":
            raise RuntimeError("Slack is down")

    for event_id in ("evt_before", "evt_bad", "evt_after"):
        store(engine, event_id)

    WebhookWorker(lambda: engine, reactions=[("stripe.payment.*", react)]).process_pending()

    assert statuses(engine) == {
        "evt_before": ("processed", None),
        "evt_bad": ("failed", "RuntimeError: Slack is down"),
        "evt_after": ("processed", None),
    }


def test_a_slow_reaction_does_not_hold_up_the_answer_to_stripe(
    engine: Engine, started: list[WebhookWorker]
) -> None:
    release = threading.Event()
    worker = WebhookWorker(
        lambda: engine,
        reactions=[("stripe.payment.received", lambda _engine, _event: release.wait(10))],
        idle_seconds=60,
    )
    started.append(worker)
    worker.start()
    route = stripe_webhook_route(
        engine=lambda: engine, secrets=lambda: [SECRET], on_stored=worker.wake
    )
    body = stripe_event("evt_slow")

    with TestClient(Starlette(routes=[route])) as client:
        response = client.post(WEBHOOK_PATH, content=body, headers=signed(body))

    # The reaction is still blocked, so the 200 cannot have waited for it.
    assert response.status_code == 200
    assert statuses(engine)["evt_slow"] == ("pending", None)
    release.set()
    wait_until(lambda: statuses(engine)["evt_slow"] == ("processed", None))


def test_the_receiver_wakes_the_worker_instead_of_its_idle_timer(
    engine: Engine, started: list[WebhookWorker]
) -> None:
    worker = WebhookWorker(lambda: engine, idle_seconds=60)
    started.append(worker)
    worker.start()
    wait_until(lambda: worker.running)
    route = stripe_webhook_route(
        engine=lambda: engine, secrets=lambda: [SECRET], on_stored=worker.wake
    )
    body = stripe_event("evt_fast")

    with TestClient(Starlette(routes=[route])) as client:
        client.post(WEBHOOK_PATH, content=body, headers=signed(body))

    # The idle timer is a minute: processed well before it means the receiver woke the worker.
    wait_until(lambda: statuses(engine)["evt_fast"][0] == "processed", timeout=30.0)


def test_an_event_that_keeps_crashing_the_process_is_given_up(engine: Engine) -> None:
    store(
        engine,
        "evt_poison",
        "account.application.deauthorized",
        account="acct_1",
        data_object={"id": "ca_1"},
    )
    with engine.begin() as connection:
        connection.execute(webhook_events.update().values(attempts=MAX_ATTEMPTS))

    WebhookWorker(lambda: engine).process_pending()

    assert statuses(engine)["evt_poison"] == ("failed", f"gave up after {MAX_ATTEMPTS} attempts")


def test_storage_errors_leave_events_pending_for_the_next_pass(engine: Engine) -> None:
    store(engine, "evt_retry")

    def storage_down(_engine: Engine, _event: ServerEvent) -> None:
        raise sa.exc.OperationalError("UPDATE", {}, Exception("connection lost"))

    worker = WebhookWorker(lambda: engine, reactions=[("stripe.*", storage_down)])
    with pytest.raises(sa.exc.OperationalError):
        worker.process_pending()

    assert statuses(engine)["evt_retry"] == ("pending", None)
    assert WebhookWorker(lambda: engine).process_pending() == 1
    assert statuses(engine)["evt_retry"] == ("processed", None)


def test_processing_counts_attempts(engine: Engine) -> None:
    store(engine, "evt_counted")

    WebhookWorker(lambda: engine).process_pending()

    [event] = list_server_events(engine)
    assert event.attempts == 1


def test_events_stored_before_the_upgrade_are_kept_and_not_replayed(db_url: str) -> None:
    engine = create_db_engine(db_url)
    migrate(engine, target=2)
    received = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    with engine.begin() as connection:
        version_2_events = sa.Table("webhook_events", sa.MetaData(), autoload_with=connection)
        connection.execute(
            version_2_events.insert().values(
                provider="stripe",
                event_id="evt_from_before",
                event_type="account.application.deauthorized",
                payload='{"account": "acct_1"}',
                received_at=received,
            )
        )
    migrate(engine)
    reactions: list[str] = []
    worker = WebhookWorker(
        lambda: engine, reactions=[("*", lambda _e, event: reactions.append(event.name))]
    )

    assert worker.process_pending() == 0

    [event] = list_server_events(engine)
    assert (event.stripe_event_id, event.name, event.source, event.status) == (
        "evt_from_before",
        "stripe.account.deauthorized",
        "webhook",
        "processed",
    )
    assert event.received_at == received
    assert reactions == []
    engine.dispose()
