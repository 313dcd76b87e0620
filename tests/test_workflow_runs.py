"""Workflow runs against loopback Jira, Slack and Twilio: one run per stored event, one side
effect per run (also after a crash), retries and permanent failures in plain words, dry runs
that record what would have been sent; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

import lib.config
from lib.providers.types import ProviderCredentials
from lib.store import ConnectionInfo, CredentialsStore, SecretBox
from lib.store.tables import mirror_objects
from lib.webhooks import WebhookWorker, list_server_events
from lib.webhooks.events_store import new_event, store_event
from lib.workflows import store
from lib.workflows.runtime import WorkflowRunner
from tests.loopback_server import Reply
from tests.test_webhook_receiver import stripe_event
from tests.workflow_providers import (
    MESSAGES_PATH,
    FakeProviders,
    connect_providers,
    provider_settings,
    twilio_error,
)

PHONE = "+15550100123"


class Clock:
    """A settable clock for the runner (retry waits and the 24 h limit)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def providers() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture
def settings_for(providers: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> bytes:
    key = Fernet.generate_key()
    for name, value in {
        "APP_ENCRYPTION_KEY": key.decode(),
        **provider_settings(providers.url),
    }.items():
        monkeypatch.setenv(name, value)
    lib.config.get_settings.cache_clear()
    return key


@pytest.fixture
def connected(engine: Engine, settings_for: bytes) -> CredentialsStore:
    """Jira, Slack and Twilio connected on the Credentials page."""
    return connect_providers(engine, settings_for)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runner(engine: Engine, clock: Clock) -> WorkflowRunner:
    return WorkflowRunner(engine=lambda: engine, clock=clock)


def live(engine: Engine, *workflow_ids: str) -> None:
    for workflow_id in workflow_ids:
        store.set_live(engine, workflow_id, True, "admin@example.test", datetime.now(UTC))


def deliver(engine: Engine, event_id: str, event_type: str, data_object: dict[str, Any]) -> None:
    body = stripe_event(event_id, event_type, data_object=data_object)
    store_event(engine, new_event(json.loads(body), body, "webhook"))


def paid(engine: Engine, event_id: str, email: str = "jenny@example.test") -> None:
    charge = {
        "id": f"ch_{event_id}",
        "object": "charge",
        "amount": 1999,
        "currency": "eur",
        "customer": "cus_1",
        "status": "succeeded",
        "billing_details": {"email": email},
    }
    deliver(engine, event_id, "charge.succeeded", charge)


def failed(engine: Engine, event_id: str, phone: str | None = PHONE, **extra: Any) -> None:
    charge = {
        "id": f"ch_{event_id}",
        "object": "charge",
        "amount": 1999,
        "currency": "usd",
        "customer": "cus_7",
        "status": "failed",
        "billing_details": {"email": "sam@example.test", "phone": phone},
        **extra,
    }
    deliver(engine, event_id, "charge.failed", charge)


def settle(engine: Engine, runner: WorkflowRunner) -> None:
    """Process stored events and due runs until nothing is left to do."""
    worker = WebhookWorker(lambda: engine, reactions=[("*", runner.react)])
    for _ in range(20):
        if not worker.process_pending() + runner.process_due():
            return
    raise AssertionError("runs did not settle")


def runs(engine: Engine, workflow_id: str) -> list[store.RunRecord]:
    return store.list_runs(engine, workflow_id=workflow_id)


def test_a_payment_creates_exactly_one_jira_issue_and_slack_posts_its_key(
    engine: Engine, connected: CredentialsStore, providers: FakeProviders, runner: WorkflowRunner
) -> None:
    live(engine, "payment-onboarding-jira", "onboarding-issue-slack")
    paid(engine, "evt_a")
    paid(engine, "evt_a")  # Stripe delivers an event more than once
    paid(engine, "evt_b", email="kim@example.test")
    settle(engine, runner)
    runner.react(
        engine, next(e for e in list_server_events(engine) if e.stripe_event_id == "evt_a")
    )
    settle(engine, runner)

    summaries = sorted(issue["fields"]["summary"] for issue in providers.issues.values())
    assert summaries == [
        "Onboard new customer: jenny@example.test",
        "Onboard new customer: kim@example.test",
    ]
    issue = next(i for i in providers.issues.values() if "jenny" in i["fields"]["summary"])
    assert issue["fields"]["project"] == {"key": "ONB"}
    assert issue["fields"]["labels"] == ["wf-payment-onboarding-jira-evt_a"]
    description = issue["fields"]["description"]["content"][0]["content"][0]["text"]
    assert "€19.99" in description
    texts = sorted(post["text"] for post in providers.slack_posts)
    assert texts == [
        f"New customer to onboard: {key} {providers.url}/browse/{key}"
        for key in sorted(providers.issues)
    ]
    assert {post["channel"] for post in providers.slack_posts} == {"#sales"}
    assert [run.status for run in runs(engine, "payment-onboarding-jira")] == ["succeeded"] * 2
    published = [e.name for e in list_server_events(engine) if e.source == "workflow"]
    assert sorted(published) == ["jira.issue.created"] * 2 + ["slack.message.posted"] * 2


def test_out_of_order_and_repeated_deliveries_start_one_run_each(
    engine: Engine, connected: CredentialsStore, providers: FakeProviders, runner: WorkflowRunner
) -> None:
    live(engine, "payment-onboarding-jira")
    for event_id in ("evt_3", "evt_1", "evt_2", "evt_1", "evt_3"):
        paid(engine, event_id)
    settle(engine, runner)
    for event in list_server_events(engine):
        runner.react(engine, event)
    settle(engine, runner)
    triggered = sorted(run.trigger_event_id for run in runs(engine, "payment-onboarding-jira"))
    assert triggered == ["evt_1", "evt_2", "evt_3"]
    assert len(providers.issues) == 3
    assert len(providers.requests_to("/rest/api/3/issue")) == 3


def test_without_real_sends_enabled_the_run_records_what_it_would_have_sent(
    engine: Engine, connected: CredentialsStore, providers: FakeProviders, runner: WorkflowRunner
) -> None:
    paid(engine, "evt_dry")
    settle(engine, runner)
    assert providers.requests == []
    (run,) = runs(engine, "payment-onboarding-jira")
    assert (run.status, run.dry_run) == ("succeeded", True)
    assert run.outcome == "dry run: nothing was sent (see each step)"
    (step,) = store.load_steps(engine, run.id).values()
    assert step.status == "dry_run"
    assert step.request is not None
    assert step.request["summary"] == "Onboard new customer: jenny@example.test"
    assert step.response == {"not_sent": "not sent: real sends are off for this workflow (dry run)"}
    (slack_run,) = runs(engine, "onboarding-issue-slack")
    (slack_step,) = store.load_steps(engine, slack_run.id).values()
    assert slack_step.status == "dry_run"
    assert slack_step.request == {"text": "New customer to onboard: {key} {url}"}


def test_a_provider_that_is_not_connected_is_a_dry_run_saying_so(
    engine: Engine, settings_for: bytes, providers: FakeProviders, runner: WorkflowRunner
) -> None:
    live(engine, "payment-onboarding-jira")
    paid(engine, "evt_nc")
    settle(engine, runner)
    (run,) = runs(engine, "payment-onboarding-jira")
    (step,) = store.load_steps(engine, run.id).values()
    assert step.response == {"not_sent": "not sent: Jira is not connected"}
    assert providers.requests == []


def test_a_jira_step_interrupted_after_creating_finds_the_issue_instead_of_a_second(
    engine: Engine,
    connected: CredentialsStore,
    providers: FakeProviders,
    runner: WorkflowRunner,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live(engine, "payment-onboarding-jira")
    paid(engine, "evt_crash")
    real_record = store.record_step

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise SystemExit("killed after the request, before its outcome was stored")

    monkeypatch.setattr(store, "record_step", crash)
    with pytest.raises(SystemExit):
        settle(engine, runner)
    monkeypatch.setattr(store, "record_step", real_record)
    assert len(providers.issues) == 1
    clock.now += timedelta(minutes=5)  # the dead process's lease has run out
    settle(engine, runner)
    assert len(providers.issues) == 1
    assert len(providers.requests_to("/rest/api/3/issue")) == 1
    (run,) = runs(engine, "payment-onboarding-jira")
    assert run.status == "succeeded"
    (step,) = store.load_steps(engine, run.id).values()
    assert step.response is not None and step.response["found_existing"] is True


def test_an_sms_interrupted_after_sending_is_outcome_unknown_and_never_resent(
    engine: Engine,
    connected: CredentialsStore,
    providers: FakeProviders,
    runner: WorkflowRunner,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live(engine, "failed-payment-sms")
    failed(engine, "evt_sms_crash")
    real_record = store.record_step
    calls = {"n": 0}

    def crash_on_sms(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the link step is recorded, the SMS is sent, then the process dies
            raise SystemExit("killed")
        real_record(*args, **kwargs)

    monkeypatch.setattr(store, "record_step", crash_on_sms)
    with pytest.raises(SystemExit):
        settle(engine, runner)
    monkeypatch.setattr(store, "record_step", real_record)
    clock.now += timedelta(minutes=5)
    settle(engine, runner)
    assert len(providers.sms) == 1
    (run,) = runs(engine, "failed-payment-sms")
    assert run.status == "unknown"
    assert run.outcome is not None and run.outcome.startswith("outcome unknown: the Twilio request")
    failures = [e for e in list_server_events(engine) if e.name == "workflow.run.failed"]
    assert [e.payload["status"] for e in failures] == ["unknown"]


def test_a_failed_payment_texts_the_customer_once_a_day_with_the_payment_link(
    engine: Engine,
    connected: CredentialsStore,
    providers: FakeProviders,
    runner: WorkflowRunner,
    clock: Clock,
) -> None:
    live(engine, "failed-payment-sms")
    failed(engine, "evt_f1", invoice={"id": "in_1", "hosted_invoice_url": "https://pay.test/i/1"})
    settle(engine, runner)
    clock.now += timedelta(hours=2)
    failed(engine, "evt_f2")  # Stripe retried the payment
    settle(engine, runner)
    assert providers.sms == [
        {
            "To": PHONE,
            "From": "+15550009999",
            "Body": "Your payment failed. Please update your payment method: https://pay.test/i/1",
        }
    ]
    second = next(r for r in runs(engine, "failed-payment-sms") if r.trigger_event_id == "evt_f2")
    assert second.status == "skipped"
    assert second.outcome == (
        "skipped: this customer already had a run of this workflow in the last 24 hours"
    )
    clock.now += timedelta(hours=23)
    failed(engine, "evt_f3")
    settle(engine, runner)
    assert [sms["Body"][-33:] for sms in providers.sms[1:]] == [
        "https://billing.example.test/update"[-33:]
    ]


def test_a_customer_without_a_phone_number_is_skipped_in_plain_words(
    engine: Engine, connected: CredentialsStore, providers: FakeProviders, runner: WorkflowRunner
) -> None:
    live(engine, "failed-payment-sms")
    failed(engine, "evt_nophone", phone=None)
    settle(engine, runner)
    assert providers.sms == []
    (run,) = runs(engine, "failed-payment-sms")
    assert (run.status, run.outcome) == ("skipped", "skipped: the customer has no phone number")


def test_a_twilio_opt_out_fails_at_once_and_is_never_retried(
    engine: Engine, connected: CredentialsStore, providers: FakeProviders, runner: WorkflowRunner
) -> None:
    live(engine, "failed-payment-sms")
    providers.queue(MESSAGES_PATH, twilio_error(21610, "Attempt to send to unsubscribed recipient"))
    failed(engine, "evt_stop")
    settle(engine, runner)
    assert len(providers.requests_to(MESSAGES_PATH)) == 1
    (run,) = runs(engine, "failed-payment-sms")
    assert run.status == "failed"
    assert run.outcome == (
        "Twilio refused the SMS: the recipient has opted out of messages from this number "
        "(replied STOP) (error 21610)."
    )
    failure = next(e for e in list_server_events(engine) if e.name == "workflow.run.failed")
    assert failure.payload["workflow"] == "failed-payment-sms"


def test_slack_429_waits_for_retry_after_then_posts_once(
    engine: Engine,
    connected: CredentialsStore,
    providers: FakeProviders,
    runner: WorkflowRunner,
    clock: Clock,
) -> None:
    live(engine, "payment-onboarding-jira", "onboarding-issue-slack")
    providers.queue(
        "/chat.postMessage",
        Reply(429, json={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "30"}),
    )
    paid(engine, "evt_429")
    settle(engine, runner)
    (run,) = runs(engine, "onboarding-issue-slack")
    assert run.status == "pending"
    clock.now += timedelta(seconds=29)
    settle(engine, runner)
    assert len(providers.requests_to("/chat.postMessage")) == 1
    clock.now += timedelta(seconds=2)
    settle(engine, runner)
    assert len(providers.requests_to("/chat.postMessage")) == 2
    assert [post["text"][:29] for post in providers.slack_posts] == [
        "New customer to onboard: ONB-"
    ]
    (run,) = runs(engine, "onboarding-issue-slack")
    assert run.status == "succeeded"


def test_slack_refusal_fails_with_its_error_and_5xx_is_dead_lettered_after_the_last_attempt(
    engine: Engine,
    connected: CredentialsStore,
    providers: FakeProviders,
    runner: WorkflowRunner,
    clock: Clock,
) -> None:
    live(engine, "subscription-win-back")
    providers.queue("/chat.postMessage", Reply(json={"ok": False, "error": "channel_not_found"}))
    with engine.begin() as connection:  # the customer as the local copy of the account has it
        connection.execute(
            mirror_objects.insert().values(
                account_key="acct",
                object_type="customer",
                id="cus_1",
                raw=json.dumps({"id": "cus_1", "email": "lee@example.test"}),
                state_at=1,
            )
        )
    deliver(
        engine, "evt_del", "customer.subscription.deleted", {"id": "sub_1", "customer": "cus_1"}
    )
    settle(engine, runner)
    assert [i["fields"]["summary"] for i in providers.issues.values()] == [
        "Win back lee@example.test"
    ]
    (run,) = runs(engine, "subscription-win-back")
    assert run.status == "failed"
    assert run.outcome is not None and 'Slack said: "channel_not_found"' in run.outcome
    providers.queue("/rest/api/3/search/jql", *[Reply(503, json={})] * 5)
    deliver(
        engine,
        "evt_del2",
        "customer.subscription.deleted",
        {"id": "sub_2", "customer": {"id": "cus_2", "email": "ada@example.test"}},
    )
    for _ in range(6):
        settle(engine, runner)
        clock.now += timedelta(minutes=10)
    second = next(
        r for r in runs(engine, "subscription-win-back") if r.trigger_event_id == "evt_del2"
    )
    assert second.status == "dead"
    assert second.outcome is not None and second.outcome.startswith("gave up after 5 attempts")
    assert store.retry_run(engine, second.id, clock.now)
    settle(engine, runner)
    retried = store.get_run(engine, second.id)
    assert retried is not None and retried.status == "succeeded"
    assert len(providers.issues) == 2


@pytest.mark.postgres
def test_two_runners_on_one_postgresql_send_each_side_effect_once(
    postgres_url: str, settings_for: bytes, providers: FakeProviders
) -> None:
    from lib.store import create_db_engine, migrate

    engine = create_db_engine(postgres_url)
    migrate(engine)
    credentials = CredentialsStore(engine, SecretBox([settings_for]))
    credentials.save(
        "local",
        "jira",
        ProviderCredentials(
            pat="jira-token-1234", email="ops@example.test", site="a.atlassian.net"
        ),
        ConnectionInfo(),
    )
    live(engine, "payment-onboarding-jira")
    for number in range(60):
        paid(engine, f"evt_{number:03d}", email=f"c{number}@example.test")
    first, second = (WorkflowRunner(engine=lambda: engine) for _ in range(2))
    WebhookWorker(lambda: engine, reactions=[("*", first.react)]).process_pending()
    threads = [threading.Thread(target=runner.process_due) for runner in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    summaries = sorted(issue["fields"]["summary"] for issue in providers.issues.values())
    assert summaries == sorted(f"Onboard new customer: c{n}@example.test" for n in range(60))
    assert len(providers.requests_to("/rest/api/3/issue")) == 60
    engine.dispose()
