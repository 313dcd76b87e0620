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
WALK_ABOVE = 20_000
"""Matches of a search above which a page walks the sort's index and looks each charge up in
the search's matches, instead of sorting all of them."""


def charge_conditions(
    account_key: str,
    filters: ChargeFilters,
    now: datetime,
    *,
    bounds: Bounds | None = None,
    search_index: bool = False,
    walk: bool = False,
    amount_index: bool = True,
) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions for `filters` on this account's charges; `bounds` replaces the
    filters' time range, and `search_index` (SQLite with the FTS5 index, see
    `has_search_index`) narrows searches through that index first: reading the matches one by
    one, or with `walk` as a set that rows found by another index are looked up in. Without
    `amount_index` an amount range is checked on the rows another index finds (SQLite would
    otherwise read a wide amount range through the amount sort's index, row by row).

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
    # "+ 0": the same number, but no index can be searched by it.
    amount = charges.amount if amount_index else charges.amount + 0
    if minimum is not None:
        conditions.append(amount >= minimum)
    if maximum is not None:
        conditions.append(amount <= maximum)
    if customer := search_term(filters.customer):
        conditions.extend(_contains(charges.customer_text, customer, search_index, walk))
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
        conditions.extend(_contains(charges.search_text, text, search_index, walk))
    return conditions


def _contains(
    column: sa.Column[str], term: str, search_index: bool, walk: bool
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
    # SQLite uses no index for a term under unary +: the matches become a set to look up in.
    rowid = f"{'+' if walk else ''}{mirror_charges.name}.rowid"
    return [sa.literal_column(rowid).in_(matching), found]


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
    search_index = has_search_index(engine)
    walk = total > WALK_ABOVE
    amount_index = filters.sort == "amount"
    conditions = charge_conditions(
        account_key,
        filters,
        now,
        search_index=search_index,
        walk=walk,
        amount_index=amount_index,
    )
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


@dataclass(frozen=True)
class ChargeGroup:
    """The filtered charges of one UTC day, currency and status (failed ones also per failure
    code, 'unknown' for none): how many, and their amounts and refunded amounts summed."""

    day: int | None
    """The day's first second (UTC); None when grouped over the whole range."""
    currency: str
    status: str
    failure_code: str | None
    count: int
    amount: int
    amount_refunded: int


def group_statements(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime, *, by_day: bool
) -> list[sa.Select[Any]]:
    """The queries of `charge_groups`: the per-day totals of the whole days first when they
    can answer, then the charges of the rest of the range."""
    slices = time_slices(filters, now)
    statements = []
    if slices.days is not None:
        totals = mirror_charge_days.c
        code = sa.case((totals.status == "failed", totals.failure_code)).label("failure_code")
        day = totals.day if by_day else sa.null()
        statements.append(
            sa.select(
                day.label("day"),
                totals.currency,
                totals.status,
                code,
                sa.func.sum(totals.charges).label("count"),
                sa.func.sum(totals.amount).label("amount"),
                sa.func.sum(totals.amount_refunded).label("amount_refunded"),
                sa.func.sum(totals.unsummed).label("unsummed"),
            )
            .where(*day_conditions(account_key, filters, slices.days))
            .group_by(*([totals.day] if by_day else []), totals.currency, totals.status, code)
        )
    search_index = has_search_index(engine)
    for bounds in slices.rows:
        statements.append(_rows_groups(account_key, filters, now, bounds, search_index, by_day))
    return statements


def _rows_groups(
    account_key: str,
    filters: ChargeFilters,
    now: datetime,
    bounds: Bounds,
    search_index: bool,
    by_day: bool,
) -> sa.Select[Any]:
    charges = mirror_charges.c
    day = _floor_day(charges.created) if by_day else sa.null()
    # Only failed charges read failure_code: the others are counted from the covering index.
    code = sa.case(
        (charges.status == "failed", sa.func.coalesce(charges.failure_code, "unknown"))
    ).label("failure_code")
    conditions = charge_conditions(
        account_key, filters, now, bounds=bounds, search_index=search_index, amount_index=False
    )
    return (
        sa.select(
            day.label("day"),
            charges.currency,
            charges.status,
            code,
            sa.func.count().label("count"),
            sa.func.sum(charges.amount).label("amount"),
            sa.func.sum(charges.amount_refunded).label("amount_refunded"),
            sa.literal(0).label("unsummed"),
        )
        .where(*conditions)
        .group_by(*([day] if by_day else []), charges.currency, charges.status, code)
    )


def charge_groups(
    engine: Engine,
    account_key: str,
    filters: ChargeFilters,
    now: datetime,
    *,
    by_day: bool = True,
) -> list[ChargeGroup]:
    """The filtered charges per UTC day (unless not `by_day`: the summary needs no days),
    currency, status and failure code: what the summary and the charts are made of
    (`summaries_of`, `volume_of` which needs days, `failures_of`)."""
    statements = group_statements(engine, account_key, filters, now, by_day=by_day)
    with engine.connect() as connection:
        rows = [row for statement in statements for row in connection.execute(statement)]
        if any(row.unsummed for row in rows):
            # Amounts too large for the per-day totals: count these charges one by one.
            bounds, search_index = filters.time_bounds(now), has_search_index(engine)
            whole = _rows_groups(account_key, filters, now, bounds, search_index, by_day)
            rows = list(connection.execute(whole))
    merged: dict[tuple[int | None, str, str, str | None], list[int]] = {}
    for row in rows:
        key = (
            None if row.day is None else int(row.day),
            row.currency,
            row.status,
            row.failure_code,
        )
        found = merged.setdefault(key, [0, 0, 0])
        found[0] += int(row.count)
        found[1] += int(row.amount)
        found[2] += int(row.amount_refunded)
    return [
        ChargeGroup(day, currency, status, code, count, amount, refunded)
        for (day, currency, status, code), (count, amount, refunded) in merged.items()
        if count
    ]


def summaries_of(groups: list[ChargeGroup]) -> list[CurrencySummary]:
    """Per currency (alphabetical), the count and totals of the grouped charges."""
    totals: dict[str, list[int]] = {}
    for group in groups:
        found = totals.setdefault(group.currency, [0, 0, 0, 0, 0])
        succeeded = group.status == "succeeded"
        found[0] += group.count
        found[1] += group.count if succeeded else 0
        found[2] += group.count if group.status == "failed" else 0
        found[3] += group.amount if succeeded else 0
        found[4] += group.amount_refunded if succeeded else 0
    return [CurrencySummary(currency, *values) for currency, values in sorted(totals.items())]


def volume_of(groups: list[ChargeGroup]) -> pd.DataFrame:
    """Gross succeeded volume per UTC day and currency: columns day (UTC timestamp), currency,
    gross (minor units). Days without volume inside the data's span are filled with 0."""
    volume: dict[tuple[int, str], int] = {}
    for group in groups:
        if group.day is None:
            raise ValueError("volume_of needs charges grouped by day")
        if group.status == "succeeded":
            key = (group.day, group.currency)
            volume[key] = volume.get(key, 0) + group.amount
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


def failures_of(groups: list[ChargeGroup]) -> pd.DataFrame:
    """Failed charges per `failure_code` (most frequent first): columns failure_code, count."""
    counts: dict[str, int] = {}
    for group in groups:
        if group.status == "failed" and group.failure_code is not None:
            counts[group.failure_code] = counts.get(group.failure_code, 0) + group.count
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    frame = pd.DataFrame(ranked, columns=["failure_code", "count"])
    frame["count"] = frame["count"].astype("int64")
    return frame


def currency_summaries(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> list[CurrencySummary]:
    """Per currency (alphabetical), the count and totals of the filtered charges."""
    return summaries_of(charge_groups(engine, account_key, filters, now, by_day=False))


def daily_volume(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> pd.DataFrame:
    """Gross succeeded volume per UTC day and currency (see `volume_of`)."""
    return volume_of(charge_groups(engine, account_key, filters, now))


def failures_by_code(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> pd.DataFrame:
    """Failed charges per `failure_code` (see `failures_of`)."""
    return failures_of(charge_groups(engine, account_key, filters, now))


def _floor_day(seconds: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """The first second of the UTC day of `seconds` (before 1970 too)."""
    return seconds - ((seconds % DAY_SECONDS) + DAY_SECONDS) % DAY_SECONDS


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
