"""The charges explorer's queries over an account's mirror: one filtered SQL query for rows,
per-currency totals, chart series and a charge's details. Amounts stay integer minor units.

Totals and charts read the per-day totals (`mirror_charge_days`) for the whole UTC days of the
range when the filters are ones those totals keep (time, status, currency, brand, refunds,
disputes), and mirror_charges for the rest of the range and for every other filter; searches
go through the trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL). The results are those of
one query over mirror_charges.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lib.finance.filters import ChargeFilters, search_term
from lib.store.tables import (
    MIRROR_CHARGES_SEARCH,
    mirror_charge_days,
    mirror_charges,
    mirror_objects,
    mirror_refunds,
)

PAGE_SIZE = 50
DAY_SECONDS = 86_400
TABLE_COLUMNS = (
    "id",
    "created",
    "amount",
    "amount_refunded",
    "currency",
    "status",
    "customer_id",
    "customer_email",
    "customer_name",
    "description",
    "card_brand",
    "card_last4",
    "refunded",
    "disputed",
    "failure_code",
    "failure_message",
    "receipt_url",
    "livemode",
)
_SORT_COLUMNS = {
    "created": mirror_charges.c.created,
    "amount": mirror_charges.c.amount,
    "customer": sa.func.coalesce(mirror_charges.c.customer_email, mirror_charges.c.customer_name),
    "status": mirror_charges.c.status,
}


@dataclass(frozen=True)
class CurrencySummary:
    """Totals of the filtered charges in one currency (minor units; never mixed with others).

    Gross counts succeeded charges; refunded is what was refunded of them; net is gross minus
    refunded. The failure rate is failed / (succeeded + failed): pending charges are not
    decided yet, and None means there was nothing decided.
    """

    currency: str
    count: int
    succeeded: int
    failed: int
    gross: int
    refunded: int

    @property
    def net(self) -> int:
        return self.gross - self.refunded

    @property
    def failure_rate(self) -> Fraction | None:
        decided = self.succeeded + self.failed
        return Fraction(self.failed, decided) if decided else None


@dataclass(frozen=True)
class ChargesPage:
    """One page of the filtered charges, and how many match in all."""

    rows: pd.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class ChargeDetail:
    """Everything the detail panel shows: the stored charge, its refunds and its customer."""

    charge: dict[str, Any]
    refunds: list[dict[str, Any]]
    customer: dict[str, Any] | None


Bounds = tuple[int | None, int | None]
"""[start, end) in unix seconds; None is unbounded."""
_search_indexes: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()
MIN_INDEXED_SEARCH = 3
"""Characters a search term needs for the trigram index; shorter ones scan the charges."""


def charge_conditions(
    account_key: str,
    filters: ChargeFilters,
    now: datetime,
    *,
    bounds: Bounds | None = None,
    search_index: bool = False,
) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions for `filters` on this account's charges; `bounds` replaces the
    filters' time range, and `search_index` (SQLite with the FTS5 index, see
    `has_search_index`) narrows searches through that index first.

    Raises AmountError when the amount range cannot be applied (see ChargeFilters).
    """
    charges = mirror_charges.c
    conditions: list[sa.ColumnElement[bool]] = [charges.account_key == account_key]
    low, high = filters.time_bounds(now) if bounds is None else bounds
    if low is not None:
        conditions.append(charges.created >= low)
    if high is not None:
        conditions.append(charges.created < high)
    if filters.statuses:
        conditions.append(charges.status.in_(filters.statuses))
    if filters.currencies:
        conditions.append(charges.currency.in_(filters.currencies))
    minimum, maximum = filters.amount_bounds()
    if minimum is not None:
        conditions.append(charges.amount >= minimum)
    if maximum is not None:
        conditions.append(charges.amount <= maximum)
    if customer := search_term(filters.customer):
        conditions.extend(_contains(charges.customer_text, customer, search_index))
    if filters.brands:
        conditions.append(charges.card_brand.in_(filters.brands))
    if filters.refunded == "full":
        conditions.append(charges.refunded.is_(True))
    elif filters.refunded == "partial":
        conditions.extend([charges.amount_refunded > 0, charges.refunded.is_(False)])
    elif filters.refunded == "none":
        conditions.append(charges.amount_refunded == 0)
    if filters.disputed != "any":
        conditions.append(charges.disputed.is_(filters.disputed == "yes"))
    if text := search_term(filters.text):
        conditions.extend(_contains(charges.search_text, text, search_index))
    return conditions


