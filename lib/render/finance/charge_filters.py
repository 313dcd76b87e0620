"""The charges explorer's sidebar filters, first filled from the URL, then from the user."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import streamlit as st
from sqlalchemy.engine import Engine

from lib.finance import (
    AmountError,
    ChargeFilters,
    filter_choices,
    from_query_params,
    parse_major_amount,
)
from lib.finance.filters import (
    CHARGE_STATUSES,
    DATE_PRESETS,
    FIRST_DAY,
    LAST_DAY,
    MAX_AMOUNT_TEXT,
    MAX_SEARCH_LENGTH,
    REFUND_STATES,
    SORT_KEYS,
    TRISTATES,
    amount_text,
)
from lib.render.safe_markdown import escape_markdown
from lib.render.url_warnings import warn_ignored_link_values

_K = "charges_"
_KEY_PRESET, _KEY_DATES, _KEY_STATUS = f"{_K}range", f"{_K}dates", f"{_K}status"
_KEY_CURRENCY, _KEY_MIN, _KEY_MAX = f"{_K}currency", f"{_K}min", f"{_K}max"
_KEY_CUSTOMER, _KEY_BRAND, _KEY_REFUNDED = f"{_K}customer", f"{_K}brand", f"{_K}refunded"
_KEY_DISPUTED, _KEY_TEXT, _KEY_SORT = f"{_K}disputed", f"{_K}q", f"{_K}sort"
_KEY_ORDER = f"{_K}order"
_ORDERS = {"desc": "Descending", "asc": "Ascending"}
Choice = TypeVar("Choice", bound=str)


def filter_controls(engine: Engine, account_key: str, now: datetime) -> ChargeFilters:
    """The sidebar filters, first filled from the URL; returns the filters to apply (an amount
    that cannot be applied is reported and left out).

    The URL's values are each widget's own default, never written into session state first: a
    widget's default is what the browser shows when it draws the widget anew, so a default that
    differed from the value in use (index 0, "All time", over "Last 30 days") would be shown
    while the other was applied.
    """
    parsed = from_query_params(st.query_params.to_dict())
    seed = parsed.filters
    currencies, brands = filter_choices(engine, account_key)
    today = now.astimezone(UTC).date()
    with st.sidebar:
        st.header("Filter charges")
        preset = _choice("Date range (UTC)", DATE_PRESETS, seed.preset, _KEY_PRESET)
        start = end = None
        if preset == "custom":
            chosen = st.date_input(
                "From – to",
                value=(seed.start or today - timedelta(days=30), seed.end or today),
                key=_KEY_DATES,
                min_value=FIRST_DAY,
                max_value=LAST_DAY,
            )
            days = list(chosen) if isinstance(chosen, tuple | list) else [chosen]
            start = days[0] if days else None
            end = days[1] if len(days) > 1 else start
        statuses = _several("Status", CHARGE_STATUSES, seed.statuses, _KEY_STATUS)
        chosen_currencies = _several(
            "Currency", currencies, seed.currencies, _KEY_CURRENCY, format_func=str.upper
        )
        single = chosen_currencies[0] if len(chosen_currencies) == 1 else None
        low_col, high_col = st.columns(2)
        unit = single.upper() if single else "choose one currency"
        low_text = low_col.text_input(
            f"Min amount ({unit})",
            value=_typed(seed.min_amount),
            key=_KEY_MIN,
            disabled=not single,
            max_chars=MAX_AMOUNT_TEXT,
        )
        high_text = high_col.text_input(
            f"Max amount ({unit})",
            value=_typed(seed.max_amount),
            key=_KEY_MAX,
            disabled=not single,
            max_chars=MAX_AMOUNT_TEXT,
        )
        customer = st.text_input(
            "Customer email or name",
            value=seed.customer,
            key=_KEY_CUSTOMER,
            max_chars=MAX_SEARCH_LENGTH,
        )
        chosen_brands = _several("Card brand", brands, seed.brands, _KEY_BRAND)
        refunded = _choice("Refunded", REFUND_STATES, seed.refunded, _KEY_REFUNDED)
        disputed = _choice("Disputed", TRISTATES, seed.disputed, _KEY_DISPUTED)
        text = st.text_input(
            "Search id, email or description",
            value=seed.text,
            key=_KEY_TEXT,
            max_chars=MAX_SEARCH_LENGTH,
        )
        sort = _choice("Sort by", SORT_KEYS, seed.sort, _KEY_SORT)
        order = _choice("Order", _ORDERS, "desc" if seed.descending else "asc", _KEY_ORDER)
        low, high = _amount_bounds(low_text, high_text, single)
    warn_ignored_link_values(parsed.ignored)
    filters = ChargeFilters(
        preset=preset,
        start=start,
        end=end,
        statuses=tuple(statuses),
        currencies=tuple(chosen_currencies),
        min_amount=low,
        max_amount=high,
        customer=customer.strip(),
        brands=tuple(chosen_brands),
        refunded=refunded,
        disputed=disputed,
        text=text.strip(),
        sort=sort,
        descending=order == "desc",
    )
    return filters


def _choice(label: str, labels: Mapping[Choice, str], default: Choice, key: str) -> Choice:
    """A selectbox over `labels`' keys whose own default is `default`."""
    options = list(labels)
    return st.selectbox(
        label, options, index=options.index(default), format_func=labels.get, key=key
    )


def _several(
    label: str,
    available: Sequence[str],
    default: Sequence[str],
    key: str,
    format_func: Callable[[str], str] = str,
) -> list[str]:
    """A multiselect whose own default is `default`; values from a shared link or chosen before
    stay selectable even when this mirror has none of them."""
    chosen = st.session_state.get(key) or []
    options = list(dict.fromkeys([*available, *default, *chosen]))
    return st.multiselect(label, options, default=list(default), format_func=format_func, key=key)


def _typed(amount: Decimal | None) -> str:
    return "" if amount is None else amount_text(amount)


def _amount_bounds(
    low_text: str, high_text: str, currency: str | None
) -> tuple[Decimal | None, Decimal | None]:
    if currency is None:
        if low_text.strip() or high_text.strip():
            st.caption("Choose exactly one currency to filter by amount.")
        return None, None
    bounds: list[Decimal | None] = []
    for label, text in (("Min", low_text), ("Max", high_text)):
        try:
            value = parse_major_amount(text)
            if value is not None:
                ChargeFilters(currencies=(currency,), min_amount=value).amount_bounds()
            bounds.append(value)
        except AmountError as error:
            reason = str(error)
            end = "" if reason.endswith("?") else "."
            st.warning(f"{label} amount ignored: {escape_markdown(reason)}{end}")
            bounds.append(None)
    return bounds[0], bounds[1]
