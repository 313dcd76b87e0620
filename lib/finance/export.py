"""Exporting the filtered charges: CSV and Excel, every matching row in the explorer's order.

Amounts are written in major units as exact decimals next to their currency, with the decimals
Stripe charges in, as on screen ("19.99", "1000" for JPY, "1.500" for KWD, "1234" for ISK), times
as ISO 8601 UTC; nothing is ever summed across currencies.

The CSV is produced in chunks straight from the database (`charges_csv_chunks`), so a million
charges stream to the browser with bounded memory; Excel files are built whole, so the Excel
export has a cap (`xlsx_refusal`) and the page offers CSV beyond it.

Text comes from customers and merchants (descriptions, names, metadata), so no cell can become
a spreadsheet formula: Excel text cells are typed as strings, and CSV text that a spreadsheet
would read as a formula gets a leading `'` (OWASP's CSV injection advice).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from lib.finance.charges import TABLE_COLUMNS, charge_conditions, sort_order
from lib.finance.filters import ChargeFilters
from lib.finance.formula_guard import csv_text, excel_text
from lib.money import to_shown_major
from lib.store import SNAPSHOT_READ
from lib.store.tables import mirror_charges, mirror_objects

# The explorer's table columns but `livemode`; `created` is exported as a UTC time.
_SOURCE_COLUMNS = tuple(name for name in TABLE_COLUMNS if name != "livemode")
EXPORT_COLUMNS = (
    *("created_utc" if name == "created" else name for name in _SOURCE_COLUMNS),
    "metadata",
)
_AMOUNT_COLUMNS = ("amount", "amount_refunded")
_FETCH_BATCH = 2_000
CSV_CHUNK_BYTES = 64 * 1024
"""About how much CSV text is sent at a time while streaming."""
EXCEL_MAX_ROWS = 1_048_576
"""Rows of one Excel worksheet, the header row included: Excel cannot open a longer sheet."""
XLSX_EXPORT_MAX_CHARGES = 100_000
"""Charges the Excel export builds at most: the workbook is built whole in the app's memory
before its first byte can be sent, so larger sets are offered as CSV, which streams."""


def export_records(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> Iterator[dict[str, Any]]:
    """Every filtered charge (all pages) as an export record, streamed from the database:
    `created_utc` a UTC datetime, amounts Decimal major units, currency upper-case, `metadata`
    the charge's metadata as compact JSON text ("" when it has none)."""
    statement = (
        sa.select(
            *(mirror_charges.c[name] for name in _SOURCE_COLUMNS),
            _metadata_of_charge(engine.dialect.name),
        )
        .where(*charge_conditions(account_key, filters, now))
        .order_by(*sort_order(filters))
    )
    with engine.connect() as connection:
        # One snapshot for the whole export, read in batches (a server-side cursor on
        # PostgreSQL), that on SQLite never holds the write lock while a download runs.
        options = {"yield_per": _FETCH_BATCH, SNAPSHOT_READ: True}
        result = connection.execution_options(**options).execute(statement)
        for row in result:
            record = dict(zip(EXPORT_COLUMNS, row, strict=True))
            currency = record["currency"]
            record["created_utc"] = datetime.fromtimestamp(row.created, UTC)
            record["amount"] = to_shown_major(int(row.amount), currency)
            record["amount_refunded"] = to_shown_major(int(row.amount_refunded), currency)
            record["currency"] = currency.upper()
            record["metadata"] = _metadata_text(row.metadata)
            yield record


def charges_csv(engine: Engine, account_key: str, filters: ChargeFilters, now: datetime) -> bytes:
    """The filtered charges as UTF-8 CSV with a header row, whole (see `charges_csv_chunks`)."""
    return b"".join(charges_csv_chunks(engine, account_key, filters, now))


