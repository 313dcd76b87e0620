"""The demo shop's subscription plans, their prices in each currency, and the billing calendar."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime

from lib.demo.data.markets import Market, local_price
from lib.demo.data.seeded import DAY, Generation, StripeObject


@dataclass(frozen=True)
class Plan:
    """A product sold by subscription: billed every `interval_count` `interval`s."""

    product_name: str
    interval: str
    interval_count: int
    usd_cents: int


PLANS = (
    Plan("Coffee Club", "month", 1, 2400),
    Plan("Espresso Lovers Club", "month", 1, 3600),
    Plan("Coffee Club (annual)", "year", 1, 24000),
    Plan("Office Beans", "week", 2, 4800),
)


class PriceList:
    """One recurring price per plan and currency, created the first time a subscription needs it."""

    def __init__(self, generation: Generation) -> None:
        self.generation = generation
        self.products: dict[int, str] = {}
        self.prices: dict[tuple[int, str], StripeObject] = {}

    def price_for(self, plan_index: int, market: Market) -> StripeObject:
        """The price of `PLANS[plan_index]` in the market's currency, with its product id."""
        key = (plan_index, market.currency)
        if key not in self.prices:
            plan = PLANS[plan_index]
            if plan_index not in self.products:
                self.products[plan_index] = self.generation.new_id("prod_", 14)
            self.prices[key] = {
                "id": self.generation.new_id("price_"),
                "unit_amount": local_price(plan.usd_cents, market),
                "currency": market.currency,
                "interval": plan.interval,
                "interval_count": plan.interval_count,
                "product": self.products[plan_index],
                "created": self.generation.anchor - (900 - plan_index) * DAY,
                "nickname": plan.product_name,
            }
        return self.prices[key]


def advance(start: int, interval: str, count: int) -> int:
    """`start` plus `count` intervals, stepping calendar months the way Stripe bills."""
    if interval == "week":
        return start + count * 7 * DAY
    moment = datetime.fromtimestamp(start, UTC)
    months = moment.month - 1 + count * (12 if interval == "year" else 1)
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def period_containing(start: int, plan: Plan, moment: int) -> tuple[int, int]:
    """The billing period, counted in whole intervals from `start`, that contains `moment`."""

    def boundary(periods: int) -> int:
        return advance(start, plan.interval, plan.interval_count * periods)

    periods = 0
    while boundary(periods + 1) <= moment:
        periods += 1
    return boundary(periods), boundary(periods + 1)
