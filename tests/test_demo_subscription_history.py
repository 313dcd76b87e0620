"""The demo account's subscription history has new and churned subscriptions in the last 30 days,
so the Subscriptions page demonstrates new MRR, churned MRR and subscriber churn."""

from __future__ import annotations

from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest

from lib.accounts import demo_account, stripe_adapter_for
from lib.config import PROJECT_ROOT
from lib.demo import build_demo_account
from lib.demo.data import DAY
from lib.store import get_engine
from lib.sync import sync_mirror

ANCHOR = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
ANCHOR_TS = int(ANCHOR.timestamp())
WINDOW_START = ANCHOR_TS - 30 * DAY


def test_some_subscriptions_started_and_some_ended_in_the_last_30_days() -> None:
    account = build_demo_account(ANCHOR)
    paying = [s for s in account.subscriptions if s["status"] in ("active", "past_due")]
    started = [s for s in paying if s["trial_end"] is None and s["start_date"] >= WINDOW_START]
    canceled = [
        s
        for s in account.subscriptions
        if s["status"] == "canceled" and WINDOW_START <= s["ended_at"] <= ANCHOR_TS
    ]

    assert len(started) >= 3
    assert len(canceled) >= 3
    deleted = {
        event["data"]["object"]["id"]: event
        for event in account.events
        if event["type"] == "customer.subscription.deleted"
    }
    for subscription in canceled:
        assert subscription["canceled_at"] == subscription["ended_at"]
        assert subscription["cancellation_details"]["reason"] == "cancellation_requested"
        assert deleted[subscription["id"]]["created"] == subscription["ended_at"]


def test_the_subscriptions_page_shows_new_and_churned_mrr_for_the_demo_account() -> None:
    account = demo_account()
    report = sync_mirror(
        get_engine(),
        account.key,
        stripe_adapter_for(account),
        account.credentials,
        resources=("subscriptions",),
    )
    assert report.outcome == "complete"

    at = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "subscriptions.py"), default_timeout=30)
    at.run()

    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Subscriber churn (30 days)"] not in ("—", "0%", "0.0%")
    table = at.dataframe[0].value
    new_mrr = [text for text in table["New MRR (30 days)"] if any(c in "123456789" for c in text)]
    churned = [
        text for text in table["Churned MRR (30 days)"] if any(c in "123456789" for c in text)
    ]
    assert new_mrr and churned
    definitions = " ".join(at.expander[0].markdown[0].value.split())
    assert "*Metered* (usage-based) prices are left out" in definitions
    assert "quantity 0 brings nothing" in definitions
