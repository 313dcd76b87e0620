"""The demo account's dataset: what the dashboard's widgets rely on finding in it."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from lib.demo import DemoAccount, build_demo_account
from lib.demo.data import DAY, HOUR, MINUTE

ANCHOR = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
ANCHOR_TS = int(ANCHOR.timestamp())
FAILURE_MESSAGES = {
    "Your card was declined.": "card_declined",
    "Your card has insufficient funds.": "card_declined",
    "Your card has expired.": "expired_card",
    "Your card's security code is incorrect.": "incorrect_cvc",
    "An error occurred while processing your card. Try again in a little bit.": (
        "processing_error"
    ),
}


@pytest.fixture(scope="module")
def account() -> DemoAccount:
    return build_demo_account(ANCHOR)


def as_json(account: DemoAccount) -> str:
    return json.dumps({field.name: getattr(account, field.name) for field in fields(account)})


def history(account: DemoAccount) -> list[dict]:
    return [charge for charge in account.charges if charge["created"] <= ANCHOR_TS]


def test_same_anchor_gives_identical_json(account: DemoAccount) -> None:
    assert as_json(build_demo_account(ANCHOR)) == as_json(account)


def test_another_anchor_shifts_the_same_history_in_time(account: DemoAccount) -> None:
    later = build_demo_account(ANCHOR + timedelta(days=3))
    assert [c["amount"] for c in later.charges] == [c["amount"] for c in account.charges]
    assert later.charges[-1]["created"] - account.charges[-1]["created"] == 3 * DAY


def test_naive_anchor_is_read_as_utc(account: DemoAccount) -> None:
    assert build_demo_account(ANCHOR.replace(tzinfo=None)).anchor == account.anchor


def test_ninety_days_of_history_with_recent_payments(account: DemoAccount) -> None:
    past = history(account)
    assert len(past) >= 600
    assert all(c["created"] >= ANCHOR_TS - 90 * DAY for c in past)
    assert sum(c["created"] > ANCHOR_TS - 20 * MINUTE for c in past) >= 3
    assert sum(c["created"] > ANCHOR_TS - 2 * HOUR for c in past) >= 6


def test_live_tail_has_a_charge_every_two_to_eight_minutes_for_a_week(
    account: DemoAccount,
) -> None:
    tail = sorted(c["created"] for c in account.charges if c["created"] > ANCHOR_TS)
    assert tail[0] - ANCHOR_TS <= 8 * MINUTE
    assert ANCHOR_TS + 7 * DAY - 8 * MINUTE <= tail[-1] <= ANCHOR_TS + 7 * DAY
    gaps = [later - earlier for earlier, later in pairwise(tail)]
    assert min(gaps) >= 2 * MINUTE
    assert max(gaps) <= 8 * MINUTE


def test_every_list_is_newest_first(account: DemoAccount) -> None:
    for objects in (
        account.charges,
        account.customers,
        account.subscriptions,
        account.refunds,
        account.events,
    ):
        keys = [(obj["created"], obj["id"]) for obj in objects]
        assert keys == sorted(keys, reverse=True)
        assert len({obj["id"] for obj in objects}) == len(objects)


def test_five_currencies_with_amounts_in_their_minor_units(account: DemoAccount) -> None:
    by_currency: dict[str, list[int]] = {}
    for charge in history(account):
        assert isinstance(charge["amount"], int) and charge["amount"] > 0
        by_currency.setdefault(charge["currency"], []).append(charge["amount"])
    assert set(by_currency) == {"usd", "eur", "gbp", "jpy", "kwd"}
    assert len(by_currency["usd"]) > len(history(account)) / 2
    # Typical baskets: tens of dollars, thousands of yen, a few dinars (in fils).
    assert 1_000 <= statistics.median(by_currency["usd"]) <= 5_000
    assert 1_000 <= statistics.median(by_currency["gbp"]) <= 5_000
    assert 1_000 <= statistics.median(by_currency["jpy"]) <= 8_000
    assert 2_000 <= statistics.median(by_currency["kwd"]) <= 15_000
    assert all(amount % 10 == 0 for amount in by_currency["jpy"])
    assert all(amount % 50 == 0 for amount in by_currency["kwd"])


def test_statuses_in_realistic_proportions(account: DemoAccount) -> None:
    counts = Counter(c["status"] for c in account.charges)
    total = sum(counts.values())
    assert set(counts) == {"succeeded", "failed", "pending"}
    assert 0.80 <= counts["succeeded"] / total <= 0.90
    assert 0.07 <= counts["failed"] / total <= 0.13
    assert 0.03 <= counts["pending"] / total <= 0.07


def test_failed_charges_carry_stripes_failure_code_message_and_outcome(
    account: DemoAccount,
) -> None:
    failed = [c for c in account.charges if c["status"] == "failed"]
    assert {c["failure_message"] for c in failed} == set(FAILURE_MESSAGES)
    for charge in failed:
        assert FAILURE_MESSAGES[charge["failure_message"]] == charge["failure_code"]
        assert charge["outcome"]["type"] == "issuer_declined"
        assert charge["paid"] is False and charge["amount_captured"] == 0
        assert charge["receipt_url"] is None
    insufficient = next(c for c in failed if c["outcome"]["reason"] == "insufficient_funds")
    assert insufficient["failure_message"] == "Your card has insufficient funds."
    for charge in account.charges:
        if charge["status"] != "failed":
            assert charge["failure_code"] is None and charge["failure_message"] is None


def test_full_and_partial_refunds_and_disputes(account: DemoAccount) -> None:
    charges = {c["id"]: c for c in account.charges}
    full = [c for c in account.charges if c["refunded"]]
    partial = [c for c in account.charges if 0 < c["amount_refunded"] < c["amount"]]
    assert full and partial
    assert all(c["amount_refunded"] == c["amount"] for c in full)
    assert not any(c["refunded"] for c in partial)
    assert any(c["disputed"] for c in account.charges)
    for refund in account.refunds:
        charge = charges[refund["charge"]]
        assert refund["object"] == "refund" and refund["id"].startswith("re_")
        assert charge["created"] < refund["created"] <= ANCHOR_TS
        assert refund["amount"] == charge["amount_refunded"]
        assert refund["currency"] == charge["currency"]
        assert charge["refunds"]["data"] == [refund]
        assert charge["refunds"]["total_count"] == 1
    assert len(account.refunds) == len(full) + len(partial)


def test_charges_are_shaped_like_stripes(account: DemoAccount) -> None:
    for charge in account.charges:
        assert re.fullmatch(r"ch_[0-9A-Za-z]{24}", charge["id"])
        assert charge["object"] == "charge" and charge["livemode"] is False
        card = charge["payment_method_details"]["card"]
        assert charge["payment_method_details"]["type"] == "card"
        assert card["brand"] in {"visa", "mastercard", "amex", "discover", "jcb", "unionpay"}
        assert re.fullmatch(r"[0-9]{4}", card["last4"])
        assert charge["billing_details"]["email"] == charge["receipt_email"]
        assert charge["refunds"]["object"] == "list"
        if charge["status"] == "succeeded":
            assert charge["receipt_url"].startswith("https://pay.stripe.com/receipts/")
            assert charge["paid"] and charge["balance_transaction"].startswith("txn_")
    brands = {c["payment_method_details"]["card"]["brand"] for c in account.charges}
    assert brands == {"visa", "mastercard", "amex", "discover", "jcb", "unionpay"}


def test_customers_have_names_emails_and_come_before_their_charges(
    account: DemoAccount,
) -> None:
    customers = {c["id"]: c for c in account.customers}
    assert len(customers) == 120
    emails = [c["email"] for c in account.customers]
    assert len(set(emails)) == len(emails)
    for customer in account.customers:
        assert re.fullmatch(r"cus_[0-9A-Za-z]{14}", customer["id"])
        assert customer["name"] and " " in customer["name"]
        assert re.fullmatch(r"[a-z.\-0-9]+@example\.(com|org|net)", customer["email"])
        assert customer["balance"] == 0 and customer["livemode"] is False
    for charge in account.charges:
        customer = customers[charge["customer"]]
        assert customer["created"] < charge["created"]
        assert charge["billing_details"]["name"] == customer["name"]


def test_subscriptions_cover_statuses_intervals_and_discounts(account: DemoAccount) -> None:
    subscriptions = account.subscriptions
    customers = {c["id"] for c in account.customers}
    assert len(subscriptions) >= 40
    statuses = Counter(s["status"] for s in subscriptions)
    assert {"active", "trialing", "past_due", "canceled", "unpaid", "incomplete"} <= set(statuses)
    assert statuses.most_common(1)[0][0] == "active"
    intervals = Counter((s["plan"]["interval"], s["plan"]["interval_count"]) for s in subscriptions)
    assert {("month", 1), ("year", 1), ("week", 2)} <= set(intervals)
    coupons = [s["discount"]["coupon"] for s in subscriptions if s["discount"]]
    assert any(c["percent_off"] for c in coupons) and any(c["amount_off"] for c in coupons)
    assert {"forever", "once", "repeating"} == {c["duration"] for c in coupons}
    for subscription in subscriptions:
        item = subscription["items"]["data"][0]
        assert subscription["customer"] in customers
        assert 1 <= subscription["quantity"] == item["quantity"] <= 5
        assert item["price"]["unit_amount"] == item["plan"]["amount"]
        assert item["price"]["currency"] == subscription["currency"]
        assert item["price"]["recurring"]["interval"] == item["plan"]["interval"]
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        assert subscription["created"] <= start < end
        if subscription["status"] == "canceled":
            assert subscription["canceled_at"] == subscription["ended_at"] <= ANCHOR_TS
            assert start <= subscription["ended_at"] < end
        elif subscription["status"] != "incomplete_expired":
            assert subscription["ended_at"] is None and start <= ANCHOR_TS < end
        if subscription["status"] == "trialing":
            assert subscription["trial_start"] <= ANCHOR_TS < subscription["trial_end"]


def test_events_record_each_object_when_it_happened(account: DemoAccount) -> None:
    events = account.events
    assert all(e["api_version"] == "2024-06-20" and e["object"] == "event" for e in events)
    by_type = Counter(e["type"] for e in events)
    charge_events = {
        e["data"]["object"]["id"]: e
        for e in events
        if e["type"] in {"charge.succeeded", "charge.failed", "charge.pending"}
    }
    for charge in account.charges:
        event = charge_events[charge["id"]]
        assert event["type"] == f"charge.{charge['status']}"
        assert event["created"] == charge["created"]
    refunded = [e for e in events if e["type"] == "charge.refunded"]
    refund_times = {r["charge"]: r["created"] for r in account.refunds}
    assert len(refunded) == len(account.refunds)
    for event in refunded:
        assert event["created"] == refund_times[event["data"]["object"]["id"]]
        assert event["data"]["previous_attributes"]["amount_refunded"] == 0
    statuses = Counter(s["status"] for s in account.subscriptions)
    assert by_type["customer.created"] == len(account.customers)
    assert by_type["customer.subscription.created"] == len(account.subscriptions)
    assert by_type["customer.subscription.deleted"] == (
        statuses["canceled"] + statuses["incomplete_expired"]
    )
    assert by_type["customer.subscription.updated"] >= 3
    past_due = {s["id"] for s in account.subscriptions if s["status"] == "past_due"}
    failed_invoices = {
        e["data"]["object"]["subscription"] for e in events if e["type"] == "invoice.payment_failed"
    }
    assert past_due <= failed_invoices


def test_account_is_demo_coffee_co(account: DemoAccount) -> None:
    assert account.account["business_profile"]["name"] == "Demo Coffee Co."
    assert re.fullmatch(r"acct_[0-9A-Za-z]{16}", account.account["id"])
    assert account.account["default_currency"] == "usd"
