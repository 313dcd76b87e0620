"""One rule for ISK, HUF and TWD on screen, in exports and in the amount filter: the decimals
Stripe charges in. ISK travels in hundredths but is charged in whole krónur (amounts divisible
by 100); HUF and TWD are charged with two decimals (only their payouts are whole)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from lib.config import PROJECT_ROOT
from lib.finance import ChargeFilters, charges_csv, charges_xlsx
from lib.store import get_engine
from lib.sync import write_objects
from tests.apptest_support import table
from tests.mirror_support import charge_object, record_synced

CHARGES_PAGE = str(PROJECT_ROOT / "app_pages" / "charges.py")
ALL = ChargeFilters(preset="all", sort="amount", descending=False)


def charge(charge_id: str, amount: int, currency: str) -> dict[str, Any]:
    created = int((datetime.now(UTC) - timedelta(hours=3)).timestamp())
    return charge_object(charge_id, amount, currency, created=created)


@pytest.fixture
def mirror() -> None:
    now = int(datetime.now(UTC).timestamp())
    rows = [
        charge("ch_isk", 123400, "isk"),  # ISK 1,234
        charge("ch_isk_small", 5000, "isk"),  # ISK 50
        charge("ch_huf", 123456, "huf"),  # HUF 1,234.56
        charge("ch_twd", 5050, "twd"),  # NT$50.50
    ]
    with get_engine().begin() as connection:
        write_objects(connection, "demo", "charges", rows, now)
        record_synced(connection, "demo")


@pytest.mark.usefixtures("mirror")
def test_the_screen_shows_what_stripe_charges() -> None:
    at = AppTest.from_file(CHARGES_PAGE, default_timeout=30).run()

    gross = {
        row["Currency"]: row["Gross (succeeded)"] for _, row in at.dataframe[0].value.iterrows()
    }
    assert gross == {"HUF": "HUF\xa01,234.56", "ISK": "ISK\xa01,284", "TWD": "NT$50.50"}


@pytest.mark.usefixtures("mirror")
def test_exports_write_the_decimals_shown() -> None:
    engine, now = get_engine(), datetime.now(UTC)

    rows = list(csv.DictReader(io.StringIO(charges_csv(engine, "demo", ALL, now).decode())))
    amounts = {row["id"]: row["amount"] for row in rows}
    assert amounts == {
        "ch_huf": "1234.56",
        "ch_isk_small": "50",
        "ch_isk": "1234",
        "ch_twd": "50.50",
    }

    sheet = openpyxl.load_workbook(io.BytesIO(charges_xlsx(engine, "demo", ALL, now)))["Charges"]
    header = [cell.value for cell in sheet[1]]
    cells = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    formats = {row["id"].value: row["amount"].number_format for row in cells}
    assert formats == {"ch_huf": "0.00", "ch_isk_small": "0", "ch_isk": "0", "ch_twd": "0.00"}


@pytest.mark.usefixtures("mirror")
def test_the_amount_filter_accepts_what_stripe_charges() -> None:
    at = AppTest.from_file(CHARGES_PAGE, default_timeout=30)
    at.query_params["currency"] = "isk"
    at.run()

    at.text_input(key="charges_min").input("1,000").run()
    assert list(table(at, "charges_table").value["id"]) == ["ch_isk"]

    at.text_input(key="charges_min").input("123.45").run()
    assert [w.value for w in at.warning] == [
        "Min amount ignored: ISK amounts have 0 decimal places."
    ]
    assert len(table(at, "charges_table").value) == 2

    at.multiselect(key="charges_currency").set_value(["huf"]).run()
    assert not at.warning
    assert list(table(at, "charges_table").value["id"]) == ["ch_huf"]
    at.text_input(key="charges_min").input("1,234.57").run()
    assert "No charges match these filters." in [info.value for info in at.info]
