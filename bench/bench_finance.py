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
import bisect
import itertools
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

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
from lib.sync.records import search_text
from lib.sync.store import refresh_planner_statistics
from tests.loopback_server import LoopbackServer, RecordedRequest, Reply
from tests.mirror_support import record_synced

ACCOUNT = "bench"
FILTER_ACCOUNT = "demo"
"""The filters' mirror is the demo account's copy, so `streamlit run app.py` (no Stripe key)
serves it as it is."""
KEPT_FOLDER = Path(__file__).resolve().parent / ".data"
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


CHARGE_COLUMNS = (
    "account_key",
    "id",
    "created",
    "amount",
    "amount_refunded",
    "currency",
    "status",
    "customer_id",
    "customer_email",
    "customer_name",
    "customer_text",
    "search_text",
    "description",
    "refunded",
    "disputed",
    "card_brand",
    "card_last4",
    "failure_code",
    "failure_message",
    "receipt_url",
    "livemode",
    "state_at",
)
INSERT_BATCH = 20_000


def charge_rows(
    rng: random.Random,
    count: int,
    customers: list[dict[str, Any]],
    now: int,
    span_days: int,
    account_key: str = FILTER_ACCOUNT,
) -> Iterator[tuple[Any, ...]]:
    """`mirror_charges` rows (CHARGE_COLUMNS) of charges spread as `make_charges` spreads them,
    made directly (no JSON), for a fast bulk insert of a large mirror."""
    codes, weights = zip(*CURRENCIES, strict=True)
    brands, brand_weights = zip(*BRANDS, strict=True)
    currency_at = list(itertools.accumulate(weights))
    brand_at = list(itertools.accumulate(brand_weights))
    for number in range(count):
        currency = codes[bisect.bisect(currency_at, rng.random() * currency_at[-1])]
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
        customer = customers[rng.randrange(len(customers))]
        charge_id = f"ch_{number:024d}"
        brand = brands[bisect.bisect(brand_at, rng.random() * brand_at[-1])]
        email, name = customer["email"], customer["name"]
        description = PRODUCTS[rng.randrange(len(PRODUCTS))]
        yield (
            account_key,
            charge_id,
            now - int(span_days * 86_400 * rng.random() ** 1.2),
            amount,
            refunded,
            currency,
            status,
            customer["id"],
            email,
            name,
            search_text(email, name),
            search_text(charge_id, email, description),
            description,
            refunded == amount,
            status == "succeeded" and rng.random() < 0.01,
            brand,
            f"{rng.randint(0, 9999):04d}",
            FAILURES[rng.randrange(len(FAILURES))] if status == "failed" else None,
            "Your card was declined." if status == "failed" else None,
            f"https://pay.stripe.com/receipts/payment/{charge_id}?s=ap",
            False,
            now,
        )


@dataclass(frozen=True)
class BenchDatabase:
    """A mirror of `charges` charges generated at `anchor` (unix seconds) under FILTER_ACCOUNT."""

    engine: Engine
    charges: int
    anchor: int
    generated_in: float | None
    """Seconds the generation took; None when an earlier run's database was reused."""
    migrated_in: float


_bench_meta = sa.Table(
    "bench_finance_generated",
    sa.MetaData(),
    sa.Column("charges", sa.BigInteger(), nullable=False),
    sa.Column("anchor", sa.BigInteger(), nullable=False),
)


def open_bench_database(url: str, count: int, *, reuse: bool) -> BenchDatabase:
    """The database at `url` migrated to the latest version and holding `count` generated
    charges: generated now unless `reuse` and an earlier run left exactly that."""
    engine = create_db_engine(url)
    found = _generated(engine) if reuse else None
    if found is not None and found[0] == count:
        started = time.perf_counter()
        migrate(engine)  # an older schema's data: the same steps the app takes on start
        migrated_in = time.perf_counter() - started
        refresh_planner_statistics(engine)
        return BenchDatabase(engine, count, found[1], None, migrated_in)
    _empty(engine)
    started = time.perf_counter()
    migrate(engine)
    migrated_in = time.perf_counter() - started
    started = time.perf_counter()
    anchor = int(time.time())
    generate_mirror(engine, count, anchor)
    with engine.begin() as connection:
        _bench_meta.create(connection)
        connection.execute(_bench_meta.insert().values(charges=count, anchor=anchor))
    return BenchDatabase(engine, count, anchor, time.perf_counter() - started, migrated_in)


