"""The charges explorer's sidebar filters, first filled from the URL, then from the user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

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


def filter_controls(engine: Engine, account_key: str, now: datetime) -> ChargeFilters:
    """The sidebar filters, first filled from the URL; returns the filters to apply (an amount
    that cannot be applied is reported and left out)."""
    parsed = from_query_params(st.query_params.to_dict())
    seed = parsed.filters
    currencies, brands = filter_choices(engine, account_key)
    today = now.astimezone(UTC).date()
    _seed(_KEY_PRESET, seed.preset)
    _seed(_KEY_DATES, (seed.start or today - timedelta(days=30), seed.end or today))
    _seed(_KEY_STATUS, list(seed.statuses))
    _seed(_KEY_CURRENCY, list(seed.currencies))
    _seed(_KEY_MIN, "" if seed.min_amount is None else str(seed.min_amount))
    _seed(_KEY_MAX, "" if seed.max_amount is None else str(seed.max_amount))
    _seed(_KEY_CUSTOMER, seed.customer)
    _seed(_KEY_BRAND, list(seed.brands))
    _seed(_KEY_REFUNDED, seed.refunded)
    _seed(_KEY_DISPUTED, seed.disputed)
    _seed(_KEY_TEXT, seed.text)
    _seed(_KEY_SORT, seed.sort)
    _seed(_KEY_ORDER, "desc" if seed.descending else "asc")
    with st.sidebar:
        st.header("Filter charges")
        preset = st.selectbox(
            "Date range (UTC)", list(DATE_PRESETS), format_func=DATE_PRESETS.get, key=_KEY_PRESET
        )
        start = end = None
        if preset == "custom":
            chosen = st.date_input(
                "From – to", key=_KEY_DATES, min_value=FIRST_DAY, max_value=LAST_DAY
            )
            days = list(chosen) if isinstance(chosen, tuple | list) else [chosen]
            start = days[0] if days else None
            end = days[1] if len(days) > 1 else start
        statuses = st.multiselect("Status", _options(CHARGE_STATUSES, _KEY_STATUS), key=_KEY_STATUS)
        chosen_currencies = st.multiselect(
            "Currency",
            _options(currencies, _KEY_CURRENCY),
            format_func=str.upper,
            key=_KEY_CURRENCY,
        )
        single = chosen_currencies[0] if len(chosen_currencies) == 1 else None
        low_col, high_col = st.columns(2)
        unit = single.upper() if single else "choose one currency"
        low_text = low_col.text_input(
            f"Min amount ({unit})", key=_KEY_MIN, disabled=not single, max_chars=MAX_AMOUNT_TEXT
        )
        high_text = high_col.text_input(
            f"Max amount ({unit})", key=_KEY_MAX, disabled=not single, max_chars=MAX_AMOUNT_TEXT
        )
        customer = st.text_input(
            "Customer email or name", key=_KEY_CUSTOMER, max_chars=MAX_SEARCH_LENGTH
        )
        chosen_brands = st.multiselect("Card brand", _options(brands, _KEY_BRAND), key=_KEY_BRAND)
        refunded = st.selectbox(
            "Refunded", list(REFUND_STATES), format_func=REFUND_STATES.get, key=_KEY_REFUNDED
        )
        disputed = st.selectbox(
            "Disputed", list(TRISTATES), format_func=TRISTATES.get, key=_KEY_DISPUTED
        )
        text = st.text_input(
            "Search id, email or description", key=_KEY_TEXT, max_chars=MAX_SEARCH_LENGTH
        )
        sort = st.selectbox("Sort by", list(SORT_KEYS), format_func=SORT_KEYS.get, key=_KEY_SORT)
        order = st.selectbox("Order", list(_ORDERS), format_func=_ORDERS.get, key=_KEY_ORDER)
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


def _seed(key: str, value: object) -> None:
    # A widget keyed in session state takes its first value from the URL, then from the user.
    if key not in st.session_state:
        st.session_state[key] = value


def _options(available: list[str] | tuple[str, ...], key: str) -> list[str]:
    # Values from a shared link stay selectable even when this mirror has none of them.
    chosen = st.session_state.get(key) or []
    return list(dict.fromkeys([*available, *chosen]))


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
            st.warning(f"{label} amount ignored: {escape_markdown(error)}.")
            bounds.append(None)
    return bounds[0], bounds[1]
