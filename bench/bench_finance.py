"""Benchmarks for the finance views, on SQLite.

1. 100,000 mirrored charges: the time to apply a filter change and compute what the Charges
   page shows first (the per-currency summary and the first page of rows), and the whole set of
   queries the page runs (plus the charts and the filter choices). Target: under 300 ms.
2. A first sync of 10,000 charges from a loopback server speaking Stripe's list API: requests
   made and seconds.

Run from the project root: `python -m bench.bench_finance` (`--help` for the sizes).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from lib.demo import DEMO_API_KEY, DemoAccount, DemoStripeTransport
from lib.finance import (
    ChargeFilters,
    charges_page,
    currency_summaries,
    daily_volume,
    failures_by_code,
    filter_choices,
)
from lib.providers.stripe import StripeAdapter
from lib.providers.types import ProviderCredentials
from lib.store import create_db_engine, migrate
from lib.sync import apply_stored_events, read_states, sync_mirror, write_objects
from lib.sync.store import refresh_planner_statistics
from tests.loopback_server import LoopbackServer, RecordedRequest, Reply

ACCOUNT = "bench"
CURRENCIES = (("usd", 60), ("eur", 14), ("gbp", 11), ("jpy", 8), ("kwd", 5), ("chf", 2))
BRANDS = (
    ("visa", 45),
    ("mastercard", 30),
    ("amex", 12),
    ("discover", 6),
    ("jcb", 4),
    ("unionpay", 3),
)
PRODUCTS = (
    "Latte and pastry (in store)",
    "House blend, 500 g",
    "Espresso beans, 1 kg",
    "Cold brew concentrate, 1 l",
    "Single-origin sampler",
    "Ceramic mug",
    "Gift card",
    "Pour-over starter kit",
    "Burr grinder",
    "Wholesale order: 10 kg beans",
)
FIRST = ("Ava", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sophia", "Kenji", "Fatima", "Lena")
LAST = ("Carter", "Nguyen", "Patel", "Smith", "Rivera", "Kim", "Sato", "Al-Ajmi", "Dubois", "Reed")
FAILURES = ("card_declined", "expired_card", "incorrect_cvc", "processing_error")


def make_customers(rng: random.Random, count: int, now: int) -> list[dict[str, Any]]:
    customers = []
    for number in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        customers.append(
            {
                "id": f"cus_{number:010d}",
                "object": "customer",
                "created": now - rng.randint(400, 900) * 86_400,
                "email": f"{first}.{last}{number}@example.com".lower(),
                "name": f"{first} {last}",
                "livemode": False,
                "metadata": {},
            }
        )
    return customers


def make_charges(
    rng: random.Random, count: int, customers: list[dict[str, Any]], now: int, span_days: int
) -> list[dict[str, Any]]:
    """Stripe-shaped charges (about 2 KB of JSON each), newest first."""
    codes, weights = zip(*CURRENCIES, strict=True)
    brands, brand_weights = zip(*BRANDS, strict=True)
    charges = []
    for number in range(count):
        currency = rng.choices(codes, weights)[0]
        roll = rng.random()
        status = "succeeded" if roll < 0.85 else "failed" if roll < 0.95 else "pending"
        amount = (
            rng.randint(5, 500)
            * (100 if currency != "jpy" else 150)
            * (10 if currency == "kwd" else 1)
        )
        refunded = 0
        if status == "succeeded" and rng.random() < 0.08:
            refunded = amount if rng.random() < 0.6 else amount // 4
        customer = rng.choice(customers)
        charge_id = f"ch_{number:024d}"
        brand = rng.choices(brands, brand_weights)[0]
        charges.append(
            {
                "id": charge_id,
                "object": "charge",
                "amount": amount,
                "amount_captured": 0 if status == "failed" else amount,
                "amount_refunded": refunded,
                "balance_transaction": f"txn_{number:024d}" if status == "succeeded" else None,
                "billing_details": {
                    "address": {
                        "city": None,
                        "country": "US",
                        "line1": None,
                        "postal_code": "94107",
                    },
                    "email": customer["email"],
                    "name": customer["name"],
                    "phone": None,
                },
                "calculated_statement_descriptor": "DEMO COFFEE CO",
                "captured": status != "failed",
                "created": now - int(span_days * 86_400 * rng.random() ** 1.2),
                "currency": currency,
                "customer": customer["id"],
                "description": rng.choice(PRODUCTS),
                "disputed": status == "succeeded" and rng.random() < 0.01,
                "failure_code": rng.choice(FAILURES) if status == "failed" else None,
                "failure_message": "Your card was declined." if status == "failed" else None,
                "fraud_details": {},
                "livemode": False,
                "metadata": {"order_id": f"DC-{rng.randint(10000, 99999)}"},
                "outcome": {
                    "network_status": "approved_by_network",
                    "reason": None,
                    "risk_level": "normal",
                    "risk_score": rng.randint(0, 60),
                    "seller_message": "Payment complete.",
                    "type": "authorized",
                },
                "paid": status == "succeeded",
                "payment_intent": f"pi_{number:024d}",
                "payment_method": f"pm_{number:024d}",
                "payment_method_details": {
                    "card": {
                        "brand": brand,
                        "checks": {"address_postal_code_check": "pass", "cvc_check": "pass"},
                        "country": "US",
                        "exp_month": rng.randint(1, 12),
                        "exp_year": 2030,
                        "fingerprint": f"fp{number:014d}",
                        "funding": "credit",
                        "last4": f"{rng.randint(0, 9999):04d}",
                        "network": brand,
                    },
                    "type": "card",
                },
                "receipt_email": customer["email"],
                "receipt_url": f"https://pay.stripe.com/receipts/payment/{charge_id}?s=ap",
                "refunded": refunded == amount,
                "refunds": {"object": "list", "data": [], "has_more": False},
                "status": status,
            }
        )
    charges.sort(key=lambda charge: (charge["created"], charge["id"]), reverse=True)
    return charges


@dataclass(frozen=True)
class Timing:
    name: str
    matches: int
    first_view_ms: float
    table_tab_ms: float
    charts_tab_ms: float


def time_filter(engine: Engine, name: str, filters: ChargeFilters, now: datetime) -> Timing:
    """Medians of 5 (after one warm-up): the summary and first page, then every query the page
    runs with the Charges tab open, and with the Charts tab open (only the open tab runs)."""

    def first_view() -> int:
        total = sum(s.count for s in currency_summaries(engine, ACCOUNT, filters, now))
        charges_page(engine, ACCOUNT, filters, now, total=total)
        return total

    def table_tab() -> None:
        with engine.connect() as connection:
            read_states(connection, ACCOUNT)
        apply_stored_events(engine, ACCOUNT)
        filter_choices(engine, ACCOUNT)
        first_view()

    def charts_tab() -> None:
        with engine.connect() as connection:
            read_states(connection, ACCOUNT)
        apply_stored_events(engine, ACCOUNT)
        filter_choices(engine, ACCOUNT)
        currency_summaries(engine, ACCOUNT, filters, now)
        daily_volume(engine, ACCOUNT, filters, now)
        failures_by_code(engine, ACCOUNT, filters, now)

    matches = first_view()
    return Timing(
        name, matches, _median_ms(first_view), _median_ms(table_tab), _median_ms(charts_tab)
    )


def _median_ms(run: Callable[[], object], repeats: int = 5) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def bench_filters(folder: Path, count: int) -> None:
    engine = create_db_engine(f"sqlite:///{folder / 'filters.db'}")
    migrate(engine)
    rng = random.Random(6)
    now = datetime.now(UTC)
    stamp = int(now.timestamp())
    customers = make_customers(rng, 2_000, stamp)
    charges = make_charges(rng, count, customers, stamp, span_days=365)
    started = time.perf_counter()
    with engine.begin() as connection:
        write_objects(connection, ACCOUNT, "customers", customers, stamp)
    for start in range(0, len(charges), 1_000):
        with engine.begin() as connection:
            write_objects(connection, ACCOUNT, "charges", charges[start : start + 1_000], stamp)
    refresh_planner_statistics(engine)  # as a sync does when it has written objects
    print(f"mirrored {count:,} charges in {time.perf_counter() - started:.1f} s")
    last_month_end = now.date().replace(day=1) - timedelta(days=1)
    cases = [
        ("last 30 days (default view)", ChargeFilters()),
        ("all time", ChargeFilters(preset="all")),
        ("all time, failed", ChargeFilters(preset="all", statuses=("failed",))),
        (
            "30 days, USD 10.00-50.00",
            ChargeFilters(currencies=("usd",), min_amount=Decimal(10), max_amount=Decimal(50)),
        ),
        ("all time, search 'blend'", ChargeFilters(preset="all", text="blend")),
        ("all time, customer 'smith'", ChargeFilters(preset="all", customer="smith")),
        (
            "all time, amex in USD",
            ChargeFilters(preset="all", brands=("amex",), currencies=("usd",)),
        ),
        ("all time, partly refunded", ChargeFilters(preset="all", refunded="partial")),
        ("all time, disputed", ChargeFilters(preset="all", disputed="yes")),
        (
            "last month by amount",
            ChargeFilters(preset="last_month", sort="amount", descending=False),
        ),
        (
            "custom range, one week",
            ChargeFilters(
                preset="custom", start=last_month_end - timedelta(days=6), end=last_month_end
            ),
        ),
        ("all time, page 1,000", ChargeFilters(preset="all", page=1_000)),
        ("no match", ChargeFilters(preset="all", text="no such charge")),
    ]
    columns = ("matches", "summary+page", "Charges tab", "Charts tab")
    print(
        f"{'filter change':32} {columns[0]:>8} {columns[1]:>13} {columns[2]:>12} {columns[3]:>11}"
    )
    for name, filters in cases:
        timing = time_filter(engine, name, filters, now)
        print(
            f"{timing.name:32} {timing.matches:>8,} {timing.first_view_ms:>10.1f} ms"
            f" {timing.table_tab_ms:>9.1f} ms {timing.charts_tab_ms:>8.1f} ms"
        )
    engine.dispose()


def bench_first_sync(folder: Path, count: int) -> None:
    rng = random.Random(7)
    stamp = int(time.time())
    customers = make_customers(rng, 500, stamp)
    account = DemoAccount(
        anchor=stamp,
        account={"id": "acct_bench"},
        customers=tuple(sorted(customers, key=lambda c: (c["created"], c["id"]), reverse=True)),
        charges=tuple(make_charges(rng, count, customers, stamp, span_days=365)),
        refunds=(),
        subscriptions=(),
        events=(),
    )
    transport = DemoStripeTransport(account, clock=lambda: stamp + 60)

    def answer(request: RecordedRequest) -> Reply:
        forwarded = httpx.Request(
            request.method,
            "https://api.stripe.com" + request.path,
            params=request.query,
            headers=dict(request.headers),
        )
        response = transport.handle_request(forwarded)
        return Reply(status=response.status_code, body=response.content, headers=response.headers)

    engine = create_db_engine(f"sqlite:///{folder / 'sync.db'}")
    migrate(engine)
    with LoopbackServer() as server:
        for resource in ("customers", "charges", "refunds", "subscriptions"):
            server.on(f"/v1/{resource}", answer)
        with StripeAdapter(base_url=server.url + "/v1") as adapter:
            report = sync_mirror(engine, ACCOUNT, adapter, ProviderCredentials(pat=DEMO_API_KEY))
        charge_requests = len(server.requests_to("/v1/charges"))
        total_requests = len(server.requests)
    print(
        f"first sync: {report.outcome}, {report.objects:,} objects ({count:,} charges) in "
        f"{report.elapsed:.1f} s; {total_requests} requests ({charge_requests} for charges)"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=100_000, help="mirrored charges")
    parser.add_argument("--sync-charges", type=int, default=10_000, help="charges to sync")
    args = parser.parse_args()
    print(f"SQLite, {date.today().isoformat()}")
    with tempfile.TemporaryDirectory() as folder:
        bench_filters(Path(folder), args.charges)
        bench_first_sync(Path(folder), args.sync_charges)


if __name__ == "__main__":
    main()
