"""The demo shop's subscriptions: about fifty, in every status Stripe has, some with coupons.

A few started and a few were canceled in the last 30 days, so new and churned MRR show.
"""

from __future__ import annotations

from collections import Counter

from lib.demo.data.customers import Payer
from lib.demo.data.plans import PLANS, Plan, PriceList, advance, period_containing
from lib.demo.data.seeded import DAY, HOUR, MINUTE, Generation, StripeObject, list_object
from lib.demo.data.subscription_events import record_subscription_events

_PLAN_MIX = (0,) * 22 + (1,) * 14 + (2,) * 9 + (3,) * 3
_SUBSCRIPTION_STATUSES = (
    ("active",) * 28
    + ("trialing",) * 5
    + ("past_due",) * 4
    + ("canceled",) * 6
    + ("unpaid",) * 2
    + ("incomplete",) * 2
    + ("incomplete_expired",)
)
_COUPONS = (  # id, percent_off, amount_off in US cents, duration, duration_in_months
    ("WELCOME20", 20.0, None, "repeating", 3),
    ("LOYAL10", 10.0, None, "forever", None),
    ("FIRSTBAG5", None, 500, "once", None),
)
_TRIAL = 14 * DAY
_INCOMPLETE_EXPIRY = 23 * HOUR
# Variants of the first active subscriptions, in order; "new" ones started in the last 30 days.
_ACTIVE_VARIANTS = ("cancel_at_period_end",) * 2 + ("quantity",) * 3 + ("trial",) * 6 + ("new",) * 3
_RECENT_CANCELLATIONS = 3
"""How many of the canceled subscriptions ended in the last 30 days (churn to show)."""
_RECENT = 28 * DAY
_FEEDBACK = ("too_expensive", "switched_service", "unused", "low_quality", "other")


def generate_subscriptions(generation: Generation, payers: list[Payer]) -> list[StripeObject]:
    """One subscription each for some of `payers`, recording the events of its history.

    A payer whose renewal failed is marked `delinquent`.
    """
    rng = generation.rng
    prices = PriceList(generation)
    plan_mix = list(_PLAN_MIX)
    rng.shuffle(plan_mix)
    candidates = list(payers)
    rng.shuffle(candidates)
    subscriptions: list[StripeObject] = []
    seen: Counter[str] = Counter()
    for status, plan_index in zip(_SUBSCRIPTION_STATUSES, plan_mix, strict=True):
        variant = _variant(status, seen[status])
        seen[status] += 1
        created = _subscription_start(generation, status, PLANS[plan_index], variant)
        payer = next(p for p in candidates if p.customer["created"] < created - HOUR)
        candidates.remove(payer)
        price = prices.price_for(plan_index, payer.market)
        subscription = _subscription_object(
            generation, payer, PLANS[plan_index], price, status, created, variant
        )
        subscriptions.append(subscription)
        record_subscription_events(generation, subscription, payer.customer, variant)
    return subscriptions


def _variant(status: str, index: int) -> str | None:
    """The story of the `index`-th subscription with `status` (None: a plain one)."""
    if status == "active" and index < len(_ACTIVE_VARIANTS):
        return _ACTIVE_VARIANTS[index]
    if status == "canceled" and index < _RECENT_CANCELLATIONS:
        return "recent"
    return None


def _subscription_start(
    generation: Generation, status: str, plan: Plan, variant: str | None
) -> int:
    rng, anchor = generation.rng, generation.anchor
    if variant == "new":
        return anchor - rng.randint(2 * DAY, _RECENT - DAY)
    if status == "trialing":
        return anchor - rng.randint(HOUR, 13 * DAY)
    if status == "incomplete":
        return anchor - rng.randint(10 * MINUTE, 22 * HOUR)
    if status == "incomplete_expired":
        return anchor - rng.randint(2 * DAY, 60 * DAY)
    if status in ("past_due", "unpaid"):
        # The renewal that failed was recent enough that Stripe is still retrying it.
        renewed = anchor - (
            rng.randint(4 * DAY, 12 * DAY) if status == "unpaid" else rng.randint(HOUR, 3 * DAY)
        )
        periods = 1 if plan.interval == "year" else rng.randint(1, 8)
        return advance(renewed, plan.interval, -plan.interval_count * periods)
    # Active ones are old enough to have finished a trial; canceled ones renewed at least once.
    period = advance(0, plan.interval, plan.interval_count)
    youngest = 20 * DAY if status == "active" else int(period * 1.2)
    return anchor - rng.randint(youngest, max(youngest, 850 * DAY))


