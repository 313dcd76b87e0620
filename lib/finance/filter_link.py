"""The charges explorer's filters as URL query parameters, and back, with every value bounded.

A shared link reproduces the exact view. A link is also anyone's to write, so each value is
checked for length, control characters, ASCII digits, allowed choices and date range before
anything converts it; what cannot be used is ignored and named, the rest still applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import get_args

from lib.finance.filters import (
    CHARGE_STATUSES,
    FIRST_DAY,
    LAST_DAY,
    MAX_SEARCH_LENGTH,
    AmountError,
    ChargeFilters,
    DatePreset,
    RefundState,
    SortKey,
    Tristate,
    has_control_characters,
    parse_major_amount,
)
from lib.number_format import URL_LOCALE

MAX_VALUE_LENGTH = MAX_SEARCH_LENGTH
"""Characters of any one query value; longer values are ignored before they are read."""
MAX_PAGE = 999_999
SHOWN_VALUE_LENGTH = 80
"""Characters of an ignored value quoted back in a warning."""
_DEFAULTS = ChargeFilters()
_LISTS = {"statuses": "status", "currencies": "currency", "brands": "brand"}
_TEXTS = {"customer": "customer", "text": "q"}
_ORDERS = ("asc", "desc")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PAGE = re.compile(r"[0-9]{1,6}")
_CURRENCY = re.compile(r"[a-z]{3}")
_BRAND = re.compile(r"[a-z0-9_]{1,32}")
KNOWN_KEYS = frozenset(
    {"range", "from", "to", "min", "max", "refunded", "disputed", "sort", "dir", "page"}
    | set(_LISTS.values())
    | set(_TEXTS.values())
)


@dataclass(frozen=True)
class IgnoredParam:
    """One value of a link that was not applied, and why (in plain words)."""

    key: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.key}={self.value}"

    def shown(self) -> str:
        """`key=value (reason)` for a warning: characters that do not print are written as
        `\\uXXXX`, and the key and value are cut at SHOWN_VALUE_LENGTH characters."""
        return f"{_visible(self.key)}={_visible(self.value)} ({self.reason})"


@dataclass(frozen=True)
class ParsedFilters:
    """Filters read from a URL, and what in the URL had to be ignored."""

    filters: ChargeFilters
    ignored: list[IgnoredParam] = field(default_factory=list)


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
        params["min"] = format(filters.min_amount, "f")
    if filters.max_amount is not None:
        params["max"] = format(filters.max_amount, "f")
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


def from_query_params(params: Mapping[str, str]) -> ParsedFilters:
    """Filters from URL query parameters. Every value is bounded before it is converted; an
    unknown key, a malformed or out-of-range value, an unknown status is ignored and listed."""
    ignored: list[IgnoredParam] = []
    values: dict[str, object] = {}
    usable: dict[str, str] = {}
    for key, value in params.items():
        problem = _unreadable(key, value)
        if problem:
            ignored.append(IgnoredParam(key, value, problem))
        else:
            usable[key] = value

    def refuse(key: str, value: str, reason: str) -> None:
        ignored.append(IgnoredParam(key, value, reason))

    for key, name, allowed in (
        ("range", "preset", get_args(DatePreset)),
        ("refunded", "refunded", get_args(RefundState)),
        ("disputed", "disputed", get_args(Tristate)),
        ("sort", "sort", get_args(SortKey)),
        ("dir", "descending", _ORDERS),
    ):
        if key in usable:
            if usable[key] in allowed:
                values[name] = usable[key] if key != "dir" else usable[key] == "desc"
            else:
                refuse(key, usable[key], "not one of " + ", ".join(allowed))
    for name, key in (("start", "from"), ("end", "to")):
        if key in usable:
            day, problem = _day(usable[key])
            if day is None:
                refuse(key, usable[key], problem)
            else:
                values[name] = day
    for name, key in _LISTS.items():
        items = [item.strip().lower() for item in usable.get(key, "").split(",") if item.strip()]
        kept = []
        for item in items:
            problem = _list_item_problem(key, item)
            if problem:
                refuse(key, item, problem)
            else:
                kept.append(item)
        if kept:
            values[name] = tuple(dict.fromkeys(kept))
    for name, key in (("min_amount", "min"), ("max_amount", "max")):
        if key in usable:
            try:
                values[name] = parse_major_amount(usable[key], URL_LOCALE)
            except AmountError as error:
                refuse(key, usable[key], str(error))
    for name, key in _TEXTS.items():
        if usable.get(key, "").strip():
            values[name] = usable[key].strip()
    if "page" in usable:
        text = usable["page"]
        if _PAGE.fullmatch(text) and int(text) >= 1:
            values["page"] = int(text)
        else:
            refuse("page", text, f"not a page number from 1 to {MAX_PAGE:,}")
    known = {f.name for f in fields(ChargeFilters)}
    return ParsedFilters(
        ChargeFilters(**{k: v for k, v in values.items() if k in known}),  # type: ignore[arg-type]
        ignored,
    )


def _unreadable(key: str, value: str) -> str | None:
    """Why a query value is ignored before it is read at all, or None."""
    if key not in KNOWN_KEYS:
        return "not a filter"
    if len(value) > MAX_VALUE_LENGTH:
        return f"{len(value):,} characters; at most {MAX_VALUE_LENGTH}"
    if has_control_characters(value):
        return "contains control characters"
    return None


def _day(text: str) -> tuple[date | None, str]:
    if not _DAY.fullmatch(text):
        return None, "not a date written YYYY-MM-DD"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None, "not a date written YYYY-MM-DD"
    if not FIRST_DAY <= day <= LAST_DAY:
        return None, f"outside {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
    return day, ""


def _list_item_problem(key: str, item: str) -> str | None:
    if key == "status" and item not in CHARGE_STATUSES:
        return "not one of " + ", ".join(CHARGE_STATUSES)
    if key == "currency" and not _CURRENCY.fullmatch(item):
        return "not a three-letter currency code"
    if key == "brand" and not _BRAND.fullmatch(item):
        return "not a card brand"
    return None


def _visible(text: str) -> str:
    cut = text[:SHOWN_VALUE_LENGTH]
    shown = "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in cut)
    return shown + "…" if len(text) > SHOWN_VALUE_LENGTH else shown
