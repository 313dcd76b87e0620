"""The subscriptions overview: counts per status, MRR per currency, churn, MRR trend."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from lib.finance import (
    SubscriptionMetrics,
    load_subscriptions,
    mrr_trend,
    subscription_metrics,
)
from lib.money import format_money
from lib.render.finance.charts import per_currency_charts
from lib.render.finance.sync_panel import open_mirror_page
from lib.sync import read_states
from lib.widgets.formatting import format_number, format_percent_series

MRR_DEFINITION = """
**MRR** (monthly recurring revenue) sums the subscriptions that are *active* or *past due*.
Each item counts what it bills per period: its unit price times its quantity (quantity 0 brings
nothing; a price in fractions of a cent counts exactly), or for a *tiered* price its tiers for
that quantity (*volume*: every unit at the tier the quantity reaches; *graduated*: each tier's
units at that tier's price; plus the flat fee of each tier reached). *Metered* (usage-based)
prices are left out, as in Stripe's own MRR. Each amount is normalised to one month: a yearly
price ÷ 12, a weekly price × 52 ÷ 12, a daily price × 365 ÷ 12, a monthly price as is, each
divided by its `interval_count` (billed every 2 weeks: × 52 ÷ 12 ÷ 2). Coupons that last
*forever* reduce it (percent off, or an amount off per billing period normalised the same way);
coupons that end do not. Trialing and canceled subscriptions do not count. Each currency is
summed on its own, never converted.

**New MRR (30 days)**: subscriptions that started counting in the last 30 days (their trial
ended, or they started without one). **Churned MRR (30 days)**: subscriptions that ended in the
last 30 days after having counted, at the monthly amount they brought.

**Subscriber churn** = subscriptions canceled in the last 30 days ÷ (subscriptions counted
30 days ago + new ones in the 30 days). A subscription canceled during its trial was never
paying, so it is not churn.
"""


def render_subscriptions_page() -> None:
    """Counts per status, churn, MRR with new and churned MRR per currency, and a 12-month MRR
    trend, with the definitions written out."""
    opened = open_mirror_page("Subscriptions")
    if opened is None:
        return
    account, engine = opened
    now = datetime.now(UTC)
    with engine.connect() as connection:
        history_complete = read_states(connection, account.key)["subscriptions"].complete
    subscriptions = load_subscriptions(engine, account.key)
    metrics = subscription_metrics(subscriptions, now)
    _render_counts(metrics)
    currencies = sorted(set(metrics.mrr) | set(metrics.new_mrr) | set(metrics.churned_mrr))
    if currencies:
        st.dataframe(
            pd.DataFrame(
                {
                    "Currency": [code.upper() for code in currencies],
                    "MRR": [format_money(metrics.mrr.get(c, 0), c) for c in currencies],
                    "New MRR (30 days)": [
                        format_money(metrics.new_mrr.get(c, 0), c) for c in currencies
                    ],
                    "Churned MRR (30 days)": [
                        format_money(metrics.churned_mrr.get(c, 0), c) for c in currencies
                    ],
                }
            ),
            hide_index=True,
            key="subscriptions_mrr",
        )
    else:
        st.info("No subscriptions in the mirror yet.")
    with st.expander("How these figures are defined"):
        st.markdown(MRR_DEFINITION)
    st.subheader("MRR, last 12 months")
    trend = mrr_trend(subscriptions, now, history_complete=history_complete)
    if trend.rows:
        st.caption("Each point is MRR at the end of its month (UTC); this month's is MRR now.")
        frame = pd.DataFrame(trend.rows, columns=["month", "currency", "minor"])
        frame["month"] = pd.to_datetime(frame["month"] + "-01", utc=True)
        per_currency_charts(frame, "month", "%b %Y", "line")
    for note in trend.notes:
        st.caption(note)


def _render_counts(metrics: SubscriptionMetrics) -> None:
    """One figure per status, as the Dashboard's Subscriptions widget counts them (never one
    "active" figure that means active here and active + past due there), then churn."""
    counts = (
        ("Active", metrics.active, "Status active: paid up and renewing."),
        ("Past due", metrics.past_due, "A renewal payment failed; Stripe is retrying it."),
        ("Trialing", metrics.trialing, "In a free trial; not in MRR until it ends."),
        ("Unpaid", metrics.unpaid, "Retries ran out; not in MRR."),
    )
    columns = st.columns(len(counts) + 1)
    for column, (label, count, explained) in zip(columns, counts, strict=False):
        column.metric(label, format_number(count), help=explained)
    churn = metrics.churn_rate
    columns[-1].metric(
        "Subscriber churn (30 days)",
        "—" if churn is None else _percent(float(churn)),
        help=f"{format_number(metrics.churned)} canceled ÷ "
        f"({format_number(metrics.counted_at_window_start)} counted 30 days ago + "
        f"{format_number(metrics.new)} new)",
    )
    st.caption(
        f"MRR counts active and past-due subscriptions: {format_number(metrics.in_mrr)} now."
    )


def _percent(value: float) -> str:
    return str(format_percent_series(pd.Series([value])).iloc[0])
