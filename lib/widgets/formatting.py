"""Turning transformed rows into what people read: money, times, numbers, badges, links, icons.

Each formatter has a vectorised `*_series` form for tables; the single-value forms are the
same code on one value, so a card and a table row always agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import pandas as pd

from lib.dates import format_datetime as absolute_datetime
from lib.dates import viewer_zone
from lib.money import (
    choose_text,
    currency_codes,
    exact_in_int64,
    format_money,
    format_money_series,
    group_digit_series,
    minor_unit_amounts,
)
from lib.number_format import app_locale, number_symbols
from lib.widgets.comparison import value_kinds
from lib.widgets.field_paths import column_or_missing
from lib.widgets.intervals import format_interval_series
from lib.widgets.schema import BadgeColor, DisplaySpec, FieldSpec, StatSpec

MONTH_ABBREVIATIONS = (
    *("Jan", "Feb", "Mar", "Apr", "May", "Jun"),
    *("Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
)
FALLBACK_BADGE_COLORS: dict[str, BadgeColor] = {
    "succeeded": "green",
    "paid": "green",
    "active": "green",
    "failed": "red",
    "canceled": "red",
    "unpaid": "red",
    "pending": "orange",
    "past_due": "orange",
    "incomplete": "orange",
    "trialing": "blue",
}
_SAFE_DIFFERENCE = 2**62
_MINUTE, _HOUR, _DAY = 60, 3600, 86400
_MONTH, _YEAR = 30 * _DAY, 365 * _DAY
# Spans below 1 minute read "just now"; the unit is the largest whose size the span reaches.
_UNIT_LIMITS = (_HOUR, _DAY, _MONTH, _YEAR)
_UNIT_SECONDS = (_MINUTE, _HOUR, _DAY, _MONTH, _YEAR)
_UNIT_WORDS = [
    f" {unit}{plural}"
    for unit in ("minute", "hour", "day", "month", "year")
    for plural in ("", "s")
]


@dataclass(frozen=True)
class StatValue:
    """One figure of a stat widget: per group (e.g. per currency) when the stat groups."""

    label: str
    group: str | None
    value: int | float | None
    text: str


def format_relative_time(ts: Any, now: datetime) -> str:
    """'just now', '5 minutes ago', '1 hour ago', '3 months ago', 'in 5 minutes'; '' if missing.

    `ts` is unix seconds (or an ISO 8601 string). Counts are whole units, rounded down.
    """
    return str(format_relative_time_series(pd.Series([ts], dtype=object), now).iloc[0])


def format_short_date(ts: Any, tz: str = "UTC") -> str:
    """'Nov 27, 2026' in time zone `tz`; '' if missing."""
    return str(format_short_date_series(pd.Series([ts], dtype=object), tz).iloc[0])


def format_datetime(ts: Any, tz: str = "UTC") -> str:
    """'Nov 27, 2026, 13:05 UTC' in time zone `tz` (its abbreviation, else its offset), the app's
    one absolute format (`lib.dates`); '' if missing."""
    return str(format_datetime_series(pd.Series([ts], dtype=object), tz).iloc[0])


def format_relative_time_series(values: pd.Series, now: datetime) -> pd.Series:
    """Vectorised `format_relative_time`."""
    moments = to_utc_timestamps(values)
    reference = pd.Timestamp(now if now.tzinfo is not None else now.replace(tzinfo=UTC))
    seconds = (reference - moments).dt.total_seconds().to_numpy()
    missing = np.isnan(seconds)
    span = np.floor(np.abs(np.where(missing, 0, seconds))).astype("int64")
    unit = np.searchsorted(_UNIT_LIMITS, span, side="right")
    count = span // np.asarray(_UNIT_SECONDS)[unit]
    future = (seconds < 0).astype("int64")
    text = (
        choose_text(["", "in "], future)
        + pd.Series(count).astype("str")
        + choose_text(_UNIT_WORDS, unit * 2 + (count != 1))
        + choose_text([" ago", ""], future)
    )
    text = text.mask(span < _MINUTE, "just now").mask(missing, "")
    return text.set_axis(values.index)


def format_short_date_series(values: pd.Series, tz: str = "UTC") -> pd.Series:
    """Vectorised `format_short_date`."""
    local = to_utc_timestamps(values).dt.tz_convert(tz)
    valid = local.notna()
    result = pd.Series("", index=values.index, dtype="str")
    if valid.any():
        shown = local[valid]
        months = np.asarray(MONTH_ABBREVIATIONS, dtype=object)[shown.dt.month.to_numpy() - 1]
        text = (
            pd.Series(months, index=shown.index, dtype="str")
            + " "
            + shown.dt.day.astype("str")
            + ", "
            + shown.dt.year.astype("str")
        )
        result[valid] = text
    return result


def format_datetime_series(values: pd.Series, tz: str = "UTC") -> pd.Series:
    """Vectorised `format_datetime`: `lib.dates`' one absolute format, once per distinct time."""
    utc = to_utc_timestamps(values)
    valid = utc.notna()
    result = pd.Series("", index=values.index, dtype="str")
    if not valid.any():
        return result
    zone = viewer_zone(tz)
    shown = utc[valid]
    texts = {stamp: absolute_datetime(stamp.to_pydatetime(), zone) for stamp in shown.unique()}
    result[valid] = shown.map(texts).astype("str")
    return result


