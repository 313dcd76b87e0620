"""The Workflows page in AppTest: workflows with their triggers and steps, runs with what they
would have sent (masked), and admin-only controls whose refusals are recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

import lib.render.client
from lib.config import PROJECT_ROOT
from lib.store import get_engine
from lib.webhooks import WebhookWorker
from lib.webhooks.events_store import new_event, store_event
from lib.workflows import store
from lib.workflows.runtime import WorkflowRunner
from tests.apptest_support import shown_text, unescape
from tests.sign_in_support import audit_rows
from tests.test_webhook_receiver import stripe_event

PAGE = str(PROJECT_ROOT / "app_pages" / "workflows.py")
REFUSED = (
    "Changes can only be made from the computer this dashboard runs on, because sign-in is not "
    "configured, so nothing was changed. The attempt was recorded."
)


def a_dry_run_payment() -> None:
    engine = get_engine()
    charge = {
        "id": "ch_page",
        "object": "charge",
        "amount": 4200,
        "currency": "usd",
        "customer": "cus_page",
        "status": "succeeded",
        "billing_details": {"email": "jenny.rosen@example.com"},
    }
    body = stripe_event("evt_page", "charge.succeeded", data_object=charge)
    store_event(engine, new_event(json.loads(body), body, "webhook"))
    runner = WorkflowRunner(engine=lambda: engine)
    worker = WebhookWorker(lambda: engine, reactions=[("*", runner.react)])
    while worker.process_pending() + runner.process_due():
        pass


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def code_blocks(app: AppTest) -> list[str]:
    return [block.value for block in app.code]


def test_the_page_lists_the_workflows_and_a_dry_run_with_what_it_would_have_sent() -> None:
    a_dry_run_payment()
    app = open_page()
    assert not app.exception
    text = shown_text(app)
    assert "**Onboard new customers in Jira** · payment-onboarding-jira" in text
    assert "On stripe.payment.failed; at most one run per customer every 24 hours" in text
    assert text.count("Dry runs only: nothing is sent.") == 4
    [frame] = app.dataframe
    runs = frame.value
    assert set(runs["Workflow"]) == {"payment-onboarding-jira", "onboarding-issue-slack"}
    app.selectbox(key="workflow-run-choice").select(
        int(runs[runs["Workflow"] == "payment-onboarding-jira"]["Run"].iloc[0])
    ).run()
    sent = "\n".join(code_blocks(app))
    assert "Onboard new customer: j•••@example.com" in sent
    assert "not sent: JIRA_PROJECT_KEY is not set" in sent
    assert "jenny.rosen@example.com" not in sent + "\n".join(shown_text(app))


def test_an_admin_turns_real_sends_on_and_it_is_recorded() -> None:
    app = open_page()
    app.button(key="workflow-switch-failed-payment-sms").click().run()
    assert not app.exception
    assert store.live_switches(get_engine()) == {"failed-payment-sms": True}
    assert "Real sends on for failed-payment-sms." in shown_text(app)
    assert [(e.action, e.result) for e in audit_rows()] == [("workflows.switch", "succeeded")]


def test_a_visitor_from_elsewhere_gets_no_controls_and_a_forged_click_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = open_page()
    switch = "workflow-switch-failed-payment-sms"
    monkeypatch.setattr(lib.render.client, "client_address", lambda: "203.0.113.9")
    app.button(key=switch).click().run()
    assert REFUSED in [unescape(element.value) for element in app.error]
    assert store.live_switches(get_engine()) == {}
    assert not [button for button in app.button if button.key == switch]
    assert [(e.action, e.result) for e in audit_rows()] == [("workflows.switch", "refused")]


def test_retry_queues_a_failed_run_again() -> None:
    a_dry_run_payment()
    engine = get_engine()
    run = store.list_runs(engine, workflow_id="payment-onboarding-jira")[0]
    store.finish_run(
        engine,
        run.id,
        {"status": "failed", "outcome": "Jira said no", "updated_at": datetime.now(UTC)},
    )
    app = open_page()
    app.selectbox(key="workflow-run-choice").select(run.id).run()
    app.button(key=f"workflow-retry-{run.id}").click().run()
    assert not app.exception
    retried = store.get_run(engine, run.id)
    assert retried is not None and retried.status == "pending"
    assert f"Run {run.id} queued again." in shown_text(app)