def _contains(
    column: sa.Column[str], term: str, search_index: bool
) -> list[sa.ColumnElement[bool]]:
    """`column` contains `term`; with `search_index`, only among the rows whose trigrams the
    FTS5 index finds (a superset: its case folding is per character), then checked by LIKE."""
    found = column.contains(term, autoescape=True)
    if not search_index or len(term) < MIN_INDEXED_SEARCH:
        return [found]
    phrase = '"' + term.replace('"', '""') + '"'
    index = sa.table(MIRROR_CHARGES_SEARCH)
    matching = (
        sa.select(sa.literal_column("rowid"))
        .select_from(index)
        .where(sa.literal_column(MIRROR_CHARGES_SEARCH).op("MATCH")(f"{column.name} : {phrase}"))
    )
    return [sa.literal_column(f"{mirror_charges.name}.rowid").in_(matching), found]


def has_search_index(engine: Engine) -> bool:
    """Whether this database is SQLite with the FTS5 trigram index of charges (migration 8
    creates it where SQLite has FTS5); PostgreSQL's pg_trgm indexes need no query change."""
    if engine.dialect.name != "sqlite":
        return False
    found = _search_indexes.get(engine)
    if found is None:
        with engine.connect() as connection:
            found = sa.inspect(connection).has_table(MIRROR_CHARGES_SEARCH)
        _search_indexes[engine] = found
    return found


@dataclass(frozen=True)
class TimeSlices:
    """A filtered range cut for reading: whole UTC days from the per-day totals, the rest
    (at most a part-day at each end) from mirror_charges."""

    days: Bounds | None
    """[first day, end) read from mirror_charge_days; None when the totals cannot answer."""
    rows: list[Bounds] = field(default_factory=list)
    """Ranges read from mirror_charges."""


