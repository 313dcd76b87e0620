"""The audit log as CSV: one row per entry, times in ISO 8601 UTC, no cell a spreadsheet could
run as a formula (actor names, account names and details come from outside)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from lib.auth.audit import AuditEntry
from lib.finance.formula_guard import csv_text

AUDIT_CSV_COLUMNS = (
    "occurred_at_utc",
    "actor",
    "role",
    "actor_kind",
    "client_address",
    "action",
    "account",
    "result",
    "detail",
    "attempts",
)


def audit_csv(entries: Iterable[AuditEntry]) -> bytes:
    """`entries` as UTF-8 CSV with a header row; text a spreadsheet would run as a formula
    starts with `'`."""
    buffer = io.StringIO()
    # RFC 4180 line ends: a carriage return inside a text value is then quoted, not a row break.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(AUDIT_CSV_COLUMNS)
    for entry in entries:
        text = (
            entry.actor,
            entry.role or "",
            entry.actor_kind,
            entry.client_address or "",
            entry.action,
            entry.account or "",
            entry.result,
            entry.detail or "",
        )
        cells = [entry.occurred_at.isoformat(), *(csv_text(value) for value in text)]
        writer.writerow([*cells, entry.attempts])
    return buffer.getvalue().encode()
