"""Finance charts: one chart per currency (never a shared axis), and failures by code."""

from __future__ import annotations

from datetime import datetime

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from lib.finance import ChargeFilters, daily_volume, failures_by_code
from lib.money import format_money_series, to_major


def render_charge_charts(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime
) -> None:
    """Daily gross volume per currency and failed charges by failure code, for `filters`."""
    st.markdown("**Daily gross volume (succeeded charges, UTC days)**")
    volume = daily_volume(engine, account_key, filters, now)
    if volume.empty:
        st.info("No succeeded charges in this view.")
    else:
        per_currency_charts(volume.rename(columns={"gross": "minor"}), "day:T", "Day", "bar")
    st.markdown("**Failed charges by failure code**")
    failures = failures_by_code(engine, account_key, filters, now)
    if failures.empty:
        st.info("No failed charges in this view.")
    else:
        chart = (
            alt.Chart(failures)
            .mark_bar()
            .encode(
                x=alt.X("count:Q", title="Failed charges"),
                y=alt.Y("failure_code:N", sort="-x", title=None),
                tooltip=["failure_code", "count"],
            )
        )
        st.altair_chart(chart, width="stretch")


def per_currency_charts(frame: pd.DataFrame, x: str, x_title: str, mark: str) -> None:
    """One chart per currency (its own scale: ¥ and KWD never share an axis), two per row.

    `frame` has the x column, `currency` and `minor` (amounts in minor units).
    """
    frame = frame.assign(
        text=format_money_series(frame["minor"], frame["currency"]),
        # Chart heights only: the exact amount is each point's tooltip text.
        major=[
            float(to_major(int(amount), code))
            for amount, code in zip(frame["minor"], frame["currency"], strict=True)
        ],
    )
    columns = st.columns(2)
    for index, code in enumerate(sorted(frame["currency"].unique())):
        chart = alt.Chart(frame[frame["currency"] == code], title=code.upper())
        chart = chart.mark_bar() if mark == "bar" else chart.mark_line(point=True)
        chart = chart.encode(
            x=alt.X(x, title=x_title),
            y=alt.Y("major:Q", title=None),
            tooltip=[alt.Tooltip(x, title=x_title), alt.Tooltip("text:N", title=code.upper())],
        ).properties(height=180)
        columns[index % 2].altair_chart(chart, width="stretch")
