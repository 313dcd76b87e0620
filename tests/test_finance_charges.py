"""The charges explorer's filters, per-currency summaries, charts data and exports on a known
dataset (USD, zero-decimal JPY, three-decimal KWD, partial refunds), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from lib.finance import (
    AmountError,
    ChargeFilters,
    charge_detail,
    charges_csv,
    charges_page,
    charges_xlsx,
    currency_summaries,
    daily_volume,
    dashboard_url,
    failures_by_code,
    filter_choices,
    from_query_params,
    to_minor,
    to_query_params,
)
from lib.store import create_db_engine, migrate
from lib.sync import write_objects

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
ACCOUNT = "demo"
ALL = ChargeFilters(preset="all")


def ago(**delta: float) -> int:
    return int((NOW - timedelta(**delta)).timestamp())


def charge(
    charge_id: str,
    amount: int,
    currency: str,
    created: int,
    *,
    status: str = "succeeded",
    customer: str | None = None,
    brand: str = "visa",
    refunded: int = 0,
    disputed: bool = False,
    description: str = "Coffee",
    failure_code: str | None = None,
) -> dict[str, Any]:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_refunded": refunded,
        "currency": currency,
        "created": created,
        "status": status,
        "customer": customer,
        "description": description,
        "refunded": refunded == amount,
        "disputed": disputed,
        "livemode": False,
        "failure_code": failure_code,
        "failure_message": "Your card was declined." if failure_code else None,
        "receipt_url": None
        if status == "failed"
        else f"https://pay.stripe.com/receipts/{charge_id}",
        "billing_details": {"email": None, "name": None},
        "payment_method_details": {"type": "card", "card": {"brand": brand, "last4": "4242"}},
    }


CUSTOMERS = [
    {
        "id": "cus_ana",
        "object": "customer",
        "created": ago(days=400),
        "email": "ana@example.com",
        "name": "Ana Lima",
    },
    {
        "id": "cus_ben",
        "object": "customer",
        "created": ago(days=300),
        "email": "ben@example.org",
        "name": "Ben Okafor",
    },
    {
        "id": "cus_kenji",
        "object": "customer",
        "created": ago(days=200),
        "email": "k.sato@example.jp",
        "name": "Kenji Sato",
    },
    {
        "id": "cus_fatima",
        "object": "customer",
        "created": ago(days=100),
        "email": "fatima@example.com",
        "name": "Fatima Al-Ajmi",
    },
]
CHARGES = [
    charge(
        "ch_usd_1", 1999, "usd", ago(hours=1), customer="cus_ana", description="Latte and pastry"
    ),
    charge(
        "ch_usd_2",
        5000,
        "usd",
        ago(days=3),
        customer="cus_ben",
        brand="mastercard",
        refunded=1250,
        description="Gift card",
    ),
    charge(
        "ch_usd_3",
        2500,
        "usd",
        ago(days=10),
        status="failed",
        customer="cus_ana",
        failure_code="card_declined",
        description="House blend, 500 g",
    ),
    charge("ch_usd_4", 875, "usd", ago(days=40), status="pending", brand="amex"),
    charge(
        "ch_jpy_1",
        1500,
        "jpy",
        ago(days=2),
        customer="cus_kenji",
        brand="jcb",
        refunded=1500,
        description="Espresso beans",
    ),
    charge("ch_jpy_2", 3200, "jpy", ago(days=20), customer="cus_kenji"),
    charge("ch_jpy_3", 990, "jpy", ago(days=5), status="failed", failure_code="expired_card"),
    charge(
        "ch_kwd_1", 1500, "kwd", ago(days=1), customer="cus_fatima", refunded=250, disputed=True
    ),
    charge("ch_kwd_2", 12345, "kwd", ago(days=15), brand="mastercard", description="100% arabica"),
    charge("ch_eur_1", 4200, "eur", ago(days=45)),
]
REFUNDS = [
    {
        "id": "re_1",
        "object": "refund",
        "charge": "ch_usd_2",
        "amount": 1000,
        "currency": "usd",
        "created": ago(days=2),
        "status": "succeeded",
        "reason": None,
    },
    {
        "id": "re_2",
        "object": "refund",
        "charge": "ch_usd_2",
        "amount": 250,
        "currency": "usd",
        "created": ago(days=1),
        "status": "succeeded",
        "reason": "duplicate",
    },
]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def mirrored(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One migrated database per backend holding the dataset; every test here only reads it."""
    schema = f"t_{uuid.uuid4().hex}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('finance') / 'mirror.db'}"
    else:
        server = request.getfixturevalue("postgres_server_url")
        with sa.create_engine(server).begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        search_path = {"options": f"-csearch_path={schema}"}
        url = make_url(server).update_query_dict(search_path).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    migrate(engine)
    state_at = int(NOW.timestamp())
    with engine.begin() as connection:
        write_objects(connection, ACCOUNT, "customers", CUSTOMERS, state_at)
        write_objects(connection, ACCOUNT, "charges", CHARGES, state_at)
        write_objects(connection, ACCOUNT, "refunds", REFUNDS, state_at)
        other = [charge("ch_other_1", 99_999, "usd", ago(hours=2))]
        write_objects(connection, "settings:someone-else", "charges", other, state_at)
    yield engine
    engine.dispose()
    if request.param == "postgres":
        with sa.create_engine(server).begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


