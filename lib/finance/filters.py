"""The charges explorer's filter state: its fields, its date range and its amounts.

Everything a finance user can narrow the charges by lives in one frozen `ChargeFilters`;
`lib.finance.filter_link` writes it to URL query parameters and reads it back, bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from babel.numbers import NumberFormatError, parse_decimal

from lib.money import MAX_AMOUNT_DIGITS, AmountError, to_minor
from lib.number_format import app_locale, number_symbols

DatePreset = Literal["all", "today", "7d", "30d", "this_month", "last_month", "custom"]
RefundState = Literal["any", "full", "partial", "none"]
Tristate = Literal["any", "yes", "no"]
SortKey = Literal["created", "amount", "customer", "status"]

DATE_PRESETS: dict[DatePreset, str] = {
    "all": "All time",
    "today": "Today",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "this_month": "This month",
    "last_month": "Last month",
    "custom": "Custom range",
}
REFUND_STATES: dict[RefundState, str] = {
    "any": "Any",
    "full": "Fully refunded",
    "partial": "Partly refunded",
    "none": "Not refunded",
}
TRISTATES: dict[Tristate, str] = {"any": "Any", "yes": "Yes", "no": "No"}
SORT_KEYS: dict[SortKey, str] = {
    "created": "Date",
    "amount": "Amount (within each currency)",
    "customer": "Customer",
    "status": "Status",
}
CHARGE_STATUSES = ("succeeded", "failed", "pending")
MAX_AMOUNT_DECIMALS = 6
MAX_AMOUNT_TEXT = 40
"""Characters of a typed amount, group separators and spaces included."""
MAX_SEARCH_LENGTH = 200
"""Characters of a search term; far below SQLite's LIKE pattern limit (50,000 bytes)."""
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2099, 12, 31)
# ASCII digits only: str.isdigit() and Decimal() also accept "²" and "١٢".
_DIGITS = "0123456789"
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_DAY_SECONDS = 86_400


def parse_major_amount(text: str, locale: str | None = None) -> Decimal | None:
    """A typed amount as `locale` writes numbers (the app's locale unless given): '1,234.50' in
    en_US, '1.234,50' in de_DE; None when blank. Raises AmountError unless it is ASCII digits
    with the locale's decimal symbol and group symbols where the locale puts them (babel's
    strict parsing: '12.50' in de_DE is refused with a suggestion), at most MAX_AMOUNT_DIGITS
    before the decimal symbol and MAX_AMOUNT_DECIMALS after it (no sign, exponent, NaN or
    Infinity). Spaces are ignored, or read as the group symbol where that is a space."""
    if len(text) > MAX_AMOUNT_TEXT:
        raise AmountError(f"an amount has at most {MAX_AMOUNT_TEXT} characters")
    shown = text.strip()
    if not shown:
        return None
    chosen = locale or app_locale()
    symbols = number_symbols(chosen)
    typed = _SPACES.sub(symbols.group if symbols.group.isspace() else "", shown)
    if not set(typed) <= set(_DIGITS + symbols.decimal + symbols.group):
        raise AmountError(f"{shown!r} is not an amount")
    try:
        value = parse_decimal(typed, locale=chosen, strict=True)
    except NumberFormatError as error:
        hint = " or ".join(repr(text) for text in error.suggestions or [])
        raise AmountError(
            f"{shown!r} is not an amount" + (f"; did you mean {hint}?" if hint else "")
        ) from None
    except (ArithmeticError, ValueError):
        raise AmountError(f"{shown!r} is not an amount") from None
    whole, _, fraction = format(value, "f").partition(".")
    if len(whole.lstrip("0")) > MAX_AMOUNT_DIGITS:
        raise AmountError(f"{shown!r} is too large (at most {MAX_AMOUNT_DIGITS} digits)")
    if len(fraction) > MAX_AMOUNT_DECIMALS:
        raise AmountError(f"{shown!r} has more than {MAX_AMOUNT_DECIMALS} decimals")
    return value


def amount_text(value: Decimal, locale: str | None = None) -> str:
    """`value` as typed in `locale` (the app's unless given), without group symbols: '1234,5'
    in de_DE; `parse_major_amount` reads it back."""
    whole, point, fraction = format(value, "f").partition(".")
    return whole + (number_symbols(locale or app_locale()).decimal + fraction if point else "")


def search_term(text: str) -> str:
    """`text` as a search term: control characters dropped, trimmed, lower-cased and cut at
    MAX_SEARCH_LENGTH characters, so any input makes a bounded, valid LIKE pattern."""
    return _CONTROL.sub("", text).strip().lower()[:MAX_SEARCH_LENGTH]


def has_control_characters(text: str) -> bool:
    """True when `text` holds a control character or a lone surrogate (never in a real filter;
    PostgreSQL refuses NUL in text)."""
    return _CONTROL.search(text) is not None


@dataclass(frozen=True)
class ChargeFilters:
    """What the charges explorer shows. Dates are UTC calendar days; amounts in major units
    of the single chosen currency; text searches ignore case."""

    preset: DatePreset = "30d"
    start: date | None = None
    """First day of a custom range (inclusive)."""
    end: date | None = None
    """Last day of a custom range (inclusive)."""
    statuses: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    customer: str = ""
    """Matches the customer's email or name."""
    brands: tuple[str, ...] = ()
    refunded: RefundState = "any"
    disputed: Tristate = "any"
    text: str = ""
    """Matches the charge id, the customer email or the description."""
    sort: SortKey = "created"
    descending: bool = True
    page: int = 1

    @property
    def amount_currency(self) -> str | None:
        """The currency amounts are read in: set only when exactly one currency is chosen."""
        return self.currencies[0] if len(self.currencies) == 1 else None

    def amount_bounds(self) -> tuple[int | None, int | None]:
        """The amount range in minor units of `amount_currency`.

        Raises AmountError when a bound is set without exactly one currency, or cannot be
        written exactly in that currency.
        """
        if self.min_amount is None and self.max_amount is None:
            return None, None
        currency = self.amount_currency
        if currency is None:
            raise AmountError("choose exactly one currency to filter by amount")
        low = None if self.min_amount is None else to_minor(self.min_amount, currency)
        high = None if self.max_amount is None else to_minor(self.max_amount, currency)
        return low, high

    def time_bounds(self, now: datetime) -> tuple[int | None, int | None]:
        """[start, end) of the date range in unix seconds (None = unbounded), UTC days."""
        moment = now.astimezone(UTC)
        today = moment.date()
        month_start = today.replace(day=1)
        if self.preset == "today":
            return _midnight(today), _midnight(today + timedelta(days=1))
        if self.preset in ("7d", "30d"):
            days = 7 if self.preset == "7d" else 30
            return int((moment - timedelta(days=days)).timestamp()), None
        if self.preset == "this_month":
            return _midnight(month_start), None
        if self.preset == "last_month":
            previous = (month_start - timedelta(days=1)).replace(day=1)
            return _midnight(previous), _midnight(month_start)
        if self.preset == "custom":
            low = None if self.start is None else _midnight(self.start)
            # Seconds, not end + 1 day: that overflows on date.max.
            high = None if self.end is None else _midnight(self.end) + _DAY_SECONDS
            return low, high
        return None, None

    def with_changes(self, **changes: object) -> ChargeFilters:
        """A copy with `changes`; any change other than the page goes back to page 1."""
        page = changes.pop("page", None)
        updated = replace(self, **changes)  # type: ignore[arg-type]
        if page is not None:
            return replace(updated, page=max(1, int(page)))  # type: ignore[call-overload]
        return replace(updated, page=1) if updated != self else updated


def _midnight(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp())
