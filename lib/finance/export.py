"""Exporting the filtered charges: CSV and Excel, every matching row in the explorer's order.

Amounts are written in major units as exact decimals next to their currency ("19.99", "1000"
for JPY, "1.500" for KWD), times as ISO 8601 UTC; nothing is ever summed across currencies.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy.engine import Engine

from lib.finance.charges import TABLE_COLUMNS, charge_conditions, sort_order
from lib.finance.filters import ChargeFilters
from lib.money import api_exponent, to_major
from lib.store.tables import mirror_charges

# The explorer's table columns but `livemode`; `created` is exported as a UTC time.
_SOURCE_COLUMNS = tuple(name for name in TABLE_COLUMNS if name != "livemode")
EXPORT_COLUMNS = tuple("created_utc" if name == "created" else name for name in _SOURCE_COLUMNS)
_FETCH_BATCH = 2_000


def export_records(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> Iterator[dict[str, Any]]:
    """Every filtered charge (all pages) as an export record, streamed from the database:
    `created_utc` a UTC datetime, amounts Decimal major units, currency upper-case."""
    statement = (
        sa.select(*(mirror_charges.c[name] for name in _SOURCE_COLUMNS))
        .where(*charge_conditions(account_key, filters, now))
        .order_by(*sort_order(filters))
    )
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=_FETCH_BATCH).execute(statement)
        for row in result:
            record = dict(zip(EXPORT_COLUMNS, row, strict=True))
            currency = record["currency"]
            record["created_utc"] = datetime.fromtimestamp(row.created, UTC)
            record["amount"] = to_major(int(row.amount), currency)
            record["amount_refunded"] = to_major(int(row.amount_refunded), currency)
            record["currency"] = currency.upper()
            yield record


def charges_csv(engine: Engine, account_key: str, filters: ChargeFilters, now: datetime) -> bytes:
    """The filtered charges as UTF-8 CSV with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for record in export_records(engine, account_key, filters, now):
        writer.writerow([_csv_text(name, record[name]) for name in EXPORT_COLUMNS])
    return buffer.getvalue().encode()


def charges_xlsx(engine: Engine, account_key: str, filters: ChargeFilters, now: datetime) -> bytes:
    """The filtered charges as an Excel workbook: amounts numeric with their currency's decimal
    places, `created_utc` a date-time cell in UTC."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Charges")
    sheet.append(list(EXPORT_COLUMNS))
    for record in export_records(engine, account_key, filters, now):
        places = api_exponent(record["currency"])
        number_format = "0" if places == 0 else "0." + "0" * places
        cells: list[Any] = []
        for name in EXPORT_COLUMNS:
            value = record[name]
            if name in ("amount", "amount_refunded"):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = number_format
                cells.append(cell)
            elif name == "created_utc":
                cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_text(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