def ids(engine: Engine, filters: ChargeFilters) -> list[str]:
    page = charges_page(engine, ACCOUNT, filters, NOW, total=100, page_size=100)
    return sorted(page.rows["id"])


def summary_table(engine: Engine, filters: ChargeFilters) -> dict[str, tuple[Any, ...]]:
    return {
        s.currency: (s.count, s.gross, s.refunded, s.net, s.failure_rate)
        for s in currency_summaries(engine, ACCOUNT, filters, NOW)
    }


# --- summaries ------------------------------------------------------------------------------


def test_summary_per_currency_over_the_last_30_days(mirrored: Engine) -> None:
    summary = summary_table(mirrored, ChargeFilters(preset="30d"))

    # usd: 19.99 + 50.00 succeeded, 12.50 refunded of the second, one failure of three decided.
    # jpy: ¥1,500 + ¥3,200, the first refunded in full; kwd: 1.500 + 12.345, 0.250 refunded.
    assert summary == {
        "jpy": (3, 4700, 1500, 3200, Fraction(1, 3)),
        "kwd": (2, 13845, 250, 13595, Fraction(0)),
        "usd": (3, 6999, 1250, 5749, Fraction(1, 3)),
    }


def test_pending_charges_count_but_do_not_enter_the_failure_rate(mirrored: Engine) -> None:
    summary = summary_table(mirrored, ALL)

    assert summary["usd"] == (4, 6999, 1250, 5749, Fraction(1, 3))
    assert summary["eur"] == (1, 4200, 0, 4200, Fraction(0))
    assert summary_table(mirrored, ChargeFilters(preset="all", statuses=("pending",))) == {
        "usd": (1, 0, 0, 0, None)
    }


def test_other_accounts_charges_never_show(mirrored: Engine) -> None:
    assert "ch_other_1" not in ids(mirrored, ALL)
    assert summary_table(mirrored, ChargeFilters(preset="today")) == {
        "usd": (1, 1999, 0, 1999, Fraction(0))
    }


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ChargeFilters(preset="today"), ["ch_usd_1"]),
        (ChargeFilters(preset="7d"), ["ch_jpy_1", "ch_jpy_3", "ch_kwd_1", "ch_usd_1", "ch_usd_2"]),
        (
            ChargeFilters(preset="this_month"),
            ["ch_jpy_1", "ch_jpy_3", "ch_kwd_1", "ch_usd_1", "ch_usd_2", "ch_usd_3"],
        ),
        (ChargeFilters(preset="last_month"), ["ch_eur_1", "ch_jpy_2", "ch_kwd_2", "ch_usd_4"]),
        (
            ChargeFilters(preset="custom", start=date(2026, 10, 1), end=date(2026, 10, 1)),
            ["ch_eur_1"],
        ),
        (ChargeFilters(preset="all", statuses=("failed",)), ["ch_jpy_3", "ch_usd_3"]),
        (
            ChargeFilters(preset="all", currencies=("kwd", "jpy")),
            ["ch_jpy_1", "ch_jpy_2", "ch_jpy_3", "ch_kwd_1", "ch_kwd_2"],
        ),
        (ChargeFilters(preset="all", customer="KENJI"), ["ch_jpy_1", "ch_jpy_2"]),
        (ChargeFilters(preset="all", customer="ana@"), ["ch_usd_1", "ch_usd_3"]),
        (ChargeFilters(preset="all", brands=("jcb", "amex")), ["ch_jpy_1", "ch_usd_4"]),
        (ChargeFilters(preset="all", refunded="full"), ["ch_jpy_1"]),
        (ChargeFilters(preset="all", refunded="partial"), ["ch_kwd_1", "ch_usd_2"]),
        (ChargeFilters(preset="all", disputed="yes"), ["ch_kwd_1"]),
        (ChargeFilters(preset="all", text="ch_kwd_2"), ["ch_kwd_2"]),
        (ChargeFilters(preset="all", text="Blend"), ["ch_usd_3"]),
        (ChargeFilters(preset="all", text="fatima@"), ["ch_kwd_1"]),
        (ChargeFilters(preset="all", text="100%"), ["ch_kwd_2"]),
        (ChargeFilters(preset="all", text="%"), ["ch_kwd_2"]),
    ],
)
def test_each_filter_narrows_the_charges(
    mirrored: Engine, filters: ChargeFilters, expected: list[str]
) -> None:
    assert ids(mirrored, filters) == expected


