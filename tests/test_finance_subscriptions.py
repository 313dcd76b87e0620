"""MRR, new and churned MRR, subscriber churn and the MRR trend on a hand-built set of
subscriptions, with every expected figure worked out below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy.engine import Engine

from lib.finance import (
    load_subscriptions,
    monthly_amount,
    mrr_by_currency,
    mrr_trend,
    subscription_facts,
    subscription_metrics,
)
from lib.sync import write_objects

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
DAY = 86_400


def days_ago(days: float) -> int:
    return int((NOW - timedelta(days=days)).timestamp())


def subscription(
    sub_id: str,
    *,
    status: str,
    amount: int,
    started: float,
    interval: str = "month",
    interval_count: int = 1,
    quantity: int = 1,
    currency: str = "usd",
    trial_days: int | None = None,
    ended: float | None = None,
    coupon: dict[str, Any] | None = None,
) -> dict[str, Any]:
    start = days_ago(started)
    return {
        "id": sub_id,
        "object": "subscription",
        "status": status,
        "currency": currency,
        "created": start,
        "start_date": start,
        "trial_start": start if trial_days else None,
        "trial_end": start + trial_days * DAY if trial_days else None,
        "canceled_at": None if ended is None else days_ago(ended),
        "ended_at": None if ended is None else days_ago(ended),
        "cancel_at_period_end": False,
        "customer": "cus_1",
        "discount": None if coupon is None else {"object": "discount", "coupon": coupon},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{sub_id}",
                    "quantity": quantity,
                    "price": {
                        "unit_amount": amount,
                        "currency": currency,
                        "recurring": {"interval": interval, "interval_count": interval_count},
                    },
                }
            ],
        },
    }


def coupon(
    duration: str, *, percent_off: float | None = None, amount_off: int | None = None
) -> dict[str, Any]:
    return {
        "id": f"{duration}-{percent_off}-{amount_off}",
        "duration": duration,
        "percent_off": percent_off,
        "amount_off": amount_off,
        "currency": "usd" if amount_off else None,
    }


SUBSCRIPTIONS = [
    # $1,200.00 a year -> 120000 / 12 = 10000 a month.
    subscription("sub_yearly", status="active", amount=120_000, interval="year", started=200),
    # $48.00 every 2 weeks -> 4800 * 52 / 12 / 2 = 10400.
    subscription(
        "sub_biweekly", status="active", amount=4800, interval="week", interval_count=2, started=100
    ),
    # 3 seats at $24.00, past due (still MRR) -> 7200.
    subscription("sub_seats", status="past_due", amount=2400, quantity=3, started=90),
    # $36.00 less a forever 10% coupon -> 3240; new 10 days ago.
    subscription(
        "sub_loyal",
        status="active",
        amount=3600,
        started=10,
        coupon=coupon("forever", percent_off=10.0),
    ),
    # 2 x $24.00 less a forever $5.00 off per month -> 4300.
    subscription(
        "sub_fiver",
        status="active",
        amount=2400,
        quantity=2,
        started=400,
        coupon=coupon("forever", amount_off=500),
    ),
    # A repeating coupon ends, so it does not reduce MRR -> 2400.
    subscription(
        "sub_welcome",
        status="active",
        amount=2400,
        started=60,
        coupon=coupon("repeating", percent_off=20.0),
    ),
    # $1.00 a day -> 100 * 365 / 12 = 3041 2/3.
    subscription("sub_daily", status="active", amount=100, interval="day", started=300),
    # Trial ended 3 days ago: counts now, and as new -> 1000.
    subscription("sub_converted", status="active", amount=1000, started=17, trial_days=14),
    # Still trialing: not MRR.
    subscription("sub_trial", status="trialing", amount=2400, started=5, trial_days=14),
    # Canceled 12 days ago after paying since 200 days ago: churned, 3600.
    subscription("sub_gone", status="canceled", amount=3600, started=200, ended=12),
    # Canceled during its trial: never paid, so neither new nor churn.
    subscription("sub_tried", status="canceled", amount=3600, started=20, trial_days=14, ended=10),
    # Never paid.
    subscription("sub_incomplete", status="incomplete", amount=9900, started=1),
    # ¥36,000 a year -> 3000 a month, in its own currency.
    subscription(
        "sub_yen", status="active", amount=36_000, interval="year", currency="jpy", started=50
    ),
]
FACTS = [subscription_facts(obj) for obj in SUBSCRIPTIONS]
BY_ID = {facts.id: facts for facts in FACTS}


def test_each_interval_is_normalised_to_a_month_exactly() -> None:
    assert monthly_amount(BY_ID["sub_yearly"]) == 10_000
    assert monthly_amount(BY_ID["sub_biweekly"]) == 10_400
    assert monthly_amount(BY_ID["sub_seats"]) == 7200
    assert monthly_amount(BY_ID["sub_daily"]) == Fraction(36_500, 12)
    assert monthly_amount(BY_ID["sub_yen"]) == 3000


def test_only_forever_coupons_reduce_mrr() -> None:
    assert monthly_amount(BY_ID["sub_loyal"]) == 3240
    assert monthly_amount(BY_ID["sub_fiver"]) == 4300
    assert monthly_amount(BY_ID["sub_welcome"]) == 2400


def test_mrr_sums_active_and_past_due_per_currency() -> None:
    # 10000 + 10400 + 7200 + 3240 + 4300 + 2400 + 3041 2/3 + 1000 = 41581 2/3 -> 41582.
    assert mrr_by_currency(FACTS) == {"jpy": 3000, "usd": 41_582}


def test_metrics_over_the_last_30_days() -> None:
    metrics = subscription_metrics(FACTS, NOW)

    # One count per status, as the Dashboard's Subscriptions widget shows them; MRR counts two.
    assert (metrics.active, metrics.past_due, metrics.trialing, metrics.unpaid) == (8, 1, 1, 0)
    assert metrics.in_mrr == 9
    assert metrics.mrr == {"jpy": 3000, "usd": 41_582}
    # New: sub_loyal (3240) and sub_converted (1000, its trial ended in the window).
    assert (metrics.new, metrics.new_mrr) == (2, {"usd": 4240})
    # Churned: sub_gone only; sub_tried never paid.
    assert (metrics.churned, metrics.churned_mrr) == (1, {"usd": 3600})
    # Counted 30 days ago: yearly, biweekly, seats, fiver, welcome, daily, gone, yen.
    assert metrics.counted_at_window_start == 8
    assert metrics.churn_rate == Fraction(1, 8 + 2)


def test_churn_rate_is_undefined_without_subscribers() -> None:
    assert subscription_metrics([], NOW).churn_rate is None


def test_trend_has_twelve_month_ends_ending_with_the_current_mrr() -> None:
    trend = mrr_trend(FACTS, NOW)

    months = sorted({month for month, _, _ in trend.rows})
    values = {(month, currency): mrr for month, currency, mrr in trend.rows}
    assert months[0] == "2025-12" and months[-1] == "2026-11" and len(months) == 12
    # Dec 31, 2025: only sub_fiver had started (Oct 11, 2025).
    assert values[("2025-12", "usd")] == 4300
    assert values[("2025-12", "jpy")] == 0
    # Oct 31, 2026: as now, but with sub_gone (ended Nov 3) and without sub_loyal and
    # sub_converted: 41581 2/3 - 3240 - 1000 + 3600 = 40941 2/3 -> 40942.
    assert values[("2026-10", "usd")] == 40_942
    assert values[("2026-11", "usd")] == 41_582
    assert values[("2026-11", "jpy")] == 3000
    assert any("current price" in note for note in trend.notes)


def test_trend_says_where_history_is_missing() -> None:
    recent = [BY_ID["sub_loyal"]]

    trend = mrr_trend(recent, NOW, history_complete=False)

    assert trend.notes[0].startswith("The subscription history is not fully synced yet")
    assert any(
        "oldest mirrored subscription started on Nov 5, 2026, 12:00 UTC" in n for n in trend.notes
    )


def test_metrics_read_the_mirrored_subscriptions(engine: Engine) -> None:
    with engine.begin() as connection:
        write_objects(connection, "demo", "subscriptions", SUBSCRIPTIONS, int(NOW.timestamp()))
        write_objects(connection, "other", "subscriptions", SUBSCRIPTIONS[:1], 0)

    loaded = load_subscriptions(engine, "demo")

    assert sorted(f.id for f in loaded) == sorted(f.id for f in FACTS)
    assert subscription_metrics(loaded, NOW) == subscription_metrics(FACTS, NOW)


def priced(sub_id: str, *items: dict[str, Any], status: str = "active") -> dict[str, Any]:
    """An active monthly USD subscription started 100 days ago, billed for `items`."""
    obj = subscription(sub_id, status=status, amount=0, started=100)
    obj["items"]["data"] = list(items)
    return obj


def item(quantity: int | None = 1, **price: Any) -> dict[str, Any]:
    recurring = {"interval": "month", "interval_count": 1, "usage_type": "licensed"}
    recurring.update(price.pop("recurring", {}))
    return {
        "quantity": quantity,
        "price": {"billing_scheme": "per_unit", **price, "recurring": recurring},
    }


TIERS = [
    {"up_to": 5, "unit_amount": 1000, "flat_amount": None},
    {"up_to": None, "unit_amount": 800, "flat_amount": 500},
]


def test_an_item_with_quantity_zero_brings_nothing() -> None:
    # 0 x $24.00 = 0 (a missing quantity, as on old objects, is one unit: 2400).
    facts = subscription_facts(priced("sub_q0", item(0, unit_amount=2400)))
    assert monthly_amount(facts) == 0
    assert monthly_amount(subscription_facts(priced("sub_q", item(None, unit_amount=2400)))) == (
        2400
    )


def test_metered_prices_are_left_out_as_stripe_does() -> None:
    # $24.00 licensed + 5 cents per metered unit: only the licensed 2400 is recurring revenue.
    facts = subscription_facts(
        priced(
            "sub_metered",
            item(1, unit_amount=2400),
            item(None, unit_amount=5, recurring={"usage_type": "metered"}),
        )
    )
    assert monthly_amount(facts) == 2400
    assert facts.unreadable_items == 0


def test_a_volume_tiered_price_bills_every_unit_at_the_tier_reached() -> None:
    # 7 seats reach the open tier: 7 x 800 + 500 flat = 6100.
    price = {"billing_scheme": "tiered", "tiers_mode": "volume", "unit_amount": None}
    facts = subscription_facts(priced("sub_volume", item(7, **price, tiers=TIERS)))
    assert monthly_amount(facts) == 6100
    # 5 seats stay in the first tier: 5 x 1000 = 5000.
    facts = subscription_facts(priced("sub_volume5", item(5, **price, tiers=TIERS)))
    assert monthly_amount(facts) == 5000


def test_a_graduated_tiered_price_bills_each_tier_for_its_own_units() -> None:
    # 7 seats: 5 x 1000 + (2 x 800 + 500 flat) = 5000 + 2100 = 7100.
    price = {"billing_scheme": "tiered", "tiers_mode": "graduated", "unit_amount": None}
    facts = subscription_facts(priced("sub_graduated", item(7, **price, tiers=TIERS)))
    assert monthly_amount(facts) == 7100
    # A flat fee in the first tier is billed even for 0 units: decimal tiers, exact sum.
    # 0 units: 1999.5 flat = 1999 1/2; 3 units: 1999.5 + 3 x 0.25 = 2000 1/4.
    fee_tiers = [
        {"up_to": 10, "unit_amount_decimal": "0.25", "flat_amount_decimal": "1999.5"},
        {"up_to": None, "unit_amount": 100},
    ]
    for quantity, expected in ((0, Fraction(3999, 2)), (3, Fraction(8001, 4))):
        facts = subscription_facts(priced("sub_fee", item(quantity, **price, tiers=fee_tiers)))
        assert monthly_amount(facts) == expected


def test_a_price_with_only_a_decimal_unit_amount_counts_exactly() -> None:
    # unit_amount_decimal "1999.5" x 2 = 3999 a month.
    facts = subscription_facts(
        priced("sub_decimal", item(2, unit_amount=None, unit_amount_decimal="1999.5"))
    )
    assert monthly_amount(facts) == 3999
    # 3 x 0.25 a year = 0.75 / 12 = 1/16 of a minor unit a month, kept exact.
    yearly = item(3, unit_amount=None, unit_amount_decimal="0.25", recurring={"interval": "year"})
    assert monthly_amount(subscription_facts(priced("sub_tiny", yearly))) == Fraction(1, 16)


def test_a_quantity_transform_bills_per_package() -> None:
    # 25 units in packages of 10, rounded up: 3 x 500 = 1500; rounded down: 2 x 500 = 1000.
    for rounding, expected in (("up", 1500), ("down", 1000)):
        transform = {"divide_by": 10, "round": rounding}
        facts = subscription_facts(
            priced("sub_pack", item(25, unit_amount=500, transform_quantity=transform))
        )
        assert monthly_amount(facts) == expected


def test_mrr_sums_the_four_cases_and_says_what_it_could_not_price() -> None:
    tiered = {"billing_scheme": "tiered", "tiers_mode": "volume", "unit_amount": None}
    subscriptions = [
        priced("sub_q0", item(0, unit_amount=2400)),  # 0
        priced(
            "sub_metered",
            item(1, unit_amount=2400),
            item(None, unit_amount=5, recurring={"usage_type": "metered"}),
        ),  # 2400
        priced("sub_volume", item(7, **tiered, tiers=TIERS)),  # 6100
        priced("sub_decimal", item(2, unit_amount=None, unit_amount_decimal="1999.5")),  # 3999
        # Listed without its tiers, and a decimal that is not a number: both left out, and said.
        priced("sub_no_tiers", item(3, **tiered)),
        priced("sub_odd", item(1, unit_amount=None, unit_amount_decimal="1/3")),
    ]
    facts = [subscription_facts(obj) for obj in subscriptions]

    # 0 + 2400 + 6100 + 3999 = 12499.
    assert mrr_by_currency(facts) == {"usd": 12_499}
    notes = mrr_trend(facts, NOW).notes
    assert notes[0].startswith("2 subscription(s) have items whose price could not be read")
