"""Finance charts: one chart per currency (never a shared axis), and failures by code."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from lib.finance import ChargeGroup, failures_of, volume_of
from lib.money import (
    currency_code,
    display_decimals,
    format_money_series,
    money_pattern,
    to_major,
)
from lib.number_format import app_locale, number_symbols

CHART_HEIGHT = 240


def render_charge_charts(groups: list[ChargeGroup]) -> None:
    """Daily gross volume per currency and failed charges by failure code, of the filtered
    charges' `groups`."""
    st.markdown("**Daily gross volume (succeeded charges, UTC days)**")
    volume = volume_of(groups)
    if volume.empty:
        st.info("No succeeded charges in this view.")
    else:
        per_currency_charts(volume.rename(columns={"gross": "minor"}), "day", "%b %d", "bar")
    st.markdown("**Failed charges by failure code**")
    failures = failures_of(groups)
    if failures.empty:
        st.info("No failed charges in this view.")
    else:
        chart = (
            alt.Chart(failures)
            .mark_bar()
            .encode(
                x=alt.X("count:Q", title="Failed charges", axis=alt.Axis(format=",d")),
                y=alt.Y("failure_code:N", sort="-x", title=None),
                tooltip=["failure_code", alt.Tooltip("count:Q", format=",d")],
            )
            .properties(height=CHART_HEIGHT)
            .configure(locale=alt.Locale(number=number_axis_locale()))
        )
        st.altair_chart(chart, width="stretch", height=CHART_HEIGHT)


def per_currency_charts(frame: pd.DataFrame, when: str, time_format: str, mark: str) -> None:
    """One chart per currency (its own scale: ¥ and KWD never share an axis), two per row, each
    titled with its currency and its axis in that currency as the app's locale writes money.

    `frame` has the time column `when` (UTC), `currency` and `minor` (amounts in minor units);
    `time_format` writes its axis labels (d3: "%b %Y"). The time axis has no title: the section's
    heading or caption says once what it is.
    """
    frame = frame.assign(
        text=format_money_series(frame["minor"], frame["currency"]),
        # Chart heights only: the exact amount is each point's tooltip text.
        major=[
            float(to_major(int(amount), code))
            for amount, code in zip(frame["minor"], frame["currency"], strict=True)
        ],
    )
    found = sorted(str(code) for code in frame["currency"].unique())
    # A stored currency that is not three letters has no symbol to put on an axis.
    codes = [code for code in found if currency_code(code) == code]
    if len(codes) < len(found):
        st.caption("Amounts without a valid currency code are left out of these charts.")
    columns = st.columns(2)
    for index, code in enumerate(codes):
        chart = alt.Chart(frame[frame["currency"] == code], title=code.upper())
        chart = chart.mark_bar() if mark == "bar" else chart.mark_line(point=True)
        chart = (
            chart.encode(
                x=alt.X(f"{when}:T", title=None, axis=alt.Axis(format=time_format, labelAngle=0)),
                y=alt.Y(
                    "major:Q",
                    title=None,
                    axis=alt.Axis(format=f"$,.{display_decimals(code)}f", tickCount=5),
                ),
                tooltip=[
                    alt.Tooltip(f"{when}:T", title="When", format=time_format),
                    alt.Tooltip("text:N", title="Amount"),
                ],
            )
            .properties(height=CHART_HEIGHT)
            .configure(locale=alt.Locale(number=money_axis_locale(code)))
        )
        columns[index % 2].altair_chart(chart, width="stretch", height=CHART_HEIGHT)


def money_axis_locale(currency: str, locale: str | None = None) -> alt.NumberLocale:
    """The number locale a chart formats `currency` with (d3's `$` format): the app's symbols
    and grouping, and the currency's symbol placed as `format_money` places it."""
    pattern = money_pattern(currency, locale or app_locale())
    return alt.NumberLocale(
        decimal=pattern.decimal_symbol,
        thousands=pattern.group_symbol,
        grouping=_group_sizes(pattern.primary_group, pattern.secondary_group),
        currency=[pattern.positive_prefix, pattern.positive_suffix],
    )


def number_axis_locale(locale: str | None = None) -> alt.NumberLocale:
    """The number locale a chart formats counts with: the app's symbols and grouping."""
    symbols = number_symbols(locale or app_locale())
    return alt.NumberLocale(
        decimal=symbols.decimal,
        thousands=symbols.group,
        grouping=_group_sizes(symbols.primary_group, symbols.secondary_group),
        currency=["", ""],
    )


def _group_sizes(primary: int, secondary: int) -> list[int]:
    # d3 cycles the sizes it is given: written out, en_IN reads 1,23,45,678.
    return [primary] + [secondary] * 8
