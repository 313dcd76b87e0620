"""Billing intervals as people say them: Stripe's `interval` with its `interval_count`.

A subscription billed every 2 weeks reads "2 weeks", not "week"; one billed every month reads
"month" (as in "$24.00 per month").
"""

from __future__ import annotations

import pandas as pd

from lib.widgets.comparison import value_kinds

STRIPE_INTERVALS = frozenset({"day", "week", "month", "year"})
MAX_INTERVAL_COUNT = 1_000
"""Stripe allows at most three years between bills (1,095 days); larger counts are not credible."""


def format_interval_series(intervals: pd.Series, counts: pd.Series) -> pd.Series:
    """'month' for a count of 1 (or none: Stripe's default), '2 weeks', '3 months' otherwise.

    Text that is not one of Stripe's intervals, or a count that is missing or not a whole number
    from 1 to MAX_INTERVAL_COUNT, is shown as the interval text alone; a non-text interval as ''.
    """
    counts = counts.reindex(intervals.index)
    units = intervals.where(value_kinds(intervals) == "string")
    numbers = pd.to_numeric(counts.where(value_kinds(counts) == "number"), errors="coerce")
    numbers = numbers.astype("float64")
    plural = (
        units.isin(STRIPE_INTERVALS)
        & numbers.between(2, MAX_INTERVAL_COUNT)
        & (numbers == numbers.round())
    )
    text = units.fillna("").astype("str")
    if plural.any():
        whole = numbers[plural].astype("int64").astype("str")
        text[plural] = whole + " " + text[plural] + "s"
    return text
