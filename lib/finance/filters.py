"""The charges explorer's filter state: its fields, its date range, and its URL form.

Everything a finance user can narrow the charges by lives in one frozen `ChargeFilters`, which
round-trips through URL query parameters so a shared link reproduces the exact view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

from lib.money import api_exponent

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


class AmountError(ValueError):
    """An amount that the chosen currency cannot express exactly."""


def to_minor(amount: Decimal, currency: str) -> int:
    """Major units to Stripe's integer minor units, exactly: (Decimal('19.99'), 'usd') -> 1999.

    Raises AmountError when the amount has more decimals than the currency (e.g. 1.5 JPY).
    """
    scaled = amount.scaleb(api_exponent(currency))
    if scaled != scaled.to_integral_value():
        places = api_exponent(currency)
        raise AmountError(
            f"{currency.upper()} amounts have {places} decimal place{'s' * (places != 1)}"
        )
    return int(scaled)


def parse_major_amount(text: str) -> Decimal | None:
    """A typed amount ('1,234.50', ' 12 ') as a Decimal; None when blank; AmountError when it
    is not a non-negative number."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise AmountError(f"{text.strip()!r} is not an amount") from None
    if not value.is_finite() or value < 0:
        raise AmountError(f"{text.strip()!r} is not an amount")
    return value


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
            high = None if self.end is None else _midnight(self.end + timedelta(days=1))
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


_DEFAULTS = ChargeFilters()
_LISTS = {"statuses": "status", "currencies": "currency", "brands": "brand"}
_TEXTS = {"customer": "customer", "text": "q"}


def to_query_params(filters: ChargeFilters) -> dict[str, str]:
    """The URL query parameters for `filters`; values equal to the default are left out."""
    params: dict[str, str] = {}
    if filters.preset != _DEFAULTS.preset:
        params["range"] = filters.preset
    if filters.preset == "custom":
        if filters.start is not None:
            params["from"] = filters.start.isoformat()
        if filters.end is not None:
            params["to"] = filters.end.isoformat()
    for name, key in _LISTS.items():
        values = getattr(filters, name)
        if values:
            params[key] = ",".join(values)
    if filters.min_amount is not None:
        params["min"] = str(filters.min_amount)
    if filters.max_amount is not None:
        params["max"] = str(filters.max_amount)
    for name, key in _TEXTS.items():
        if getattr(filters, name):
            params[key] = getattr(filters, name)
    if filters.refunded != "any":
        params["refunded"] = filters.refunded
    if filters.disputed != "any":
        params["disputed"] = filters.disputed
    if filters.sort != _DEFAULTS.sort:
        params["sort"] = filters.sort
    if not filters.descending:
        params["dir"] = "asc"
    if filters.page != 1:
        params["page"] = str(filters.page)
    return params


@dataclass(frozen=True)
class ParsedFilters:
    """Filters read from a URL, and what in the URL had to be ignored (in plain words)."""

    filters: ChargeFilters
    ignored: list[str] = field(default_factory=list)


def from_query_params(params: Mapping[str, str]) -> ParsedFilters:
    """Filters from URL query parameters; unknown or malformed values are ignored and listed."""
    ignored: list[str] = []
    values: dict[str, object] = {}

    def choice(key: str, allowed: tuple[str, ...], name: str) -> None:
        raw = params.get(key)
        if raw is None:
            return
        if raw in allowed:
            values[name] = raw
        else:
            ignored.append(f"{key}={raw}")

    choice("range", get_args(DatePreset), "preset")
    choice("refunded", get_args(RefundState), "refunded")
    choice("disputed", get_args(Tristate), "disputed")
    choice("sort", get_args(SortKey), "sort")
    if params.get("dir") in ("asc", "desc"):
        values["descending"] = params["dir"] == "desc"
    for name, key in (("start", "from"), ("end", "to")):
        if key in params:
            try:
                values[name] = date.fromisoformat(params[key])
            except ValueError:
                ignored.append(f"{key}={params[key]}")
    for name, key in _LISTS.items():
        if params.get(key):
            items = [item.strip().lower() for item in params[key].split(",") if item.strip()]
            values[name] = tuple(dict.fromkeys(items))
    for name, key in (("min_amount", "min"), ("max_amount", "max")):
        if key in params:
            try:
                values[name] = parse_major_amount(params[key])
            except AmountError:
                ignored.append(f"{key}={params[key]}")
    for name, key in _TEXTS.items():
        if params.get(key):
            values[name] = params[key]
    if "page" in params:
        if params["page"].isdigit() and int(params["page"]) >= 1:
            values["page"] = int(params["page"])
        else:
            ignored.append(f"page={params['page']}")
    known = {f.name for f in fields(ChargeFilters)}
    return ParsedFilters(
        ChargeFilters(**{k: v for k, v in values.items() if k in known}),  # type: ignore[arg-type]
        ignored,
    )
