"""The per-day charge totals and the trigram search agree with the charges themselves, on
SQLite and PostgreSQL: after sync writes, events (refunds, disputes, status changes), contact
changes, deleting a copy, and migrating a database that already held charges."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import lib.finance.charges
from lib.finance import (
    ChargeFilters,
    charges_page,
    currency_summaries,
    daily_volume,
    failures_by_code,
    filter_choices,
)
from lib.finance.charges import DAY_SECONDS, WALK_ABOVE
from lib.store import create_db_engine, migrate
from lib.store.tables import mirror_charge_days, mirror_charges
from lib.sync import write_objects
from lib.sync.events import apply_event
from lib.sync.forget import delete_local_copy
from tests.mirror_support import charge_object

NOW = datetime(2026, 11, 15, 13, 30, 15, tzinfo=UTC)
STAMP = int(NOW.timestamp())
ACCOUNT = "acct-a"
OTHER = "acct-b"
DAY_KEY = tuple(column.name for column in mirror_charge_days.primary_key.columns)[1:]
FILTERS = [
    ChargeFilters(),
    ChargeFilters(preset="all"),
    ChargeFilters(preset="today"),
    ChargeFilters(preset="7d", statuses=("succeeded",)),
    ChargeFilters(preset="this_month", currencies=("usd", "jpy")),
    ChargeFilters(preset="last_month"),
    ChargeFilters(preset="all", statuses=("failed",)),
    ChargeFilters(preset="all", brands=("amex",)),
    ChargeFilters(preset="all", brands=("",)),
    ChargeFilters(preset="all", refunded="full"),
    ChargeFilters(preset="all", refunded="partial"),
    ChargeFilters(preset="all", refunded="none"),
    ChargeFilters(preset="all", disputed="yes"),
    ChargeFilters(preset="30d", disputed="no", currencies=("usd",)),
    ChargeFilters(preset="custom", start=NOW.date() - timedelta(days=9), end=NOW.date()),
]


def some_charges(rng: random.Random, count: int, prefix: str = "ch") -> list[dict[str, Any]]:
    """Charges over 70 days, several on the same second and at day boundaries, with every
    status, no brand and brand '', refunds of each kind, disputes and failure codes."""
    charges = []
    midnight = STAMP - STAMP % DAY_SECONDS
    for number in range(count):
        status = rng.choice(["succeeded", "succeeded", "failed", "pending"])
        amount = rng.randint(1, 90_000)
        refunded = rng.choice([0, 0, 0, amount, amount // 3])
        brand = rng.choice(["visa", "amex", None, ""])
        created = rng.choice(
            [
                STAMP - rng.randint(0, 70 * DAY_SECONDS),
                midnight - rng.randint(0, 40) * DAY_SECONDS,
                midnight - rng.randint(0, 40) * DAY_SECONDS - 1,
                STAMP - 30 * DAY_SECONDS + rng.randint(-2, 2),
            ]
        )
        card = {"brand": brand, "last4": "4242"} if brand is not None else None
        charges.append(
            charge_object(
                f"{prefix}_{number:04d}",
                amount,
                rng.choice(["usd", "jpy", "kwd"]),
                created=created,
                status=status,
                amount_refunded=refunded if status == "succeeded" else 0,
                refunded=status == "succeeded" and refunded == amount,
                disputed=status == "succeeded" and rng.random() < 0.1,
                failure_code=rng.choice([None, "card_declined", "unknown"])
                if status == "failed"
                else None,
                description=rng.choice(["House blend", "Ceramic mug", 'Gift "card" 100%']),
                customer=rng.choice([None, "cus_1", "cus_2"]),
                billing_details={
                    "email": rng.choice(["ana@example.com", "bo_smith@example.org", None]),
                    "name": rng.choice(["Ana Ñúñez", "Bo Smith", None]),
                },
                payment_method_details={"type": "card", "card": card},
            )
        )
    return charges


def write(engine: Engine, account: str, charges: list[dict[str, Any]], state_at: int) -> None:
    for start in range(0, len(charges), 50):
        with engine.begin() as connection:
            write_objects(connection, account, "charges", charges[start : start + 50], state_at)


def stored_days(engine: Engine, account: str) -> dict[tuple[Any, ...], tuple[int, ...]]:
    totals = mirror_charge_days.c
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(mirror_charge_days).where(totals.account_key == account)
        ).mappings()
        return {
            tuple(row[name] for name in DAY_KEY): (
                row["charges"],
                row["amount"],
                row["amount_refunded"],
                row["unsummed"],
            )
            for row in rows
        }


def counted_days(engine: Engine, account: str) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """What mirror_charge_days must hold, counted here from the charges."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(mirror_charges).where(mirror_charges.c.account_key == account)
        ).mappings()
        found: dict[tuple[Any, ...], list[int]] = {}
        for row in rows:
            refunded = row["amount_refunded"]
            key = (
                row["created"] // DAY_SECONDS * DAY_SECONDS,
                row["currency"],
                row["status"],
                "" if row["card_brand"] is None else row["card_brand"],
                bool(row["refunded"]),
                (refunded > 0) - (refunded < 0),
                bool(row["disputed"]),
                "unknown" if row["failure_code"] is None else row["failure_code"],
            )
            summed = all(abs(row[name]) <= 10**12 for name in ("amount", "amount_refunded"))
            totals = found.setdefault(key, [0, 0, 0, 0])
            totals[0] += 1
            totals[1] += row["amount"] if summed else 0
            totals[2] += refunded if summed else 0
            totals[3] += 0 if summed else 1
    return {key: tuple(values) for key, values in found.items()}


