"""Subscription metrics as Stripe Billing defines them: MRR, new and churned MRR, churn rate.

MRR sums active and past_due subscriptions, each normalised to a month: what each item bills per
period (`lib.finance.prices`: unit amount times quantity, or its tiers for the quantity; metered
items left out) divided by the period in months (a year is 12, a week 12/52, a day 12/365, times
`interval_count`), less coupons that last `forever` (percent off, or an amount off per billing
period normalised the same way). Trialing and canceled subscriptions do not count. Sums are exact
fractions of a minor unit, rounded half-to-even once per currency.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.dates import format_datetime
from lib.finance.prices import ItemCharge, UnreadablePrice, item_charge
from lib.store.tables import mirror_objects

MRR_STATUSES = frozenset({"active", "past_due"})
# Statuses whose past is known from the object alone: paying from start (or trial end) to end.
_HISTORY_STATUSES = frozenset({"active", "past_due", "canceled"})
_MONTHS_PER_INTERVAL = {
    "month": Fraction(1),
    "year": Fraction(12),
    "week": Fraction(12, 52),
    "day": Fraction(12, 365),
}
CHURN_WINDOW = timedelta(days=30)
HISTORY_NOTES = (
    "Past months use each subscription's current price, quantity and coupon: changes to them "
    "are not in the mirror.",
    "Subscriptions that are unpaid, paused or incomplete now are left out of past months: when "
    "their payments stopped is not in the mirror.",
)


@dataclass(frozen=True)
class Coupon:
    """A discount that lasts `forever` (others end, so they do not reduce recurring revenue)."""

    percent_off: Fraction | None
    amount_off: int | None
    currency: str | None


@dataclass(frozen=True)
class SubscriptionFacts:
    """What the metrics need from a subscription object."""

    id: str
    status: str
    currency: str
    start: int
    trial_end: int | None
    ended_at: int | None
    lines: tuple[ItemCharge, ...]
    coupons: tuple[Coupon, ...] = ()
    unreadable_items: int = 0
    """Items whose price could not be read (e.g. tiers not synced): they count as nothing."""

    @property
    def paying_from(self) -> int:
        """When it started to count: the end of its trial, if it had one, else its start."""
        return self.trial_end if self.trial_end is not None else self.start

    @property
    def ever_paid(self) -> bool:
        """It counted at some point (not only a trial or an incomplete start)."""
        if self.status not in _HISTORY_STATUSES:
            return False
        return self.ended_at is None or self.paying_from < self.ended_at

    def counted_at(self, moment: int) -> bool:
        """Whether it made up MRR at `moment`, as far as the object tells."""
        return (
            self.status in _HISTORY_STATUSES
            and self.paying_from <= moment
            and (self.ended_at is None or moment < self.ended_at)
        )


def subscription_facts(subscription: dict[str, Any]) -> SubscriptionFacts:
    """The facts of a Stripe subscription object (API 2024-06-20: `items`, `discount`)."""
    lines: list[ItemCharge] = []
    unreadable = 0
    for item in (subscription.get("items") or {}).get("data") or []:
        try:
            charge = item_charge(item)
        except UnreadablePrice:
            unreadable += 1
            continue
        if charge is not None:
            lines.append(charge)
    ended = subscription.get("ended_at")
    if ended is None and subscription.get("status") == "canceled":
        ended = subscription.get("canceled_at")
    return SubscriptionFacts(
        id=subscription["id"],
        status=subscription["status"],
        currency=str(subscription.get("currency") or "").lower(),
        start=int(subscription.get("start_date") or subscription["created"]),
        trial_end=subscription.get("trial_end"),
        ended_at=ended,
        lines=tuple(lines),
        coupons=tuple(_forever_coupons(subscription)),
        unreadable_items=unreadable,
    )


def _forever_coupons(subscription: dict[str, Any]) -> list[Coupon]:
    discounts = [subscription.get("discount"), *(subscription.get("discounts") or [])]
    coupons: dict[str, Coupon] = {}
    for discount in discounts:
        coupon = discount.get("coupon") if isinstance(discount, dict) else None
        if not isinstance(coupon, dict) or coupon.get("duration") != "forever":
            continue
        percent = coupon.get("percent_off")
        coupons[str(coupon.get("id"))] = Coupon(
            percent_off=None if percent is None else Fraction(str(percent)),
            amount_off=coupon.get("amount_off"),
            currency=(coupon.get("currency") or "").lower() or None,
        )
    return list(coupons.values())


def monthly_amount(facts: SubscriptionFacts) -> Fraction:
    """Its revenue per month in minor units (exact), whatever its status; never below zero."""
    if not facts.lines:
        return Fraction(0)
    total = sum(
        (
            line.amount / (_MONTHS_PER_INTERVAL[line.interval] * line.interval_count)
            for line in facts.lines
        ),
        Fraction(0),
    )
    first = facts.lines[0]
    period_months = _MONTHS_PER_INTERVAL[first.interval] * first.interval_count
    for coupon in facts.coupons:
        if coupon.percent_off is not None:
            total *= 1 - coupon.percent_off / 100
        elif coupon.amount_off is not None and coupon.currency in (None, facts.currency):
            total -= Fraction(coupon.amount_off) / period_months
    return max(total, Fraction(0))


def mrr_by_currency(subscriptions: Iterable[SubscriptionFacts]) -> dict[str, int]:
    """MRR now per currency (minor units): active and past_due subscriptions."""
    return _rounded_sums(
        (facts.currency, monthly_amount(facts))
        for facts in subscriptions
        if facts.status in MRR_STATUSES
    )


@dataclass(frozen=True)
class SubscriptionMetrics:
    """The subscription business at a glance, over the 30 days up to `now`.

    Subscriber churn = subscriptions canceled in the window (that had been paying) /
    (subscriptions counted in MRR at the window's start + new ones in the window).
    """

    active: int
    """Subscriptions whose status is `active` (as the Dashboard's Subscriptions widget counts)."""
    past_due: int
    trialing: int
    unpaid: int
    mrr: dict[str, int]
    new: int
    new_mrr: dict[str, int]
    churned: int
    churned_mrr: dict[str, int]
    counted_at_window_start: int

    @property
    def in_mrr(self) -> int:
        """Subscriptions MRR counts: active and past due."""
        return self.active + self.past_due

    @property
    def churn_rate(self) -> Fraction | None:
        base = self.counted_at_window_start + self.new
        return Fraction(self.churned, base) if base else None


def subscription_metrics(
    subscriptions: Iterable[SubscriptionFacts], now: datetime
) -> SubscriptionMetrics:
    """Counts, MRR, new and churned MRR and the churn inputs for the 30 days before `now`.

    New: started counting (trial ended, or started without one) in the window. Churned:
    ended in the window after having counted; the MRR they took with them is their monthly
    amount.
    """
    facts = list(subscriptions)
    end = int(now.timestamp())
    start = int((now - CHURN_WINDOW).timestamp())
    new = [f for f in facts if f.ever_paid and start <= f.paying_from <= end]
    churned = [
        f for f in facts if f.ever_paid and f.ended_at is not None and start <= f.ended_at <= end
    ]
    return SubscriptionMetrics(
        active=sum(f.status == "active" for f in facts),
        past_due=sum(f.status == "past_due" for f in facts),
        trialing=sum(f.status == "trialing" for f in facts),
        unpaid=sum(f.status == "unpaid" for f in facts),
        mrr=mrr_by_currency(facts),
        new=len(new),
        new_mrr=_rounded_sums((f.currency, monthly_amount(f)) for f in new),
        churned=len(churned),
        churned_mrr=_rounded_sums((f.currency, monthly_amount(f)) for f in churned),
        counted_at_window_start=sum(f.counted_at(start) for f in facts),
    )


@dataclass(frozen=True)
class MrrTrend:
    """MRR per currency at the end of each month, the current month as of now.

    `rows` are (month 'YYYY-MM', currency, MRR in minor units); `notes` say where the mirror
    cannot tell the past.
    """

    rows: list[tuple[str, str, int]]
    notes: list[str]


def mrr_trend(
    subscriptions: Iterable[SubscriptionFacts],
    now: datetime,
    *,
    months: int = 12,
    history_complete: bool = True,
) -> MrrTrend:
    """MRR at the last second of each of the `months - 1` previous months, and now."""
    facts = list(subscriptions)
    moment = now.astimezone(UTC)
    month_start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    points: list[tuple[str, int]] = []
    for back in range(months - 1, 0, -1):
        first = _add_months(month_start, -back)
        last_second = int(_add_months(first, 1).timestamp()) - 1
        points.append((first.strftime("%Y-%m"), last_second))
    rows: list[tuple[str, str, int]] = []
    currencies = sorted({f.currency for f in facts})
    for label, at in points:
        sums = _rounded_sums((f.currency, monthly_amount(f)) for f in facts if f.counted_at(at))
        rows.extend((label, currency, sums.get(currency, 0)) for currency in currencies)
    current = mrr_by_currency(facts)
    label = month_start.strftime("%Y-%m")
    rows.extend((label, currency, current.get(currency, 0)) for currency in currencies)
    notes = list(HISTORY_NOTES)
    if not history_complete:
        notes.insert(0, "The subscription history is not fully synced yet: MRR may be too low.")
    unpriced = sum(f.unreadable_items > 0 for f in facts if f.status in MRR_STATUSES)
    if unpriced:
        notes.insert(
            0,
            f"{unpriced} subscription(s) have items whose price could not be read (for example "
            "tiered prices whose tiers are not in the mirror): MRR leaves those items out.",
        )
    if facts:
        oldest = min(f.start for f in facts)
        if points and oldest > points[0][1]:
            started = format_datetime(datetime.fromtimestamp(oldest, UTC))
            notes.append(f"The oldest mirrored subscription started on {started}.")
    return MrrTrend(rows, notes)


def load_subscriptions(engine: Engine, account_key: str) -> list[SubscriptionFacts]:
    """The facts of every mirrored subscription of the account."""
    with engine.connect() as connection:
        raws = connection.execute(
            sa.select(mirror_objects.c.raw).where(
                mirror_objects.c.account_key == account_key,
                mirror_objects.c.object_type == "subscription",
            )
        ).scalars()
        return [subscription_facts(json.loads(raw)) for raw in raws]


def _rounded_sums(amounts: Iterable[tuple[str, Fraction]]) -> dict[str, int]:
    totals: dict[str, Fraction] = defaultdict(Fraction)
    for currency, amount in amounts:
        totals[currency] += amount
    # round() on a Fraction rounds half to even.
    return {currency: round(total) for currency, total in sorted(totals.items())}


def _add_months(moment: datetime, count: int) -> datetime:
    months = moment.month - 1 + count
    return moment.replace(year=moment.year + months // 12, month=months % 12 + 1)