def test_not_refunded_and_not_disputed_exclude_the_others(mirrored: Engine) -> None:
    kept = ids(mirrored, ChargeFilters(preset="all", refunded="none", disputed="no"))

    assert kept == [
        "ch_eur_1",
        "ch_jpy_2",
        "ch_jpy_3",
        "ch_kwd_2",
        "ch_usd_1",
        "ch_usd_3",
        "ch_usd_4",
    ]


@pytest.mark.parametrize(
    ("currency", "low", "high", "expected"),
    [
        ("usd", "19.99", "19.99", ["ch_usd_1"]),
        ("usd", "20", None, ["ch_usd_2", "ch_usd_3"]),
        ("jpy", "1000", "2000", ["ch_jpy_1"]),
        ("kwd", "1.5", "1.500", ["ch_kwd_1"]),
        ("kwd", None, "12.344", ["ch_kwd_1"]),
    ],
)
def test_amount_ranges_are_read_in_major_units_of_the_chosen_currency(
    mirrored: Engine, currency: str, low: str | None, high: str | None, expected: list[str]
) -> None:
    filters = ChargeFilters(
        preset="all",
        currencies=(currency,),
        min_amount=None if low is None else Decimal(low),
        max_amount=None if high is None else Decimal(high),
    )

    assert ids(mirrored, filters) == expected


def test_an_amount_needs_one_currency_and_must_fit_its_decimals() -> None:
    with pytest.raises(AmountError, match="exactly one currency"):
        ChargeFilters(currencies=("usd", "eur"), min_amount=Decimal(5)).amount_bounds()
    with pytest.raises(AmountError, match="JPY amounts have 0 decimal places"):
        to_minor(Decimal("1.5"), "jpy")
    with pytest.raises(AmountError, match="USD amounts have 2 decimal places"):
        to_minor(Decimal("0.001"), "usd")
    assert to_minor(Decimal("12.345"), "kwd") == 12345


def test_pages_follow_the_chosen_sort_without_overlap(mirrored: Engine) -> None:
    by_amount = ChargeFilters(preset="all", sort="amount", descending=False)
    first = charges_page(mirrored, ACCOUNT, by_amount, NOW, total=10, page_size=4)
    third = charges_page(
        mirrored, ACCOUNT, by_amount.with_changes(page=3), NOW, total=10, page_size=4
    )
    beyond = charges_page(
        mirrored, ACCOUNT, by_amount.with_changes(page=9), NOW, total=10, page_size=4
    )

    # By currency, then amount: eur 4200 | jpy 990 1500 3200 | kwd 1500 12345 | usd 875 ...
    assert list(first.rows["amount"]) == [4200, 990, 1500, 3200]
    assert list(third.rows["id"]) == ["ch_usd_3", "ch_usd_2"]
    assert (first.pages, beyond.page) == (3, 3)
    newest = charges_page(mirrored, ACCOUNT, ALL, NOW, total=10, page_size=3)
    assert list(newest.rows["id"]) == ["ch_usd_1", "ch_kwd_1", "ch_jpy_1"]


def test_rows_carry_the_customer_and_card_for_the_table(mirrored: Engine) -> None:
    rows = charges_page(mirrored, ACCOUNT, ChargeFilters(preset="today"), NOW, total=1).rows

    row = rows.iloc[0]
    assert (row["customer_email"], row["customer_name"]) == ("ana@example.com", "Ana Lima")
    assert (row["card_brand"], row["card_last4"], int(row["amount"])) == ("visa", "4242", 1999)


def test_filter_choices_list_the_currencies_and_brands_present(mirrored: Engine) -> None:
    assert filter_choices(mirrored, ACCOUNT) == (
        ["eur", "jpy", "kwd", "usd"],
        ["amex", "jcb", "mastercard", "visa"],
    )


# --- charts and detail ----------------------------------------------------------------------


def test_daily_volume_is_per_currency_and_day_with_empty_days_filled(mirrored: Engine) -> None:
    volume = daily_volume(
        mirrored, ACCOUNT, ChargeFilters(preset="7d", currencies=("usd", "jpy")), NOW
    )

    by_day = {(row.day.date().isoformat(), row.currency): row.gross for row in volume.itertuples()}
    assert by_day[("2026-11-12", "usd")] == 5000
    assert by_day[("2026-11-15", "usd")] == 1999
    assert by_day[("2026-11-13", "jpy")] == 1500
    assert by_day[("2026-11-14", "usd")] == 0
    assert len(by_day) == 4 * 2  # Nov 12..15, both currencies


