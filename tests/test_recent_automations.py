"""The "Recent automations" widget: stored workflow events (Jira, Slack, SMS, failed runs) on the
dashboard, read from the database through a `server-events` data source, in plain text."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

import lib.config
from lib.config import PROJECT_ROOT
from lib.store import get_engine
from lib.webhooks import WebhookWorker, server_events_matching
from lib.webhooks.events_store import new_event, store_event
from lib.widgets.schema import WidgetDefinition
from lib.workflows.runtime import WorkflowRunner
from tests.apptest_support import run_app, shown_text
from tests.test_webhook_receiver import stripe_event

WIDGET = PROJECT_ROOT / "widgets" / "recent-automations.json"


def deliver_and_run(event_id: str, event_type: str, charge: dict[str, object]) -> None:
    engine = get_engine()
    body = stripe_event(event_id, event_type, data_object=charge)
    store_event(engine, new_event(json.loads(body), body, "webhook"))
    runner = WorkflowRunner(engine=lambda: engine)
    worker = WebhookWorker(lambda: engine, reactions=[("*", runner.react)])
    while worker.process_pending() + runner.process_due():
        pass


def charge(charge_id: str, status: str, phone: str | None = None) -> dict[str, object]:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": 4200,
        "currency": "usd",
        "customer": "cus_auto",
        "status": status,
        "billing_details": {"email": "jenny.rosen@example.com", "phone": phone},
    }


def widget_table(app: object) -> object:
    [frame] = [
        table.value
        for table in app.dataframe  # type: ignore[attr-defined]
        if "workflow" in table.value.columns
    ]
    return frame


def test_a_dry_run_shows_its_events_on_the_dashboard_with_masked_contacts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKFLOW_PORTAL_RETURN_URL", "https://billing.example.test/update")
    lib.config.get_settings.cache_clear()
    deliver_and_run("evt_paid", "charge.succeeded", charge("ch_paid", "succeeded"))
    deliver_and_run("evt_fail", "charge.failed", charge("ch_fail", "failed", "+15550100123"))
    app = run_app()
    assert not app.exception
    assert "Recent automations" in "\n".join(shown_text(app))
    rows = widget_table(app)
    events = list(rows["event"])
    assert "jira.issue.created" in events
    assert "slack.message.posted" in events
    assert "twilio.sms.sent" in events
    assert set(rows["dry_run"]) == {"dry run"}
    sms = rows[rows["event"] == "twilio.sms.sent"].iloc[0]
    assert sms["workflow"] == "failed-payment-sms"
    assert sms["to"] == "+1•••••••123"
    jira = rows[rows["event"] == "jira.issue.created"].iloc[0]
    assert (jira["workflow"], jira["customer"]) == ("payment-onboarding-jira", "cus_auto")
    assert "jenny.rosen@example.com" not in rows.to_string()
    assert "jenny.rosen@example.com" not in "\n".join(shown_text(app))


def test_with_no_automations_yet_the_widget_says_so() -> None:
    app = run_app()
    assert not app.exception
    assert "No automations have run yet" in "\n".join(shown_text(app))


def test_only_events_matching_the_patterns_are_listed_newest_first() -> None:
    deliver_and_run("evt_paid", "charge.succeeded", charge("ch_paid", "succeeded"))
    engine = get_engine()
    names = [event.name for event in server_events_matching(engine, ["slack.*", "jira.*"])]
    assert names == ["slack.message.posted", "jira.issue.created"]
    assert server_events_matching(engine, ["twilio.*"]) == []
    stripe = server_events_matching(engine, ["stripe.payment.*"], limit=1)
    assert [event.stripe_event_id for event in stripe] == ["evt_paid"]


def test_a_server_events_widget_without_subscriptions_is_refused_with_its_path() -> None:
    definition = json.loads(WIDGET.read_text(encoding="utf-8"))
    definition["subscriptions"] = []
    with pytest.raises(ValidationError, match="subscriptions: required field missing"):
        WidgetDefinition.model_validate(definition)


def test_received_is_unix_seconds() -> None:
    from lib.widgets.server_event_rows import server_event_row

    row = server_event_row("jira.issue.created", {"key": "ONB-1"}, datetime(2026, 1, 1, tzinfo=UTC))
    assert row == {
        "name": "jira.issue.created",
        "received": 1767225600,
        "payload": {"key": "ONB-1"},
    }


def test_the_preview_command_says_it_cannot_preview_events_instead_of_a_traceback() -> None:
    from lib.accounts import demo_account
    from lib.widgets.preview import PreviewError, preview_text

    definition = WidgetDefinition.model_validate(json.loads(WIDGET.read_text(encoding="utf-8")))
    with pytest.raises(PreviewError, match="this widget lists events"):
        preview_text(definition, demo_account(), rows=5)
