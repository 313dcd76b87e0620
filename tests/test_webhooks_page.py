"""The Webhooks page as a user sees it, run in-process with AppTest (SQLite in the data dir)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import lib.config
from lib.events import EventBus
from lib.store import get_engine
from lib.webhooks.events_store import new_event, record_rejection, store_event
from tests.apptest_support import run_app, select_row, shown_text, unescape
from tests.loopback_server import LoopbackServer, Reply
from tests.test_webhook_receiver import stripe_event

PAGE = "app_pages/webhooks.py"
EVENTS = "webhook-events-"


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
    assert row["Source"] == "Webhook"
    assert row["Signature"] == "Verified"
    assert row["Processing"] == "pending"

    select_row(app, EVENTS, 0)

    details = "\n".join(shown_text(app))
    assert "- Dashboard event: stripe.payment.received" in details
    assert "- Processing: pending, 0 attempts" in details


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
    assert set(events["Signature"]) == {"Not signed"}


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

    ids = list(table_with(app, "Stripe event")["Stripe event"])
    select_row(app, EVENTS, ids.index("evt_old_one"))
    next(button for button in app.button if button.label == "Show on the dashboard again").click()
    app.run()

    assert not app.exception
    bus: EventBus = app.session_state["_event_bus"]
    [entry] = bus.log()
    assert entry.event.name == "stripe.payment.failed"
    assert entry.event.origin == "server"
    assert entry.event.source == "stripe-webhook"
    assert entry.event.payload["stripe_event_id"] == "evt_old_one"
    assert unescape(app.success[-1].value) == (
        "Delivered stripe.payment.failed (evt_old_one) to the dashboard widgets of this "
        "session again."
    )
    assert not [text for text in everything_shown(app).split("\n") if "mesh" in text.lower()]


def test_the_demo_account_gets_no_refusal_warning_until_a_delivery_is_refused() -> None:
    app = run_app(PAGE)

    assert not app.warning
    assert any("The demo account sends no webhooks" in text for text in shown_text(app))

    record_rejection(get_engine(), "bad_signature")
    app = run_app(PAGE)

    [warning] = [unescape(element.value) for element in app.warning]
    assert warning.startswith("No signing secret is configured, so deliveries are refused.")


def test_a_real_account_without_a_signing_secret_is_warned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_" + "k" * 24)
    monkeypatch.setenv("EVENTS_POLL_ENABLED", "false")
    lib.config.get_settings.cache_clear()

    app = run_app(PAGE)

    assert any("deliveries are refused" in element.value for element in app.warning)


def test_polling_turned_off_without_webhooks_is_not_blamed_on_webhooks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVENTS_POLL_ENABLED", "false")
    lib.config.get_settings.cache_clear()

    app = run_app(PAGE)

    texts = shown_text(app)
    assert "Periodic reading is turned off (EVENTS_POLL_ENABLED). Sync now still works." in texts
    assert not any("because webhooks are configured" in text for text in texts)


def test_without_app_url_the_endpoint_is_the_browsers_address_and_says_so() -> None:
    app = run_app(PAGE, context={"url": "https://hooks.example.com/webhooks"})

    assert [code.value for code in app.code] == ["https://hooks.example.com/api/webhooks/stripe"]
    assert any("Derived from the address in your browser" in text for text in shown_text(app))


def test_events_show_when_they_happened_and_were_stored_in_the_viewers_zone() -> None:
    happened = {"evt_late": 1_790_006_400, "evt_early": 1_790_000_000}
    for event_id, created in sorted(happened.items(), key=lambda item: item[1], reverse=True):
        body = json.loads(stripe_event(event_id, "charge.succeeded"))
        body["created"] = created
        assert store_event(get_engine(), new_event(body, json.dumps(body), "webhook"))

    app = run_app(PAGE, context={"timezone": "Europe/Berlin"})

    events = table_with(app, "Stripe event")
    # 1_790_000_000 is Sep 21, 2026, 14:13:20 UTC: 16:13:20 in Berlin's summer time.
    assert events[["Stripe event", "Happened"]].to_dict("records") == [
        {"Stripe event": "evt_late", "Happened": "Sep 21, 2026, 18:00:00 CEST"},
        {"Stripe event": "evt_early", "Happened": "Sep 21, 2026, 16:13:20 CEST"},
    ]
    select_row(app, EVENTS, 1)
    details = "\n".join(shown_text(app))
    assert "- Happened: Sep 21, 2026, 16:13:20 CEST" in details
    received = re.search(r"- Received: (.*)", details)
    stored = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d:\d\d CES?T")
    assert received is not None and stored.fullmatch(received.group(1))