def _coupon_discount(
    generation: Generation, subscription_id: str, payer: Payer, start: int
) -> StripeObject:
    rng = generation.rng
    usable = [c for c in _COUPONS if c[2] is None or payer.market.currency == "usd"]
    coupon_id, percent_off, usd_off, duration, months = rng.choice(usable)
    return {
        "id": generation.new_id("di_"),
        "object": "discount",
        "checkout_session": None,
        "coupon": {
            "id": coupon_id,
            "object": "coupon",
            "amount_off": usd_off,
            "created": generation.anchor - 950 * DAY,
            "currency": "usd" if usd_off is not None else None,
            "duration": duration,
            "duration_in_months": months,
            "livemode": False,
            "max_redemptions": None,
            "metadata": {},
            "name": coupon_id.title(),
            "percent_off": percent_off,
            "redeem_by": None,
            "times_redeemed": rng.randint(5, 80),
            "valid": True,
        },
        "customer": payer.customer["id"],
        "end": advance(start, "month", months) if months else None,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "start": start,
        "subscription": subscription_id,
        "subscription_item": None,
    }


def _subscription_object(
    generation: Generation,
    payer: Payer,
    plan: Plan,
    price: StripeObject,
    status: str,
    created: int,
    variant: str | None,
) -> StripeObject:
    rng, anchor = generation.rng, generation.anchor
    quantity = rng.choices((1, 2, 3, 4, 5), (60, 20, 10, 6, 4))[0]
    subscription_id = generation.new_id("sub_")
    trial = status == "trialing" or variant == "trial"
    billing_anchor = created + _TRIAL if trial else created
    canceled_at = ended_at = cancel_at = None
    if status == "trialing":
        period = (created, created + _TRIAL)
    elif status in ("incomplete", "incomplete_expired"):
        period = (created, advance(created, plan.interval, plan.interval_count))
        ended_at = created + _INCOMPLETE_EXPIRY if status == "incomplete_expired" else None
    elif status == "canceled":
        earliest = max(created + DAY, anchor - _RECENT) if variant == "recent" else created + DAY
        canceled_at = ended_at = rng.randint(earliest, anchor - HOUR)
        period = period_containing(billing_anchor, plan, canceled_at)
    else:
        period = period_containing(billing_anchor, plan, anchor)
    if variant == "cancel_at_period_end":
        canceled_at, cancel_at = rng.randint(period[0], anchor), period[1]
    cancellation = {"comment": None, "feedback": None, "reason": None}
    if status == "canceled":
        cancellation = {
            "comment": None,
            "feedback": rng.choice(_FEEDBACK),
            "reason": "cancellation_requested",
        }
    discount = None
    if rng.random() < 0.2:
        discount = _coupon_discount(generation, subscription_id, payer, created)
    plan_fields = {
        "amount": price["unit_amount"],
        "currency": price["currency"],
        "interval": price["interval"],
        "interval_count": price["interval_count"],
        "product": price["product"],
    }
    legacy_plan = {
        "id": price["id"],
        "object": "plan",
        "active": True,
        "amount_decimal": str(price["unit_amount"]),
        "billing_scheme": "per_unit",
        "created": price["created"],
        "livemode": False,
        "nickname": price["nickname"],
        "usage_type": "licensed",
        **plan_fields,
    }
    item = {
        "id": generation.new_id("si_", 14),
        "object": "subscription_item",
        "created": created,
        "metadata": {},
        "plan": legacy_plan,
        "price": {
            "id": price["id"],
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": price["created"],
            "currency": price["currency"],
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": price["nickname"],
            "product": price["product"],
            "recurring": {
                "aggregate_usage": None,
                "interval": price["interval"],
                "interval_count": price["interval_count"],
                "trial_period_days": None,
                "usage_type": "licensed",
            },
            "tax_behavior": "unspecified",
            "type": "recurring",
            "unit_amount": price["unit_amount"],
            "unit_amount_decimal": str(price["unit_amount"]),
        },
        "quantity": quantity,
        "subscription": subscription_id,
        "tax_rates": [],
    }
    return {
        "id": subscription_id,
        "object": "subscription",
        "billing_cycle_anchor": billing_anchor,
        "cancel_at": cancel_at,
        "cancel_at_period_end": cancel_at is not None,
        "canceled_at": canceled_at,
        "cancellation_details": cancellation,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": price["currency"],
        "current_period_end": period[1],
        "current_period_start": period[0],
        "customer": payer.customer["id"],
        "days_until_due": None,
        "default_payment_method": payer.payment_method,
        "description": None,
        "discount": discount,
        "ended_at": ended_at,
        "items": list_object([item], f"/v1/subscription_items?subscription={subscription_id}"),
        "latest_invoice": generation.new_id("in_"),
        "livemode": False,
        "metadata": {},
        "pending_update": None,
        "plan": legacy_plan,
        "quantity": quantity,
        "schedule": None,
        "start_date": created,
        "status": status,
        "test_clock": None,
        "trial_end": created + _TRIAL if trial else None,
        "trial_start": created if trial else None,
    }
