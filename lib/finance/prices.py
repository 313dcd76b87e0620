"""What a subscription item bills per period, read from its Stripe price as Stripe bills it.

Per-unit prices bill `unit_amount` (or the finer `unit_amount_decimal`) times the quantity,
after any `transform_quantity`; tiered prices bill their tiers for the quantity, in `volume` or
`graduated` mode (https://docs.stripe.com/products-prices/pricing-models#tiered-pricing).
Metered (usage-based) prices have no amount known in advance: Stripe's Billing analytics leave
them out of MRR ("MRR calculations exclude ... any metered (usage based) products",
https://docs.stripe.com/billing/subscriptions/analytics/glossary), and so do we. That page
defines MRR as the monthly-normalised value of each subscription without singling out tiered
prices, so a tiered item counts what its tiers bill for its quantity. Every value is checked
before use: one that Stripe would not send raises UnreadablePrice, never a conversion error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

BILLING_INTERVALS = frozenset({"day", "week", "month", "year"})
MAX_QUANTITY = 10**12
"""Larger quantities (or tier bounds) are not credible for a subscription item: unreadable."""
_MAX_MINOR_DIGITS = 15
# Stripe's decimal amounts: minor units with at most 12 decimal places, never negative.
_DECIMAL_AMOUNT = re.compile(rf"\d{{1,{_MAX_MINOR_DIGITS}}}(?:\.\d{{1,12}})?")


@dataclass(frozen=True)
class ItemCharge:
    """What one subscription item bills each period: exact minor units, every `interval_count`
    `interval`s."""

    amount: Fraction
    interval: str
    interval_count: int


class UnreadablePrice(ValueError):
    """The price (or quantity) of an item cannot be read, e.g. tiers that were not expanded."""


def item_charge(item: Any) -> ItemCharge | None:
    """What `item` (a subscription item) bills per period; None for a metered price.

    Raises UnreadablePrice when the price, its interval or the quantity is missing or not a
    value Stripe would send, or a tiered price comes without its tiers.
    """
    if not isinstance(item, dict):
        raise UnreadablePrice("not an object")
    price = item.get("price") or item.get("plan")
    if not isinstance(price, dict):
        raise UnreadablePrice("no price")
    # A Price keeps its schedule under `recurring`; a legacy Plan has the same keys at its top.
    recurring = price.get("recurring") or price
    if not isinstance(recurring, dict):
        raise UnreadablePrice("no recurring schedule")
    if recurring.get("usage_type") == "metered":
        return None
    interval = recurring.get("interval")
    if interval not in BILLING_INTERVALS:
        raise UnreadablePrice("unknown interval")
    interval_count = _whole(recurring.get("interval_count", 1), minimum=1)
    # A licensed item always has a quantity; an older object without one bills one unit.
    quantity = _whole(1 if item.get("quantity") is None else item["quantity"])
    if price.get("billing_scheme") == "tiered":
        amount = tiered_amount(price.get("tiers"), price.get("tiers_mode"), quantity)
    else:
        unit = minor_amount(
            price.get("unit_amount", price.get("amount")),
            price.get("unit_amount_decimal", price.get("amount_decimal")),
        )
        if unit is None:
            raise UnreadablePrice("no unit amount")
        amount = unit * _transformed(quantity, price.get("transform_quantity"))
    return ItemCharge(amount, str(interval), interval_count)


def tiered_amount(tiers: Any, mode: Any, quantity: int) -> Fraction:
    """What a tiered price bills for `quantity` units (exact minor units).

    `volume`: every unit at the tier the quantity falls in, plus that tier's flat amount.
    `graduated`: each tier's units at that tier's price, plus the flat amount of every tier
    the quantity reaches. A quantity of 0 falls in the first tier (its flat amount counts).
    `up_to` null is the last, open tier.
    """
    if mode not in ("volume", "graduated"):
        raise UnreadablePrice("unknown tiers_mode")
    bounded = _read_tiers(tiers)
    if mode == "volume":
        tier = next(t for t in bounded if t.up_to is None or quantity <= t.up_to)
        return quantity * tier.unit + tier.flat
    total, below = Fraction(0), 0
    for tier in bounded:
        top = quantity if tier.up_to is None else min(quantity, tier.up_to)
        total += max(top - below, 0) * tier.unit + tier.flat
        if tier.up_to is None or quantity <= tier.up_to:
            break
        below = tier.up_to
    return total


def minor_amount(whole: Any, decimal: Any) -> Fraction | None:
    """An amount in minor units from Stripe's integer field, else its decimal-string twin."""
    if whole is not None:
        return Fraction(_whole(whole, limit=10**_MAX_MINOR_DIGITS))
    if decimal is None:
        return None
    if not isinstance(decimal, str) or not _DECIMAL_AMOUNT.fullmatch(decimal):
        raise UnreadablePrice("not a decimal amount")
    return Fraction(decimal)


@dataclass(frozen=True)
class _Tier:
    up_to: int | None
    unit: Fraction
    flat: Fraction


def _read_tiers(tiers: Any) -> list[_Tier]:
    if not isinstance(tiers, list) or not tiers or len(tiers) > 100:
        raise UnreadablePrice("no tiers")
    read: list[_Tier] = []
    for tier in tiers:
        if not isinstance(tier, dict):
            raise UnreadablePrice("tier is not an object")
        up_to = tier.get("up_to")
        read.append(
            _Tier(
                up_to=None if up_to in (None, "inf") else _whole(up_to),
                unit=minor_amount(tier.get("unit_amount"), tier.get("unit_amount_decimal"))
                or Fraction(0),
                flat=minor_amount(tier.get("flat_amount"), tier.get("flat_amount_decimal"))
                or Fraction(0),
            )
        )
    read.sort(key=lambda t: math.inf if t.up_to is None else t.up_to)
    if read[-1].up_to is not None:
        raise UnreadablePrice("the last tier must be open (up_to null)")
    return read


def _transformed(quantity: int, transform: Any) -> int:
    # transform_quantity: bill per package of `divide_by` units, rounded up or down.
    if not isinstance(transform, dict):
        return quantity
    divide_by = _whole(transform.get("divide_by"), minimum=1)
    rounding = transform.get("round")
    if rounding == "down":
        return quantity // divide_by
    if rounding == "up":
        return -(-quantity // divide_by)
    raise UnreadablePrice("unknown transform_quantity rounding")


def _whole(value: Any, *, minimum: int = 0, limit: int = MAX_QUANTITY) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= limit:
        raise UnreadablePrice("not a whole number in range")
    return value
