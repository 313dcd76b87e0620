"""A demo subscription's history as Stripe events: trial ends, changes, failed renewals."""

from __future__ import annotations

from typing import Any

from lib.demo.data.events import record_event
from lib.demo.data.seeded import DAY, HOUR, Generation, StripeObject


def record_subscription_events(
    generation: Generation, subscription: StripeObject, customer: StripeObject, variant: str | None
) -> None:
    """Record the events that led `subscription` to its current state.

    A failed renewal also marks `customer` delinquent and records the invoice that failed.
    """
    rng, anchor = generation.rng, generation.anchor
    status, created = subscription["status"], subscription["created"]
    first_status = {"incomplete_expired": "incomplete", "canceled": "active"}.get(status, status)
    if subscription["trial_start"] is not None:
        first_status = "trialing"
    first = {
        **subscription,
        "status": "active" if first_status in ("past_due", "unpaid") else first_status,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "ended_at": None,
    }
    quantity = subscription["quantity"]
    if variant == "quantity":
        first["quantity"] = quantity + 1
    record_event(generation, "customer.subscription.created", first)

    def updated(at: int, previous: StripeObject, **state: Any) -> None:
        snapshot = {**subscription, **state}
        record_event(
            generation,
            "customer.subscription.updated",
            snapshot,
            created=at,
            previous=previous,
            automatic=True,
        )

    if variant == "trial":
        updated(subscription["trial_end"], {"status": "trialing"})
    elif variant == "quantity":
        updated(rng.randint(created + HOUR, anchor), {"quantity": quantity + 1})
    elif variant == "cancel_at_period_end":
        updated(
            subscription["canceled_at"],
            {"cancel_at": None, "cancel_at_period_end": False, "canceled_at": None},
        )
    if status in ("past_due", "unpaid"):
        customer["delinquent"] = True
        failed_at = min(subscription["current_period_start"] + HOUR, anchor)
        invoice = _failed_invoice(generation, subscription, customer, failed_at)
        record_event(generation, "invoice.payment_failed", invoice, automatic=True)
        updated(failed_at, {"status": "active"}, status="past_due")
        if status == "unpaid":
            unpaid_at = min(subscription["current_period_start"] + 3 * DAY, anchor)
            updated(unpaid_at, {"status": "past_due"})
    if subscription["ended_at"] is not None:
        record_event(
            generation,
            "customer.subscription.deleted",
            subscription,
            created=subscription["ended_at"],
            automatic=status == "incomplete_expired",
        )


def _failed_invoice(
    generation: Generation, subscription: StripeObject, customer: StripeObject, created: int
) -> StripeObject:
    """The renewal invoice whose payment failed, with any discount still in force."""
    subtotal = subscription["plan"]["amount"] * subscription["quantity"]
    discount = subscription["discount"]
    discounted = 0
    if discount is not None and (discount["end"] is None or discount["end"] > created):
        coupon = discount["coupon"]
        if coupon["percent_off"] is not None:
            discounted = round(subtotal * coupon["percent_off"] / 100)
        elif coupon["duration"] != "once":
            discounted = min(subtotal, coupon["amount_off"])
    total = subtotal - discounted
    token = generation.new_id("", 40)
    return {
        "id": subscription["latest_invoice"],
        "object": "invoice",
        "amount_due": total,
        "amount_paid": 0,
        "amount_remaining": total,
        "attempt_count": 1,
        "attempted": True,
        "billing_reason": "subscription_cycle",
        "charge": None,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": subscription["currency"],
        "customer": customer["id"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "hosted_invoice_url": (
            f"https://invoice.stripe.com/i/{generation.account_id}/test_{token}"
        ),
        "livemode": False,
        "next_payment_attempt": created + 3 * DAY,
        "paid": False,
        "period_end": subscription["current_period_end"],
        "period_start": subscription["current_period_start"],
        "status": "open",
        "subscription": subscription["id"],
        "subtotal": subtotal,
        "total": total,
        "total_discount_amounts": [{"amount": discounted, "discount": discount["id"]}]
        if discounted
        else [],
    }
