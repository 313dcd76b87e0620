"""The Webhooks page as a user sees it, run in-process with AppTest (SQLite in the data dir)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import lib.config
from lib.events import EventBus
from lib.store import get_engine
from lib.webhooks.events_store import new_event, record_rejection, store_event
from tests.apptest_support import run_app, shown_text, unescape
from tests.loopback_server import LoopbackServer, Reply
from tests.test_webhook_receiver import stripe_event

PAGE = "pages/webhooks.py"


def store_delivered(event_id: str, event_type: str = "charge.succeeded") -> None:
    body = stripe_event(event_id, event_type)
    assert store_event(get_engine(), new_event(json.loads(body), body, "webhook"))


def table_with(app: AppTest, column: str) -> pd.DataFrame:
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


def everything_shown(app: AppTest) -> str:
    texts = shown_text(app)
    texts += [element.value for element in (*app.code, *app.success)]
    texts += [str(frame.value.to_dict()) for frame in app.dataframe]
    return "\n".join(texts)


def test_a_received_event_is_listed_with_its_source_signature_and_status() -> None:
    store_delivered("evt_page_1")

    app = run_app(PAGE)

    assert not app.exception
    events = table_with(app, "Stripe event")
    row = events[events["Stripe event"] == "evt_page_1"].iloc[0]
    assert row["Type"] == "charge.succeeded"
    assert row["Mesh event"] == "stripe.payment.received"
    assert row["Source"] == "Webhook"
    assert row["Signature"] == "Verified"
    assert row["Processing"] == "pending"


def test_sync_now_stores_the_demo_accounts_recent_events() -> None:
    app = run_app(PAGE)
    assert any("No events yet" in text for text in shown_text(app))

    next(button for button in app.button if button.label == "Sync now").click()
    app.run()

    assert not app.exception
    [info] = [text for text in shown_text(app) if text.startswith("Stored ")]
    events = table_with(app, "Stripe event")
    assert info.startswith(f"Stored {len(events)} new events (0 already stored)")
    assert set(events["Source"]) == {"Events API"}
    assert set(events["Signature"]) == {"Not signed (read from the API)"}


def test_a_failed_sync_is_shown_on_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer() as stripe_api:
        stripe_api.on(
            "/v1/events",
            lambda _request: Reply(status=401, json={"error": {"message": "Invalid API Key"}}),
        )
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_" + "k" * 24)
        monkeypatch.setenv("STRIPE_API_BASE", stripe_api.url + "/v1")
        lib.config.get_settings.cache_clear()
        app = run_app(PAGE)

        next(button for button in app.button if button.label == "Sync now").click()
        app.run()

    assert not app.exception
    [error] = [element.value for element in app.error]
    assert error.startswith("Sync failed: Stripe rejected the API key")


def test_the_endpoint_url_and_secret_status_are_shown_but_never_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_URL", "https://pay.example.com/")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_current_s3cr3t, whsec_previous_s3cr3t")
    lib.config.get_settings.cache_clear()

    app = run_app(PAGE)

    assert [code.value for code in app.code] == ["https://pay.example.com/api/webhooks/stripe"]
    assert "2 signing secrets are configured" in app.success[0].value
    shown = everything_shown(app)
    assert "s3cr3t" not in shown
    assert any("Periodic reading is off" in text for text in shown_text(app))


def test_refused_deliveries_are_counted_by_reason() -> None:
    for reason in ("bad_signature", "bad_signature", "stale_timestamp"):
        record_rejection(get_engine(), reason)

    app = run_app(PAGE)

    refused = table_with(app, "Reason")
    assert refused.to_dict("records") == [
        {"Reason": "signature does not match", "Deliveries": 2},
        {"Reason": "signature timestamp too old", "Deliveries": 1},
    ]


def test_replay_publishes_the_chosen_event_into_the_sessions_mesh() -> None:
    store_delivered("evt_old_one", "charge.failed")
    store_delivered("evt_chosen", "charge.refunded")
    app = run_app(PAGE)

    [choice] = app.selectbox
    choice.select_index(next(i for i, label in enumerate(choice.options) if "evt_old_one" in label))
    app.run()
    next(button for button in app.button if button.label == "Replay into the mesh").click()
    app.run()

    assert not app.exception
    bus: EventBus = app.session_state["_event_bus"]
    [entry] = bus.log()
    assert entry.event.name == "stripe.payment.failed"
    assert entry.event.origin == "server"
    assert entry.event.source == "stripe-webhook"
    assert entry.event.payload["stripe_event_id"] == "evt_old_one"
    assert "Published stripe.payment.failed (evt_old_one)" in unescape(app.success[-1].value)