def generate_mirror(engine: Engine, count: int, anchor: int) -> None:
    """`count` charges over 365 days and 2,000 customers under FILTER_ACCOUNT, the copy marked
    synced (so an app serving it starts no sync), planner statistics refreshed."""
    rng = random.Random(6)
    customers = make_customers(rng, 2_000, anchor)
    with engine.begin() as connection:
        write_objects(connection, FILTER_ACCOUNT, "customers", customers, anchor)
        record_synced(connection, FILTER_ACCOUNT)
    rows = charge_rows(rng, count, customers, anchor, span_days=365)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            names = ", ".join(CHARGE_COLUMNS)
            with cursor.copy(f"COPY mirror_charges ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in CHARGE_COLUMNS)
            insert = f"INSERT INTO mirror_charges ({', '.join(CHARGE_COLUMNS)}) VALUES ({marks})"
            cursor.execute("BEGIN IMMEDIATE")
            while batch := list(itertools.islice(rows, INSERT_BATCH)):
                cursor.executemany(insert, batch)
        raw.commit() if engine.dialect.name == "postgresql" else cursor.execute("COMMIT")
    finally:
        raw.close()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    refresh_planner_statistics(engine)


def _generated(engine: Engine) -> tuple[int, int] | None:
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(_bench_meta.name):
            return None
        row = connection.execute(sa.select(_bench_meta.c.charges, _bench_meta.c.anchor)).first()
    return None if row is None else (int(row.charges), int(row.anchor))


def _empty(engine: Engine) -> None:
    """Drop every table (a reused file or schema holding something else)."""
    reflected = sa.MetaData()
    with engine.begin() as connection:
        reflected.reflect(connection)
        reflected.drop_all(connection)


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
        total = sum(s.count for s in currency_summaries(engine, FILTER_ACCOUNT, filters, now))
        charges_page(engine, FILTER_ACCOUNT, filters, now, total=total)
        return total

    def table_tab() -> None:
        with engine.connect() as connection:
            read_states(connection, FILTER_ACCOUNT)
        apply_stored_events(engine, FILTER_ACCOUNT)
        filter_choices(engine, FILTER_ACCOUNT)
        first_view()

    def charts_tab() -> None:
        with engine.connect() as connection:
            read_states(connection, FILTER_ACCOUNT)
        apply_stored_events(engine, FILTER_ACCOUNT)
        filter_choices(engine, FILTER_ACCOUNT)
        currency_summaries(engine, FILTER_ACCOUNT, filters, now)
        daily_volume(engine, FILTER_ACCOUNT, filters, now)
        failures_by_code(engine, FILTER_ACCOUNT, filters, now)

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


def filter_cases(now: datetime) -> list[tuple[str, ChargeFilters]]:
    """The filter changes timed: the default view, then one change of each kind."""
    last_month_end = now.date().replace(day=1) - timedelta(days=1)
    return [
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


def bench_filters(database: BenchDatabase) -> None:
    engine = database.engine
    now = datetime.fromtimestamp(database.anchor + 60, UTC)
    if database.generated_in is None:
        print(f"reused {database.charges:,} mirrored charges (generated earlier)")
    else:
        print(f"generated {database.charges:,} mirrored charges in {database.generated_in:.1f} s")
    print(f"migrations on start: {database.migrated_in:.2f} s")
    columns = ("matches", "summary+page", "Charges tab", "Charts tab")
    print(
        f"{'filter change':32} {columns[0]:>9} {columns[1]:>13} {columns[2]:>12} {columns[3]:>11}"
    )
    for name, filters in filter_cases(now):
        timing = time_filter(engine, name, filters, now)
        print(
            f"{timing.name:32} {timing.matches:>9,} {timing.first_view_ms:>10.1f} ms"
            f" {timing.table_tab_ms:>9.1f} ms {timing.charts_tab_ms:>8.1f} ms"
        )


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


def bench_database_url(dialect: str, count: int, folder: Path) -> str:
    """Where the generated mirror lives: a SQLite file in `folder`, or a schema of its own on
    the PostgreSQL server of BENCH_POSTGRES_URL (default: the test server)."""
    if dialect == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / f'finance-{count}.db'}"
    server = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
    schema = f"bench_finance_{count}"
    libpq = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, default=1_000_000, help="mirrored charges")
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql"), default="sqlite", help="where to mirror"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help=f"keep the generated mirror ({KEPT_FOLDER} or schema bench_finance_<charges>) "
        "and reuse it on the next run",
    )
    parser.add_argument(
        "--sync-charges", type=int, default=10_000, help="charges to sync (0: skip the sync)"
    )
    args = parser.parse_args()
    print(f"{args.database}, {date.today().isoformat()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        folder = KEPT_FOLDER if args.reuse else Path(scratch)
        url = bench_database_url(args.database, args.charges, folder)
        database = open_bench_database(url, args.charges, reuse=args.reuse)
        try:
            bench_filters(database)
        finally:
            database.engine.dispose()
        if args.sync_charges:
            bench_first_sync(Path(scratch), args.sync_charges)


if __name__ == "__main__":
    main()