def test_failures_are_counted_by_failure_code(mirrored: Engine) -> None:
    failures = failures_by_code(mirrored, ACCOUNT, ALL, NOW)

    assert list(failures.itertuples(index=False, name=None)) == [
        ("card_declined", 1),
        ("expired_card", 1),
    ]


def test_the_detail_has_the_charge_its_refunds_and_customer(mirrored: Engine) -> None:
    detail = charge_detail(mirrored, ACCOUNT, "ch_usd_2")

    assert detail is not None
    assert detail.charge["amount_refunded"] == 1250
    assert [refund["id"] for refund in detail.refunds] == ["re_1", "re_2"]
    assert detail.customer is not None and detail.customer["email"] == "ben@example.org"
    assert charge_detail(mirrored, "settings:someone-else", "ch_usd_2") is None
    assert dashboard_url("ch_usd_2", livemode=False) == (
        "https://dashboard.stripe.com/test/payments/ch_usd_2"
    )
    assert dashboard_url("ch_1", livemode=True) == "https://dashboard.stripe.com/payments/ch_1"


# --- export ---------------------------------------------------------------------------------


def test_csv_export_has_exact_major_amounts_a_currency_column_and_utc_times(
    mirrored: Engine,
) -> None:
    filters = ChargeFilters(preset="all", currencies=("kwd", "jpy"), statuses=("succeeded",))

    rows = list(csv.DictReader(io.StringIO(charges_csv(mirrored, ACCOUNT, filters, NOW).decode())))

    assert [(r["id"], r["amount"], r["amount_refunded"], r["currency"]) for r in rows] == [
        ("ch_kwd_1", "1.500", "0.250", "KWD"),
        ("ch_jpy_1", "1500", "1500", "JPY"),
        ("ch_kwd_2", "12.345", "0.000", "KWD"),
        ("ch_jpy_2", "3200", "0", "JPY"),
    ]
    assert rows[0]["created_utc"] == "2026-11-14T12:00:00Z"
    assert (rows[0]["customer_email"], rows[0]["disputed"], rows[0]["refunded"]) == (
        "fatima@example.com",
        "true",
        "false",
    )


def test_excel_export_holds_numbers_with_each_currencys_decimals(mirrored: Engine) -> None:
    filters = ChargeFilters(preset="all", currencies=("kwd", "usd"), statuses=("succeeded",))

    book = openpyxl.load_workbook(io.BytesIO(charges_xlsx(mirrored, ACCOUNT, filters, NOW)))

    sheet = book["Charges"]
    header = [cell.value for cell in sheet[1]]
    first = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert sheet.max_row == 1 + 4
    assert (first["id"].value, first["amount"].value, first["currency"].value) == (
        "ch_usd_1",
        19.99,  # Excel stores numbers as doubles; the format shows the currency's decimals
        "USD",
    )
    assert first["amount"].number_format == "0.00"
    kwd = {name: cell for name, cell in zip(header, sheet[3], strict=True)}
    assert (kwd["amount"].value, kwd["amount"].number_format) == (1.5, "0.000")
    assert first["created_utc"].value == datetime(2026, 11, 15, 11, 0)


# --- the URL form ---------------------------------------------------------------------------


def test_filters_round_trip_through_the_url() -> None:
    filters = ChargeFilters(
        preset="custom",
        start=date(2026, 10, 1),
        end=date(2026, 10, 31),
        statuses=("succeeded", "failed"),
        currencies=("kwd",),
        min_amount=Decimal("1.500"),
        customer="Ana Lima",
        brands=("visa",),
        refunded="partial",
        disputed="no",
        text="latte & co",
        sort="amount",
        descending=False,
        page=3,
    )

    params = to_query_params(filters)

    assert params["status"] == "succeeded,failed" and params["min"] == "1.500"
    assert from_query_params(params).filters == filters
    assert to_query_params(ChargeFilters()) == {}


def test_a_malformed_link_keeps_what_it_can_and_says_what_it_ignored() -> None:
    parsed = from_query_params({"range": "decade", "status": "failed", "min": "ten", "page": "0"})

    assert parsed.filters == ChargeFilters(statuses=("failed",))
    assert [str(item) for item in parsed.ignored] == ["range=decade", "min=ten", "page=0"]


def test_changing_a_filter_goes_back_to_the_first_page() -> None:
    on_page_4 = ChargeFilters(page=4)

    assert on_page_4.with_changes(statuses=("failed",)).page == 1
    assert on_page_4.with_changes(page=5).page == 5
    assert on_page_4.with_changes(statuses=()).page == 4
