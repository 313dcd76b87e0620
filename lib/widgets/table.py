"""The values behind a table view: sortable numbers and dates, with money per its own currency."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lib.money import api_exponent
from lib.widgets.formatting import to_utc_timestamps
from lib.widgets.intervals import format_interval_series
from lib.widgets.schema import DisplaySpec, FieldSpec

DATE_FORMATS = ("relative-time", "short-date", "datetime")


@dataclass(frozen=True)
class MoneyColumn:
    key: str
    currencies: pd.Series
    """Lower-case ISO code per row; the renderer formats each currency's rows on their own."""


def is_money(spec: FieldSpec) -> bool:
    return spec.format == "currency"


def is_date(spec: FieldSpec) -> bool:
    return spec.format in DATE_FORMATS or (spec.type == "date" and spec.format is None)


def table_values(
    frame: pd.DataFrame, display: DisplaySpec
) -> tuple[pd.DataFrame, list[MoneyColumn]]:
    """One column per field (keyed by field key) whose values sort the way people expect.

    Money becomes major units (so ¥1,000 sorts above $10.00 within a currency and every row can
    be written in its own currency by the renderer); dates become UTC datetimes.
    """
    columns: dict[str, pd.Series] = {}
    money: list[MoneyColumn] = []
    for spec in display.fields:
        values = (
            frame[spec.key] if spec.key in frame.columns else pd.Series(None, index=frame.index)
        )
        if is_money(spec):
            currencies = frame.get(spec.currency_field, pd.Series("", index=frame.index))
            currencies = currencies.fillna("").astype("str").str.lower()
            divisor = currencies.map(lambda code: 10 ** api_exponent(code) if code else 1)
            columns[spec.key] = pd.to_numeric(values, errors="coerce") / divisor
            money.append(MoneyColumn(spec.key, currencies))
        elif is_date(spec):
            columns[spec.key] = to_utc_timestamps(values)
        elif spec.format == "interval":
            counts = frame.get(spec.count_field, pd.Series(None, index=frame.index))
            columns[spec.key] = format_interval_series(values, counts)
        else:
            columns[spec.key] = values
    return pd.DataFrame(columns, index=frame.index), money
