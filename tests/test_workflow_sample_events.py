""" "Send test event": a signed event posted through the app's own webhook endpoint starts the
workflows it triggers, exactly as a delivery from Stripe would."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

import lib.config
from lib.config import get_settings
from lib.store import get_engine
from lib.webhooks import WebhookWorker, list_server_events, stripe_webhook_route
from lib.workflows import store
from lib.workflows.runtime import WorkflowRunner
from lib.workflows.sample_events import send_sample_event
from tests.asgi_server import ServedApp


def test_a_test_event_goes_through_the_signed_endpoint_and_starts_a_dry_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test_workflows")
    monkeypatch.setenv("WORKFLOW_PORTAL_RETURN_URL", "https://billing.example.test/update")
    lib.config.get_settings.cache_clear()
    engine = get_engine()
    app = Starlette(routes=[stripe_webhook_route(engine=lambda: engine)])
    with ServedApp(app) as served:
        delivery = send_sample_event(get_settings(), served.url, "charge.failed")
    assert (delivery.status, delivery.message) == (200, "The endpoint stored the test event.")
    [event] = list_server_events(engine)
    assert (event.stripe_event_id, event.name) == (delivery.event_id, "stripe.payment.failed")
    runner = WorkflowRunner(engine=lambda: engine)
    WebhookWorker(lambda: engine, reactions=[("*", runner.react)]).process_pending()
    runner.process_due()
    [run] = store.list_runs(engine, workflow_id="failed-payment-sms")
    assert (run.status, run.dry_run) == ("succeeded", True)
    sms = store.load_steps(engine, run.id)[1]
    assert sms.request == {
        "to": "+15005550006",
        "body": "Your payment failed. Please update your payment method: "
        "https://billing.example.test/update",
    }


def test_without_a_webhook_secret_nothing_is_sent_and_the_setting_is_named() -> None:
    delivery = send_sample_event(get_settings(), "http://127.0.0.1:9", "charge.succeeded")
    assert delivery.status is None
    assert delivery.message.startswith("Set STRIPE_WEBHOOK_SECRET")