def charges_csv_chunks(
    engine: Engine,
    account_key: str,
    filters: ChargeFilters,
    now: datetime,
    chunk_bytes: int = CSV_CHUNK_BYTES,
) -> Generator[bytes]:
    """The filtered charges as UTF-8 CSV, in pieces of about `chunk_bytes`: the header row at
    once (before the database is read), then the rows as they arrive. Text a spreadsheet would
    run as a formula starts with `'`; amounts are plain exact numbers."""
    buffer = io.StringIO()
    # RFC 4180 line ends: a carriage return inside a text value is then quoted, not a row break.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    yield _drain(buffer)
    for record in export_records(engine, account_key, filters, now):
        writer.writerow([_csv_value(record[name]) for name in EXPORT_COLUMNS])
        if buffer.tell() >= chunk_bytes:
            yield _drain(buffer)
    if buffer.tell():
        yield _drain(buffer)


def xlsx_refusal(matching: int) -> str | None:
    """Why `matching` charges are not offered as an Excel file, in plain words; None when they
    are. Over Excel's own row limit the file could not be opened at all; over
    XLSX_EXPORT_MAX_CHARGES it would take too long and too much of the app's memory to build."""
    if matching + 1 > EXCEL_MAX_ROWS:
        return (
            f"Excel opens at most {EXCEL_MAX_ROWS - 1:,} rows of data in a sheet and these "
            f"filters match {matching:,} charges, so there is no Excel file for them. Export "
            "CSV instead: it holds every charge and any spreadsheet opens it. Or narrow the "
            "filters."
        )
    if matching > XLSX_EXPORT_MAX_CHARGES:
        return (
            f"The Excel export holds at most {XLSX_EXPORT_MAX_CHARGES:,} charges and these "
            f"filters match {matching:,}. Export CSV instead: it holds every charge and starts "
            "downloading at once. Or narrow the filters."
        )
    return None


def charges_xlsx(engine: Engine, account_key: str, filters: ChargeFilters, now: datetime) -> bytes:
    """The filtered charges as an Excel workbook: amounts numeric with their currency's decimals,
    `created_utc` a date-time cell in UTC, every text a string cell (never a formula)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Charges")
    sheet.append([_string_cell(sheet, name) for name in EXPORT_COLUMNS])
    for record in export_records(engine, account_key, filters, now):
        cells: list[Any] = []
        for name in EXPORT_COLUMNS:
            value = record[name]
            if name in _AMOUNT_COLUMNS:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = _decimals_format(value)
                cells.append(cell)
            elif name == "created_utc":
                cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
                cells.append(cell)
            elif isinstance(value, str):
                cells.append(_string_cell(sheet, value))
            else:
                cells.append(value)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _drain(buffer: io.StringIO) -> bytes:
    """The text written to `buffer` so far, as UTF-8; the buffer is emptied."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()


def _decimals_format(amount: Decimal) -> str:
    """Excel's number format showing `amount` with exactly the decimals it is written with."""
    places = max(0, -int(amount.as_tuple().exponent))
    return "0" if places == 0 else "0." + "0" * places


def _metadata_of_charge(dialect: str) -> sa.ColumnElement[Any]:
    """The stored charge's `metadata` object, extracted by the database (not the whole JSON).

    A subquery looked up by primary key for each exported row, not a join: right after a first
    sync PostgreSQL's statistics may still say the tables are nearly empty, and the join it
    then plans compares every charge with every stored object (minutes for 5,000 charges)."""
    objects = mirror_objects.c
    if dialect == "postgresql":
        metadata = sa.cast(objects.raw, postgresql.JSONB)["metadata"]
    else:
        metadata = sa.func.json_extract(objects.raw, "$.metadata")
    lookup = sa.select(metadata).where(
        objects.account_key == mirror_charges.c.account_key,
        objects.object_type == "charge",
        objects.id == mirror_charges.c.id,
    )
    return lookup.scalar_subquery().label("metadata")


def _metadata_text(value: object) -> str:
    # SQLite hands back JSON text, PostgreSQL a parsed object: write both the same way.
    parsed = json.loads(value) if isinstance(value, str) else value
    if not parsed:
        return ""
    return json.dumps(parsed, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _string_cell(sheet: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=excel_text(text))
    # openpyxl types text starting with "=" as a formula; a string cell is shown, never run.
    cell.data_type = "s"
    return cell


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return csv_text(value)
    return str(value)
