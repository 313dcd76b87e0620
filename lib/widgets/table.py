"""The values behind a table view: sortable numbers and dates, with money per its own currency."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lib.money import api_exponent, currency_codes, format_money, minor_unit_amounts
from lib.widgets.field_paths import column_or_missing
from lib.widgets.formatting import to_utc_timestamps
from lib.widgets.intervals import format_interval_series
from lib.widgets.schema import DisplaySpec, FieldSpec

DATE_FORMATS = ("relative-time", "short-date", "datetime")


@dataclass(frozen=True)
class MoneyColumn:
    key: str
    currencies: pd.Series
    """Lower-case ISO code per row ("" when missing or malformed); each is formatted on its own."""


@dataclass(frozen=True)
class TableValues:
    """What a table sorts by (one column per field key) and which columns hold money."""

    values: pd.DataFrame
    money: tuple[MoneyColumn, ...]


def money_text(major: float, currency: str) -> str:
    """A table's money value (major units of `currency`) as the cell shows it; "" if missing."""
    if pd.isna(major):
        return ""
    scale = 10 ** api_exponent(currency) if currency else 1
    return format_money(round(major * scale), currency)


def is_money(spec: FieldSpec) -> bool:
    return spec.format == "currency"


def is_date(spec: FieldSpec) -> bool:
    return spec.format in DATE_FORMATS or (spec.type == "date" and spec.format is None)


def table_values(
    frame: pd.DataFrame, display: DisplaySpec
) -> tuple[pd.DataFrame, list[MoneyColumn]]:
    """One column per field (keyed by field key) whose values sort the way people expect.

    Money becomes major units (so ¥1,000 sorts above $10.00 within a currency and every row can
    be written in its own currency by the renderer); a row without a valid currency code or a
    whole minor-unit amount has no value (shown empty, sorted last). Dates become UTC datetimes.
    """
    columns: dict[str, pd.Series] = {}
    money: list[MoneyColumn] = []
    for spec in display.fields:
        values = column_or_missing(frame, spec.key)
        if is_money(spec):
            codes = currency_codes(column_or_missing(frame, spec.currency_field))
            exponents = {code: api_exponent(code) for code in codes.dropna().unique()}
            divisor = 10.0 ** codes.map(exponents).astype("float64")
            columns[spec.key] = minor_unit_amounts(values).astype("float64") / divisor
            money.append(MoneyColumn(spec.key, codes.fillna("").astype("str")))
        elif is_date(spec):
            columns[spec.key] = to_utc_timestamps(values)
        elif spec.format == "interval":
            counts = column_or_missing(frame, spec.count_field)
            columns[spec.key] = format_interval_series(values, counts)
        else:
            columns[spec.key] = values
    return pd.DataFrame(columns, index=frame.index), money
