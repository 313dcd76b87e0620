"""The charges explorer: sync panel, filters, per-currency summary, table, detail, charts,
export."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from lib.accounts import StripeAccount
from lib.finance import (
    PAGE_SIZE,
    ChargeFilters,
    CurrencySummary,
    charge_groups,
    charges_page,
    from_query_params,
    summaries_of,
    to_query_params,
)
from lib.money import format_money
from lib.render.finance.charge_detail import open_charge_detail, publish_selected_charge
from lib.render.finance.charge_filters import filter_controls
from lib.render.finance.charts import render_charge_charts
from lib.render.finance.exports import render_charge_exports
from lib.render.finance.sync_panel import open_mirror_page
from lib.render.widgets import render_table
from lib.widgets.formatting import format_number, format_percent_series
from lib.widgets.rows import rows_view
from lib.widgets.schema import DisplaySpec

CHARGES_DISPLAY = DisplaySpec.model_validate(
    {
        "view": "table",
        "layout": {"height": "fixed", "emptyState": "No charges match these filters"},
        # Stripe's own list: date, amount, status, customer, description, payment method. Refunds
        # and dispute flags are in the details panel (and the filters), so 1440 px fits it all.
        "fields": [
            {"key": "created", "label": "Date", "type": "date", "format": "datetime"},
            {"key": "created_ago", "label": "When", "type": "date", "format": "relative-time"},
            {"key": "amount", "label": "Amount", "type": "number", "format": "currency"},
            {"key": "status", "label": "Status", "type": "badge"},
            {"key": "customer", "label": "Customer"},
            {"key": "description", "label": "Description"},
            {"key": "id", "label": "Charge"},
            {"key": "card", "label": "Card"},
        ],
    }
)
_KEY_PAGE, _KEY_TABLE, _KEY_VIEW = "charges_page", "charges_table", "charges_view"
_KEY_GENERATION = "charges_table_generation"


def render_charges_page() -> None:
    """The charges explorer: sync panel, filters, per-currency summary, table, detail, charts,
    export."""
    opened = open_mirror_page("Charges")
    if opened is None:
        return
    account, engine = opened
    now = datetime.now(UTC)
    filters = filter_controls(engine, account.key, now)
    summary_box = st.container()
    # Rerun on switch so only the open tab runs its queries: charts cost nothing while hidden.
    table_tab, charts_tab = st.tabs(["Charges", "Charts"], key=_KEY_VIEW, on_change="rerun")
    # One read of the filtered charges per currency and status (and day, for the charts) gives
    # the summary and the charts.
    groups = charge_groups(engine, account.key, filters, now, by_day=charts_tab.open)
    summaries = summaries_of(groups)
    total = sum(summary.count for summary in summaries)
    with summary_box:
        _render_summary(summaries, total)
    if charts_tab.open:
        _sync_url(filters.with_changes(page=_linked_page(filters)))
        with charts_tab:
            render_charge_charts(groups)
    else:
        with table_tab:
            _render_charges_tab(engine, account, filters, now, total)


def _render_charges_tab(
    engine: Engine, account: StripeAccount, filters: ChargeFilters, now: datetime, total: int
) -> None:
    page = _page_controls(filters, total)
    filters = filters.with_changes(page=page)
    _sync_url(filters)
    result = charges_page(engine, account.key, filters, now, total=total)
    if result.rows.empty:
        st.info(CHARGES_DISPLAY.layout.empty_state)
    else:
        rows = result.rows
        selected = render_table(
            rows_view(_table_frame(rows), CHARGES_DISPLAY, now), _table_key(list(rows["id"]))
        )
        if selected is not None:
            publish_selected_charge(rows.iloc[selected])
            open_charge_detail(engine, account, str(rows.iloc[selected]["id"]), _close_detail)
    render_charge_exports(engine, account.key, filters, now, total)


def _table_key(charge_ids: list[str]) -> str:
    """The table's key: a new table (nothing selected) for other rows, or after the details
    panel was closed, so a selection never opens another row's details."""
    generation = str(st.session_state.get(_KEY_GENERATION, 0))
    digest = hashlib.sha256("\n".join([generation, *charge_ids]).encode()).hexdigest()[:16]
    return f"{_KEY_TABLE}-{digest}"


def _close_detail() -> None:
    st.session_state[_KEY_GENERATION] = st.session_state.get(_KEY_GENERATION, 0) + 1


def _page_controls(filters: ChargeFilters, total: int) -> int:
    pages = max(1, -(-total // PAGE_SIZE))
    default = _linked_page(filters)
    # One pager per filter state, so any change of filter, sort or order starts at page 1.
    digest = hashlib.sha256(repr(filters.with_changes(page=1)).encode()).hexdigest()[:16]
    page = st.pagination(pages, default=min(default, pages), key=f"{_KEY_PAGE}-{digest}")
    first = (page - 1) * PAGE_SIZE + 1 if total else 0
    last = min(page * PAGE_SIZE, total)
    st.caption(f"Charges {format_number(first)}–{format_number(last)} of {format_number(total)}")
    return page


def _linked_page(filters: ChargeFilters) -> int:
    """The page in the URL while the URL still describes these filters, else 1."""
    linked = from_query_params(st.query_params.to_dict()).filters
    return linked.page if linked.with_changes(page=1) == filters.with_changes(page=1) else 1


def _sync_url(filters: ChargeFilters) -> None:
    wanted = to_query_params(filters)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _render_summary(summaries: list[CurrencySummary], total: int) -> None:
    if not summaries:
        st.info("No charges match these filters.")
        return
    rates = format_percent_series(
        pd.Series([None if s.failure_rate is None else float(s.failure_rate) for s in summaries])
    )
    frame = pd.DataFrame(
        {
            "Currency": [s.currency.upper() for s in summaries],
            "Charges": [format_number(s.count) for s in summaries],
            "Gross (succeeded)": [format_money(s.gross, s.currency) for s in summaries],
            "Refunded": [format_money(s.refunded, s.currency) for s in summaries],
            "Net": [format_money(s.net, s.currency) for s in summaries],
            "Failure rate": [text or "—" for text in rates],
        }
    )
    st.markdown(
        f"**{format_number(total)} charges match** · totals per currency, never added across them"
    )
    st.dataframe(frame, hide_index=True, key="charges_summary")
    st.caption("Failure rate = failed ÷ (succeeded + failed); pending charges are not counted.")


def _table_frame(rows: pd.DataFrame) -> pd.DataFrame:
    frame = rows.copy()
    frame["created_ago"] = frame["created"]
    frame["customer"] = frame["customer_email"].fillna(frame["customer_name"]).fillna("")
    brand, last4 = frame["card_brand"].fillna(""), frame["card_last4"].fillna("")
    frame["card"] = (brand + " •••• " + last4).where(last4 != "", brand)
    return frame