def to_utc_timestamps(values: pd.Series) -> pd.Series:
    """Unix seconds, ISO 8601 strings or datetimes as UTC timestamps; anything else is NaT."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.to_datetime(values, utc=True)
    kinds = value_kinds(values)
    numbers = pd.to_numeric(values.where(kinds == "number"), errors="coerce")
    stamps = pd.to_datetime(numbers, unit="s", utc=True, errors="coerce")
    strings = kinds == "string"
    if strings.any():
        parsed = pd.to_datetime(
            values[strings].astype("str"), utc=True, errors="coerce", format="ISO8601"
        )
        stamps = stamps.mask(strings & stamps.isna(), parsed)
    return stamps


def format_number(value: float, locale: str | None = None) -> str:
    """One number as `format_number_series` writes it: 12345678 -> '12,345,678' ('' if missing)."""
    return str(format_number_series(pd.Series([value]), locale).iloc[0])


def format_number_series(
    values: pd.Series, locale: str | None = None, decimals: int = 3
) -> pd.Series:
    """Numbers with the locale's symbols and grouping (the app's locale unless given; the same
    grouping as money) and up to `decimals` decimals: 1234.5 -> '1,234.5'.

    Whole numbers are written exactly; fractions are rounded, and those beyond 10**15 (where
    a float no longer holds the decimals) are left blank like missing values.
    """
    symbols = number_symbols(locale or app_locale())
    numbers = pd.to_numeric(values.where(value_kinds(values) == "number"), errors="coerce")
    result = pd.Series("", index=values.index, dtype="str")
    valid = numbers.notna()
    if not pd.api.types.is_integer_dtype(numbers.dtype):
        valid &= numbers.astype("float64").abs() < 1e15
    if not valid.any():
        return result
    shown = numbers[valid]
    if pd.api.types.is_integer_dtype(shown.dtype):
        scaled, decimals = shown.astype("int64").to_numpy(), 0
    else:
        scaled = np.round(shown.astype("float64").to_numpy() * 10**decimals).astype("int64")
    negative = scaled < 0
    major, minor = np.divmod(np.abs(scaled), 10**decimals)
    text = group_digit_series(
        pd.Series(major, dtype="int64").astype("str"),
        symbols.group,
        symbols.primary_group,
        symbols.secondary_group,
    )
    if decimals:
        fraction = pd.Series(minor + 10**decimals).astype("str").str.slice(1).str.rstrip("0")
        point = np.where(fraction == "", "", symbols.decimal)
        text = text + point + fraction
    text = pd.Series(np.where(negative & (scaled != 0), "-", ""), dtype="str") + text
    result[valid] = text.to_numpy()
    return result


def format_percent_series(values: pd.Series, locale: str | None = None) -> pd.Series:
    """Fractions as percentages with up to one decimal, as the locale writes them: 0.125 ->
    '12.5%' (de_DE: '12,5\xa0%')."""
    numbers = pd.to_numeric(values.where(value_kinds(values) == "number"), errors="coerce")
    chosen = locale or app_locale()
    symbols = number_symbols(chosen)
    text = format_number_series(numbers.astype("float64") * 100, chosen, decimals=1)
    return text.mask(text != "", symbols.percent_prefix + text + symbols.percent_suffix)


def badge_colors(frame: pd.DataFrame, field: FieldSpec) -> pd.Series:
    """Streamlit colour per row for a badge: the first matching style rule, else by value.

    Fallbacks: green for succeeded/paid/active, red for failed/canceled/unpaid, orange for
    pending/past_due/incomplete, blue for trialing, gray otherwise.
    """
    values = column_or_missing(frame, field.key)
    by_value = values.astype("str").str.lower().map(FALLBACK_BADGE_COLORS)
    colors = by_value.where(values.notna() & by_value.notna(), "gray").astype("str")
    decided = pd.Series(False, index=frame.index)
    for rule in field.style:
        hit = rule.parsed_condition.evaluate_frame(frame) & ~decided
        colors[hit] = rule.color
        decided |= hit
    return colors


def format_rows(
    frame: pd.DataFrame,
    display: DisplaySpec,
    now: datetime,
    tz: str = "UTC",
    locale: str | None = None,
) -> pd.DataFrame:
    """The display text of every field (columns = field keys, in field order; nulls are '').

    Money is written in each row's own currency; dates relative to `now` or in zone `tz`;
    badges as their text; links as their linkText or URL; icons through the field's icons map.
    """
    columns = {spec.key: _format_column(frame, spec, now, tz, locale) for spec in display.fields}
    return pd.DataFrame(columns, index=frame.index, columns=list(columns))


def _format_column(
    frame: pd.DataFrame, spec: FieldSpec, now: datetime, tz: str, locale: str | None
) -> pd.Series:
    values = column_or_missing(frame, spec.key)
    if spec.type == "link":
        text = _plain_text(values)
        return text if spec.link_text is None else text.mask(text != "", spec.link_text)
    if spec.type == "icon":
        text = _plain_text(values)
        icons = text.map(spec.icons)
        return icons.where(icons.notna(), text).astype("str")
    chosen = spec.format or {"number": "number", "date": "datetime"}.get(spec.type)
    if chosen == "currency":
        return format_money_series(values, column_or_missing(frame, spec.currency_field), locale)
    if chosen == "relative-time":
        return format_relative_time_series(values, now)
    if chosen == "short-date":
        return format_short_date_series(values, tz)
    if chosen == "datetime":
        return format_datetime_series(values, tz)
    if chosen == "percent":
        return format_percent_series(values, locale)
    if chosen == "number":
        return format_number_series(values, locale)
    if chosen == "interval":
        return format_interval_series(values, column_or_missing(frame, spec.count_field))
    return _plain_text(values)


def _plain_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(
        values.dtype
    ):
        return values.fillna("").astype("str")
    text = values.map(_to_text, na_action="ignore")
    return text.where(values.notna(), "").astype("str")


def _to_text(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def compute_stat(
    frame: pd.DataFrame, display: DisplaySpec, locale: str | None = None
) -> list[StatValue]:
    """The stat view's figures: one per group (e.g. per currency), never mixing currencies.

    `count` counts non-missing values. A money figure is written in its group's currency; an
    average of money is rounded half-to-even to a whole minor unit. Currency groups are
    lower-case codes ('USD' and 'usd' are one group); a money figure leaves out rows without a
    valid currency code or a whole amount (`stat_left_out_note` says how many). No rows and a
    groupBy give no figures; without groupBy there is always one (sum and count 0, others
    missing).
    """
    stat = display.stat
    if stat is None:
        return []
    spec = display.field_named(stat.field)
    values = stat_values(frame, stat)
    if stat.group_by is None:
        return [_stat_value(stat.label, None, values, stat.aggregate, spec, locale)]
    groups = column_or_missing(frame, stat.group_by)
    if _groups_by_currency(stat, spec):
        keys = currency_codes(groups)
    else:
        keys = groups.astype("str").where(groups.notna(), None)
    if _is_money_stat(stat, spec):
        values = minor_unit_amounts(values)
        kept = keys.notna() & values.notna()
        values, keys = values[kept], keys[kept]
    figures = [
        _stat_value(stat.label, key, values[keys == key], stat.aggregate, spec, locale)
        for key in sorted(keys.dropna().unique())
    ]
    if keys.isna().any():
        figures.append(
            _stat_value(stat.label, None, values[keys.isna()], stat.aggregate, spec, locale)
        )
    return figures


def stat_values(frame: pd.DataFrame, stat: StatSpec) -> pd.Series:
    """The values a stat aggregates: its field, less its `minus` field row by row (whole numbers
    only; a row where either is not one, or is beyond 2**62, has no value)."""
    values = column_or_missing(frame, stat.field)
    if stat.minus is None:
        return values
    kept = minor_unit_amounts(values)
    taken = minor_unit_amounts(column_or_missing(frame, stat.minus))
    # Below 2**62 on both sides a difference cannot wrap int64.
    safe = (kept.abs() < _SAFE_DIFFERENCE) & (taken.abs() < _SAFE_DIFFERENCE)
    return (kept - taken).where(safe.fillna(False))


def stat_left_out_note(frame: pd.DataFrame, display: DisplaySpec) -> str:
    """'2 rows left out: no valid currency code or whole amount' for a money stat, else ''."""
    stat = display.stat
    if stat is None or not _is_money_stat(stat, display.field_named(stat.field)):
        return ""
    present = column_or_missing(frame, stat.field).notna()
    currencies = currency_codes(column_or_missing(frame, stat.group_by or ""))
    usable = minor_unit_amounts(stat_values(frame, stat)).notna() & currencies.notna()
    count = int((present & ~usable).sum())
    if not count:
        return ""
    rows = "1 row" if count == 1 else f"{format_number(count)} rows"
    return f"{rows} left out: no valid currency code or whole amount"


def _is_money_stat(stat: StatSpec, spec: FieldSpec | None) -> bool:
    return _groups_by_currency(stat, spec) and stat.aggregate != "count"


def _groups_by_currency(stat: StatSpec, spec: FieldSpec | None) -> bool:
    return spec is not None and spec.format == "currency" and stat.group_by == spec.currency_field


def _stat_value(
    label: str,
    group: str | None,
    values: pd.Series,
    aggregate: str,
    spec: FieldSpec | None,
    locale: str | None,
) -> StatValue:
    value = _aggregate(values, aggregate)
    if value is None:
        return StatValue(label, group, None, "")
    if aggregate == "count" or spec is None:
        return StatValue(label, group, value, _number_text(value, locale))
    if spec.format == "currency" and group is not None and isinstance(value, int):
        return StatValue(label, group, value, format_money(value, group, locale))
    if spec.format == "percent":
        text = format_percent_series(pd.Series([value]), locale).iloc[0]
        return StatValue(label, group, value, str(text))
    return StatValue(label, group, value, _number_text(value, locale))


def _aggregate(values: pd.Series, aggregate: str) -> int | float | None:
    if aggregate == "count":
        return int(values.notna().sum())
    numbers = pd.to_numeric(values[value_kinds(values) == "number"])
    if numbers.empty:
        return 0 if aggregate == "sum" else None
    whole = pd.api.types.is_integer_dtype(numbers.dtype)
    if whole and aggregate in ("sum", "avg"):
        # Python integers when an int64 sum could wrap: money stays exact.
        total = (
            int(numbers.astype("int64").sum())
            if exact_in_int64(numbers)
            else sum(int(number) for number in numbers)
        )
        if aggregate == "sum":
            return total
        mean = Decimal(total) / len(numbers)
        return int(mean.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    result = numbers.mean() if aggregate == "avg" else getattr(numbers, aggregate)()
    return int(result) if whole and aggregate != "avg" else float(result)


def _number_text(value: float, locale: str | None) -> str:
    return format_number(value, locale)