def time_slices(filters: ChargeFilters, now: datetime) -> TimeSlices:
    """How `filters`' range is read: through the per-day totals when they keep every filter
    set (no amount range, no search, no brand ''), else wholly from mirror_charges."""
    low, high = filters.time_bounds(now)
    kept = (
        filters.min_amount is None
        and filters.max_amount is None
        and not search_term(filters.customer)
        and not search_term(filters.text)
        and "" not in filters.brands
    )
    first = None if low is None else -(-low // DAY_SECONDS) * DAY_SECONDS
    end = None if high is None else high // DAY_SECONDS * DAY_SECONDS
    if not kept or (first is not None and end is not None and first >= end):
        return TimeSlices(None, [(low, high)])
    edges: list[Bounds] = []
    if low is not None and first is not None and low < first:
        edges.append((low, first))
    if high is not None and end is not None and end < high:
        edges.append((end, high))
    return TimeSlices((first, end), edges)


def day_conditions(
    account_key: str, filters: ChargeFilters, days: Bounds
) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions for `filters` on the per-day totals of the whole days `days`
    (only for filters `time_slices` lets through)."""
    totals = mirror_charge_days.c
    conditions: list[sa.ColumnElement[bool]] = [totals.account_key == account_key]
    first, end = days
    if first is not None:
        conditions.append(totals.day >= first)
    if end is not None:
        conditions.append(totals.day < end)
    if filters.statuses:
        conditions.append(totals.status.in_(filters.statuses))
    if filters.currencies:
        conditions.append(totals.currency.in_(filters.currencies))
    if filters.brands:
        conditions.append(totals.card_brand.in_(filters.brands))
    if filters.refunded == "full":
        conditions.append(totals.refunded.is_(True))
    elif filters.refunded == "partial":
        conditions.extend([totals.refund_sign == 1, totals.refunded.is_(False)])
    elif filters.refunded == "none":
        conditions.append(totals.refund_sign == 0)
    if filters.disputed != "any":
        conditions.append(totals.disputed.is_(filters.disputed == "yes"))
    return conditions


def sort_order(filters: ChargeFilters) -> list[Any]:
    """ORDER BY for the chosen sort, then the charge id, so pages never overlap.

    Amounts are compared within a currency only: by amount means by currency (A to Z), then
    amount, since 64.450 KWD and ¥63,000 cannot be ranked by their minor units.
    """
    direction = sa.desc if filters.descending else sa.asc
    order = [direction(_SORT_COLUMNS[filters.sort]), direction(mirror_charges.c.id)]
    if filters.sort == "amount":
        order.insert(0, mirror_charges.c.currency.asc())
    return order


def page_statement(
    engine: Engine,
    account_key: str,
    filters: ChargeFilters,
    now: datetime,
    *,
    total: int,
    page_size: int = PAGE_SIZE,
) -> sa.Select[Any]:
    """The query of `charges_page`."""
    pages = max(1, -(-total // page_size))
    page = min(filters.page, pages)
    conditions = charge_conditions(account_key, filters, now, search_index=has_search_index(engine))
    return (
        sa.select(*(mirror_charges.c[name] for name in TABLE_COLUMNS))
        .where(*conditions)
        .order_by(*sort_order(filters))
        .limit(page_size)
        .offset((page - 1) * page_size)
    )


def charges_page(
    engine: Engine,
    account_key: str,
    filters: ChargeFilters,
    now: datetime,
    *,
    total: int,
    page_size: int = PAGE_SIZE,
) -> ChargesPage:
    """The page `filters.page` (clamped to the last page) of the filtered charges, sorted by
    `filters.sort` then id; `total` is the match count, from the summary."""
    page = min(filters.page, max(1, -(-total // page_size)))
    statement = page_statement(engine, account_key, filters, now, total=total, page_size=page_size)
    rows: list[Any] = []
    if total:
        with engine.connect() as connection:
            rows = connection.execute(statement).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(TABLE_COLUMNS))
    for name in ("created", "amount", "amount_refunded"):
        frame[name] = frame[name].astype("int64")
    return ChargesPage(frame, total, page, page_size)


def summary_statements(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> list[sa.Select[Any]]:
    """The queries of `currency_summaries`: per currency, charges, succeeded, failed, gross,
    refunded and unsummed (see mirror_charge_days), from the per-day totals first if used."""
    slices = time_slices(filters, now)
    statements = []
    if slices.days is not None:
        totals = mirror_charge_days.c
        succeeded = totals.status == "succeeded"
        statements.append(
            sa.select(
                totals.currency,
                sa.func.sum(totals.charges).label("count"),
                sa.func.sum(sa.case((succeeded, totals.charges), else_=0)).label("succeeded"),
                sa.func.sum(sa.case((totals.status == "failed", totals.charges), else_=0)).label(
                    "failed"
                ),
                sa.func.sum(sa.case((succeeded, totals.amount), else_=0)).label("gross"),
                sa.func.sum(sa.case((succeeded, totals.amount_refunded), else_=0)).label(
                    "refunded"
                ),
                sa.func.sum(totals.unsummed).label("unsummed"),
            )
            .where(*day_conditions(account_key, filters, slices.days))
            .group_by(totals.currency)
        )
    search_index = has_search_index(engine)
    for bounds in slices.rows:
        statements.append(_rows_summary(account_key, filters, now, bounds, search_index))
    return statements


def _rows_summary(
    account_key: str, filters: ChargeFilters, now: datetime, bounds: Bounds, search_index: bool
) -> sa.Select[Any]:
    charges = mirror_charges.c
    succeeded = charges.status == "succeeded"
    # An expression, not the bare column: grouping by the column makes SQLite walk the currency
    # index for its order and look up every row, several times slower than a covering scan.
    currency = sa.func.coalesce(charges.currency, "").label("currency")
    conditions = charge_conditions(
        account_key, filters, now, bounds=bounds, search_index=search_index
    )
    return (
        sa.select(
            currency,
            sa.func.count().label("count"),
            sa.func.sum(sa.case((succeeded, 1), else_=0)).label("succeeded"),
            sa.func.sum(sa.case((charges.status == "failed", 1), else_=0)).label("failed"),
            sa.func.sum(sa.case((succeeded, charges.amount), else_=0)).label("gross"),
            sa.func.sum(sa.case((succeeded, charges.amount_refunded), else_=0)).label("refunded"),
            sa.literal(0).label("unsummed"),
        )
        .where(*conditions)
        .group_by(currency)
    )


def currency_summaries(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> list[CurrencySummary]:
    """Per currency (alphabetical), the count and totals of the filtered charges."""
    statements = summary_statements(engine, account_key, filters, now)
    with engine.connect() as connection:
        rows = [row for statement in statements for row in connection.execute(statement)]
        if any(row.unsummed for row in rows):
            # Amounts too large for the per-day totals: total these charges one by one.
            whole = filters.time_bounds(now)
            statement = _rows_summary(account_key, filters, now, whole, has_search_index(engine))
            rows = list(connection.execute(statement))
    totals: dict[str, list[int]] = {}
    for row in rows:
        found = totals.setdefault(row.currency, [0, 0, 0, 0, 0])
        for index, value in enumerate((row.count, row.succeeded, row.failed, row.gross)):
            found[index] += int(value)
        found[4] += int(row.refunded)
    return [
        CurrencySummary(currency, count, succeeded, failed, gross, refunded)
        for currency, (count, succeeded, failed, gross, refunded) in sorted(totals.items())
        if count
    ]


def _floor_day(seconds: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """The first second of the UTC day of `seconds` (before 1970 too)."""
    return seconds - ((seconds % DAY_SECONDS) + DAY_SECONDS) % DAY_SECONDS


def daily_volume(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> pd.DataFrame:
    """Gross succeeded volume per UTC day and currency: columns day (UTC timestamp), currency,
    gross (minor units). Days without volume inside the data's span are filled with 0."""
    slices = time_slices(filters, now)
    statements: list[sa.Select[Any]] = []
    if slices.days is not None:
        totals = mirror_charge_days.c
        statements.append(
            sa.select(
                totals.day,
                totals.currency,
                sa.func.sum(totals.amount).label("gross"),
                sa.func.sum(totals.unsummed).label("unsummed"),
            )
            .where(*day_conditions(account_key, filters, slices.days), totals.status == "succeeded")
            .group_by(totals.day, totals.currency)
        )
    search_index = has_search_index(engine)
    statements += [
        _rows_volume(account_key, filters, now, bounds, search_index) for bounds in slices.rows
    ]
    with engine.connect() as connection:
        rows = [row for statement in statements for row in connection.execute(statement)]
        if any(row.unsummed for row in rows):
            whole = filters.time_bounds(now)
            rows = list(
                connection.execute(_rows_volume(account_key, filters, now, whole, search_index))
            )
    volume: dict[tuple[int, str], int] = {}
    for row in rows:
        key = (int(row.day), row.currency)
        volume[key] = volume.get(key, 0) + int(row.gross)
    if not volume:
        return pd.DataFrame({"day": [], "currency": [], "gross": []})
    found = pd.DataFrame(
        [(day, currency, gross) for (day, currency), gross in volume.items()],
        columns=["day", "currency", "gross"],
    )
    found["gross"] = found["gross"].astype("int64")
    days = range(int(found["day"].min()), int(found["day"].max()) + 1, DAY_SECONDS)
    grid = pd.MultiIndex.from_product(
        [list(days), sorted(found["currency"].unique())], names=["day", "currency"]
    )
    filled = found.set_index(["day", "currency"])["gross"].reindex(grid, fill_value=0)
    frame = filled.reset_index()
    frame["day"] = pd.to_datetime(frame["day"], unit="s", utc=True)
    return frame


def _rows_volume(
    account_key: str, filters: ChargeFilters, now: datetime, bounds: Bounds, search_index: bool
) -> sa.Select[Any]:
    charges = mirror_charges.c
    day = _floor_day(charges.created).label("day")
    conditions = charge_conditions(
        account_key, filters, now, bounds=bounds, search_index=search_index
    )
    return (
        sa.select(
            day,
            charges.currency,
            sa.func.sum(charges.amount).label("gross"),
            sa.literal(0).label("unsummed"),
        )
        .where(*conditions, charges.status == "succeeded")
        .group_by(day, charges.currency)
    )


def failures_by_code(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> pd.DataFrame:
    """Failed charges per `failure_code` (most frequent first): columns failure_code, count."""
    slices = time_slices(filters, now)
    statements: list[sa.Select[Any]] = []
    if slices.days is not None:
        totals = mirror_charge_days.c
        statements.append(
            sa.select(totals.failure_code, sa.func.sum(totals.charges).label("count"))
            .where(*day_conditions(account_key, filters, slices.days), totals.status == "failed")
            .group_by(totals.failure_code)
        )
    charges = mirror_charges.c
    code = sa.func.coalesce(charges.failure_code, "unknown").label("failure_code")
    search_index = has_search_index(engine)
    for bounds in slices.rows:
        conditions = charge_conditions(
            account_key, filters, now, bounds=bounds, search_index=search_index
        )
        statements.append(
            sa.select(code, sa.func.count().label("count"))
            .where(*conditions, charges.status == "failed")
            .group_by(code)
        )
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for statement in statements:
            for row in connection.execute(statement):
                counts[row.failure_code] = counts.get(row.failure_code, 0) + int(row.count)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    frame = pd.DataFrame(ranked, columns=["failure_code", "count"])
    frame["count"] = frame["count"].astype("int64")
    return frame


def filter_choices(engine: Engine, account_key: str) -> tuple[list[str], list[str]]:
    """The currencies and card brands present in the account's charges, sorted."""
    totals = mirror_charge_days.c
    with engine.connect() as connection:
        currencies = connection.execute(
            sa.select(totals.currency).where(totals.account_key == account_key).distinct()
        ).scalars()
        brands = set(
            connection.execute(
                sa.select(totals.card_brand)
                .where(totals.account_key == account_key, totals.card_brand != "")
                .distinct()
            ).scalars()
        )
        # The totals keep "no brand" and a brand '' apart: ask the charges whether '' is one.
        charges = mirror_charges.c
        empty = connection.execute(
            sa.select(charges.id)
            .where(charges.account_key == account_key, charges.card_brand == "")
            .limit(1)
        ).first()
        if empty is not None:
            brands.add("")
        return sorted(currencies), sorted(brands)


def charge_detail(engine: Engine, account_key: str, charge_id: str) -> ChargeDetail | None:
    """The stored charge with its refunds (oldest first) and customer; None if not mirrored."""
    objects = mirror_objects.c
    with engine.connect() as connection:
        charge = _mirrored_object(connection, account_key, "charge", charge_id)
        if charge is None:
            return None
        refund_rows = connection.execute(
            sa.select(objects.raw)
            .join(
                mirror_refunds,
                sa.and_(
                    mirror_refunds.c.account_key == objects.account_key,
                    mirror_refunds.c.id == objects.id,
                ),
            )
            .where(
                objects.account_key == account_key,
                objects.object_type == "refund",
                mirror_refunds.c.charge_id == charge_id,
            )
            .order_by(mirror_refunds.c.created, mirror_refunds.c.id)
        ).scalars()
        refunds = [json.loads(text) for text in refund_rows]
        customer = None
        customer_id = charge.get("customer")
        if isinstance(customer_id, dict):
            customer_id = customer_id.get("id")
        if isinstance(customer_id, str):
            customer = _mirrored_object(connection, account_key, "customer", customer_id)
    return ChargeDetail(charge, refunds, customer)


def _mirrored_object(
    connection: Connection, account_key: str, object_type: str, object_id: str
) -> dict[str, Any] | None:
    objects = mirror_objects.c
    raw = connection.execute(
        sa.select(objects.raw).where(
            objects.account_key == account_key,
            objects.object_type == object_type,
            objects.id == object_id,
        )
    ).scalar_one_or_none()
    return None if raw is None else json.loads(raw)


def dashboard_url(charge_id: str, livemode: bool) -> str:
    """The charge's page in the Stripe Dashboard (under /test/ for test-mode charges)."""
    mode = "" if livemode else "test/"
    return f"https://dashboard.stripe.com/{mode}payments/{charge_id}"
