"""The charges explorer's queries over an account's mirror: one filtered SQL query for rows,
per-currency totals, chart series and a charge's details. Amounts stay integer minor units.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lib.finance.filters import ChargeFilters, search_term
from lib.store.tables import mirror_charges, mirror_objects, mirror_refunds

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


def charge_conditions(
    account_key: str, filters: ChargeFilters, now: datetime
) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions for `filters` on this account's charges.

    Raises AmountError when the amount range cannot be applied (see ChargeFilters).
    """
    charges = mirror_charges.c
    conditions: list[sa.ColumnElement[bool]] = [charges.account_key == account_key]
    low, high = filters.time_bounds(now)
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
        conditions.append(charges.customer_text.contains(customer, autoescape=True))
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
        conditions.append(charges.search_text.contains(text, autoescape=True))
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
    pages = max(1, -(-total // page_size))
    page = min(filters.page, pages)
    statement = (
        sa.select(*(mirror_charges.c[name] for name in TABLE_COLUMNS))
        .where(*charge_conditions(account_key, filters, now))
        .order_by(*sort_order(filters))
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    rows: list[Any] = []
    if total:
        with engine.connect() as connection:
            rows = connection.execute(statement).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=list(TABLE_COLUMNS))
    for name in ("created", "amount", "amount_refunded"):
        frame[name] = frame[name].astype("int64")
    return ChargesPage(frame, total, page, page_size)


def currency_summaries(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> list[CurrencySummary]:
    """Per currency (alphabetical), the count and totals of the filtered charges, from one
    GROUP BY currency query."""
    charges = mirror_charges.c
    succeeded = charges.status == "succeeded"
    # An expression, not the bare column: grouping by the column makes SQLite walk the currency
    # index for its order and look up every row, several times slower than a covering scan.
    currency = sa.func.coalesce(charges.currency, "").label("currency")
    statement = (
        sa.select(
            currency,
            sa.func.count().label("count"),
            sa.func.sum(sa.case((succeeded, 1), else_=0)).label("succeeded"),
            sa.func.sum(sa.case((charges.status == "failed", 1), else_=0)).label("failed"),
            sa.func.sum(sa.case((succeeded, charges.amount), else_=0)).label("gross"),
            sa.func.sum(sa.case((succeeded, charges.amount_refunded), else_=0)).label("refunded"),
        )
        .where(*charge_conditions(account_key, filters, now))
        .group_by(currency)
        .order_by(currency)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    return [
        CurrencySummary(
            currency=row.currency,
            count=int(row.count),
            succeeded=int(row.succeeded),
            failed=int(row.failed),
            gross=int(row.gross),
            refunded=int(row.refunded),
        )
        for row in rows
    ]


def daily_volume(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> pd.DataFrame:
    """Gross succeeded volume per UTC day and currency: columns day (UTC timestamp), currency,
    gross (minor units). Days without volume inside the data's span are filled with 0."""
    charges = mirror_charges.c
    day = (charges.created - charges.created % DAY_SECONDS).label("day")
    statement = (
        sa.select(day, charges.currency, sa.func.sum(charges.amount).label("gross"))
        .where(*charge_conditions(account_key, filters, now), charges.status == "succeeded")
        .group_by(day, charges.currency)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    if not rows:
        return pd.DataFrame({"day": [], "currency": [], "gross": []})
    found = pd.DataFrame([tuple(row) for row in rows], columns=["day", "currency", "gross"])
    found["gross"] = found["gross"].astype("int64")
    days = range(int(found["day"].min()), int(found["day"].max()) + 1, DAY_SECONDS)
    grid = pd.MultiIndex.from_product(
        [list(days), sorted(found["currency"].unique())], names=["day", "currency"]
    )
    filled = found.set_index(["day", "currency"])["gross"].reindex(grid, fill_value=0)
    frame = filled.reset_index()
    frame["day"] = pd.to_datetime(frame["day"], unit="s", utc=True)
    return frame


def failures_by_code(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> pd.DataFrame:
    """Failed charges per `failure_code` (most frequent first): columns failure_code, count."""
    charges = mirror_charges.c
    code = sa.func.coalesce(charges.failure_code, "unknown").label("failure_code")
    statement = (
        sa.select(code, sa.func.count().label("count"))
        .where(*charge_conditions(account_key, filters, now), charges.status == "failed")
        .group_by(code)
        .order_by(sa.func.count().desc(), code)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=["failure_code", "count"])
    frame["count"] = frame["count"].astype("int64")
    return frame


def filter_choices(engine: Engine, account_key: str) -> tuple[list[str], list[str]]:
    """The currencies and card brands present in the account's charges, sorted."""
    charges = mirror_charges.c
    with engine.connect() as connection:
        currencies = connection.execute(
            sa.select(charges.currency)
            .where(charges.account_key == account_key)
            .distinct()
            .order_by(charges.currency)
        ).scalars()
        currency_list = list(currencies)
        brands = connection.execute(
            sa.select(charges.card_brand)
            .where(charges.account_key == account_key, charges.card_brand.is_not(None))
            .distinct()
            .order_by(charges.card_brand)
        ).scalars()
        return currency_list, list(brands)


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