def stored_charges(engine: Engine, account: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [
            dict(row)
            for row in connection.execute(
                sa.select(mirror_charges).where(mirror_charges.c.account_key == account)
            ).mappings()
        ]


def matches(row: dict[str, Any], filters: ChargeFilters) -> bool:
    """`filters` applied to one stored charge, written out here as the explorer describes them."""
    low, high = filters.time_bounds(NOW)
    refunded = row["amount_refunded"]
    return (
        (low is None or row["created"] >= low)
        and (high is None or row["created"] < high)
        and (not filters.statuses or row["status"] in filters.statuses)
        and (not filters.currencies or row["currency"] in filters.currencies)
        and (not filters.brands or row["card_brand"] in filters.brands)
        and {
            "any": True,
            "full": bool(row["refunded"]),
            "partial": refunded > 0 and not row["refunded"],
            "none": refunded == 0,
        }[filters.refunded]
        and (filters.disputed == "any" or bool(row["disputed"]) == (filters.disputed == "yes"))
        and (not filters.text or filters.text.lower() in row["search_text"])
        and (not filters.customer or filters.customer.lower() in row["customer_text"])
    )


def assert_views_agree(engine: Engine, account: str, filters: ChargeFilters) -> None:
    """Totals, charts and the match count equal what the stored charges give one by one."""
    chosen = [row for row in stored_charges(engine, account) if matches(row, filters)]
    expected: dict[str, list[int]] = {}
    for row in chosen:
        totals = expected.setdefault(row["currency"], [0, 0, 0, 0, 0])
        succeeded = row["status"] == "succeeded"
        totals[0] += 1
        totals[1] += succeeded
        totals[2] += row["status"] == "failed"
        totals[3] += row["amount"] if succeeded else 0
        totals[4] += row["amount_refunded"] if succeeded else 0
    summaries = currency_summaries(engine, account, filters, NOW)
    assert {
        s.currency: [s.count, s.succeeded, s.failed, s.gross, s.refunded] for s in summaries
    } == expected, filters
    assert [s.currency for s in summaries] == sorted(expected)
    volume = daily_volume(engine, account, filters, NOW)
    shown = {
        (int(day.timestamp()), currency): int(gross)
        for day, currency, gross in volume.itertuples(index=False)
        if gross
    }
    per_day: dict[tuple[int, str], int] = {}
    for row in chosen:
        if row["status"] == "succeeded" and row["amount"]:
            key = (row["created"] // DAY_SECONDS * DAY_SECONDS, row["currency"])
            per_day[key] = per_day.get(key, 0) + row["amount"]
    assert shown == {key: gross for key, gross in per_day.items() if gross}, filters
    failures: dict[str, int] = {}
    for row in chosen:
        if row["status"] == "failed":
            code = row["failure_code"] or "unknown"
            failures[code] = failures.get(code, 0) + 1
    ranked = sorted(failures.items(), key=lambda item: (-item[1], item[0]))
    assert list(failures_by_code(engine, account, filters, NOW).itertuples(index=False)) == [
        tuple(item) for item in ranked
    ]
    total = sum(s.count for s in summaries)
    page = charges_page(engine, account, filters.with_changes(page=1), NOW, total=total)
    newest = sorted(chosen, key=lambda row: (row["created"], row["id"]), reverse=True)[:50]
    assert list(page.rows["id"]) == [row["id"] for row in newest]


@pytest.fixture
def mirrored(engine: Engine) -> Engine:
    rng = random.Random(14)
    write(engine, ACCOUNT, some_charges(rng, 240), STAMP)
    write(engine, OTHER, some_charges(rng, 40), STAMP)
    return engine


def test_day_totals_hold_what_the_charges_add_up_to(mirrored: Engine) -> None:
    assert stored_days(mirrored, ACCOUNT) == counted_days(mirrored, ACCOUNT)
    assert stored_days(mirrored, OTHER) == counted_days(mirrored, OTHER)
    for filters in FILTERS:
        assert_views_agree(mirrored, ACCOUNT, filters)


def test_day_totals_and_search_follow_refetches_events_and_contact_changes(
    mirrored: Engine,
) -> None:
    charges = {row["id"]: row for row in stored_charges(mirrored, ACCOUNT)}
    succeeded = sorted(i for i, row in charges.items() if row["status"] == "succeeded")
    pending = sorted(i for i, row in charges.items() if row["status"] == "pending")
    rng = random.Random(15)
    write(mirrored, ACCOUNT, some_charges(rng, 240), STAMP + 10)  # a newer fetch of each
    events: list[dict[str, Any]] = []
    for number, charge_id in enumerate(succeeded[:20]):
        refund = {
            "id": f"re_{number}",
            "object": "refund",
            "amount": 1,
            "charge": charge_id,
            "currency": "usd",
            "created": STAMP + 20,
            "status": "succeeded",
        }
        events.append({"created": STAMP + 20, "type": "charge.refund.updated", "data": {}})
        events[-1]["data"]["object"] = refund
    for charge_id in succeeded[20:30]:
        dispute = {"id": f"dp_{charge_id}", "object": "dispute", "charge": charge_id}
        events.append({"created": STAMP + 30, "type": "charge.dispute.created"})
        events[-1]["data"] = {"object": dispute}
    with mirrored.connect() as connection:
        raw = {
            row.id: row
            for row in connection.execute(
                sa.text("SELECT id, raw FROM mirror_objects WHERE account_key = :a"), {"a": ACCOUNT}
            )
        }
    for charge_id in pending[:10]:
        changed = {**json.loads(raw[charge_id].raw), "status": "succeeded", "amount": 777}
        events.append({"created": STAMP + 40, "type": "charge.succeeded", "data": {}})
        events[-1]["data"]["object"] = changed
    for charge_id in succeeded[30:40]:
        changed = {**json.loads(raw[charge_id].raw), "amount_refunded": 5, "refunded": False}
        events.append({"created": STAMP + 50, "type": "charge.refunded", "data": {}})
        events[-1]["data"]["object"] = changed
    applied = 0
    for event in events:
        with mirrored.begin() as connection:
            applied += apply_event(connection, ACCOUNT, event)
    assert applied >= 30
    customers = [
        {
            "id": "cus_1",
            "object": "customer",
            "created": 1,
            "email": "zoe@smith.test",
            "name": "Zoé",
        },
        {"id": "cus_2", "object": "customer", "created": 1, "email": None, "name": "Bo Blend"},
    ]
    for state_at in (STAMP + 60, STAMP + 70):
        with mirrored.begin() as connection:
            write_objects(connection, ACCOUNT, "customers", customers, state_at)
        customers[0] = {**customers[0], "email": "zoe@elsewhere.test"}
    assert any(
        row["customer_email"] == "zoe@elsewhere.test" for row in stored_charges(mirrored, ACCOUNT)
    )
    assert stored_days(mirrored, ACCOUNT) == counted_days(mirrored, ACCOUNT)
    for filters in (
        *FILTERS,
        ChargeFilters(preset="all", customer="zoe@"),
        ChargeFilters(preset="all", text="elsewhere"),
        ChargeFilters(preset="all", text="smith.test"),
    ):
        assert_views_agree(mirrored, ACCOUNT, filters)


def test_deleting_a_copy_deletes_its_day_totals_only(mirrored: Engine) -> None:
    with mirrored.begin() as connection:
        delete_local_copy(connection, [ACCOUNT])
    assert stored_days(mirrored, ACCOUNT) == {}
    assert filter_choices(mirrored, ACCOUNT) == ([], [])
    assert currency_summaries(mirrored, ACCOUNT, ChargeFilters(preset="all"), NOW) == []
    assert stored_days(mirrored, OTHER) == counted_days(mirrored, OTHER) != {}


def test_amounts_too_large_to_total_by_day_are_totalled_one_by_one(engine: Engine) -> None:
    huge = 9 * 10**18
    charges = [
        charge_object("ch_huge_1", huge, "usd", created=STAMP - 3 * DAY_SECONDS),
        charge_object("ch_huge_2", 5, "usd", created=STAMP - 3 * DAY_SECONDS),
        charge_object("ch_small", 7, "usd", created=STAMP - 2 * DAY_SECONDS),
    ]
    write(engine, ACCOUNT, charges, STAMP)
    assert stored_days(engine, ACCOUNT) == counted_days(engine, ACCOUNT)
    [usd] = currency_summaries(engine, ACCOUNT, ChargeFilters(), NOW)
    assert (usd.count, usd.gross) == (3, huge + 12)
    volume = daily_volume(engine, ACCOUNT, ChargeFilters(), NOW)
    assert sorted(int(gross) for gross in volume["gross"] if gross) == [7, huge + 5]


def test_filter_choices_come_from_the_totals_and_tell_no_brand_from_brand_blank(
    mirrored: Engine,
) -> None:
    rows = stored_charges(mirrored, ACCOUNT)
    currencies, brands = filter_choices(mirrored, ACCOUNT)
    assert currencies == sorted({row["currency"] for row in rows})
    assert brands == sorted({row["card_brand"] for row in rows if row["card_brand"] is not None})
    assert "" in brands


@pytest.mark.parametrize(
    "text",
    ["blend", "nd", 'GIFT "card" 100%', "_smith", "ñúñ"],
)
@pytest.mark.parametrize("walk_above", [WALK_ABOVE, 0], ids=["matches-first", "index-walk"])
def test_searches_find_exactly_the_charges_containing_the_words(
    mirrored: Engine, text: str, walk_above: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A page of a search that matches many charges walks the sort's index instead.
    monkeypatch.setattr(lib.finance.charges, "WALK_ABOVE", walk_above)
    for filters in (
        ChargeFilters(preset="all", text=text),
        ChargeFilters(preset="all", customer=text),
        ChargeFilters(preset="30d", text=text, statuses=("succeeded",)),
    ):
        assert_views_agree(mirrored, ACCOUNT, filters)


def test_migrating_a_database_with_charges_builds_totals_and_search(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        migrate(engine, target=7)
        rng = random.Random(16)
        write(engine, ACCOUNT, some_charges(rng, 150), STAMP)
        migrate(engine)
        assert stored_days(engine, ACCOUNT) == counted_days(engine, ACCOUNT) != {}
        for filters in (*FILTERS, ChargeFilters(preset="all", text="blend")):
            assert_views_agree(engine, ACCOUNT, filters)
        write(engine, ACCOUNT, some_charges(rng, 150, prefix="ch_new"), STAMP)
        assert stored_days(engine, ACCOUNT) == counted_days(engine, ACCOUNT)
        assert_views_agree(engine, ACCOUNT, ChargeFilters(preset="all", customer="smith"))
    finally:
        engine.dispose()
