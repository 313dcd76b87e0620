"""Finance views over the local mirror: the charges explorer's queries and exports, and
subscription metrics (MRR, churn, trend)."""

from lib.finance.charges import (
    PAGE_SIZE,
    ChargeDetail,
    ChargesPage,
    CurrencySummary,
    charge_conditions,
    charge_detail,
    charges_page,
    currency_summaries,
    daily_volume,
    dashboard_url,
    failures_by_code,
    filter_choices,
)
from lib.finance.export import (
    EXPORT_COLUMNS,
    charges_csv,
    charges_csv_chunks,
    charges_xlsx,
    export_records,
    xlsx_refusal,
)
from lib.finance.filter_link import (
    IgnoredParam,
    ParsedFilters,
    from_query_params,
    to_query_params,
)
from lib.finance.filters import ChargeFilters, parse_major_amount, search_term
from lib.finance.subscriptions import (
    MrrTrend,
    SubscriptionFacts,
    SubscriptionMetrics,
    load_subscriptions,
    monthly_amount,
    mrr_by_currency,
    mrr_trend,
    subscription_facts,
    subscription_metrics,
)
from lib.money import AmountError, to_minor

__all__ = [
    "EXPORT_COLUMNS",
    "PAGE_SIZE",
    "AmountError",
    "ChargeDetail",
    "ChargeFilters",
    "ChargesPage",
    "CurrencySummary",
    "IgnoredParam",
    "MrrTrend",
    "ParsedFilters",
    "SubscriptionFacts",
    "SubscriptionMetrics",
    "charge_conditions",
    "charge_detail",
    "charges_csv",
    "charges_csv_chunks",
    "charges_page",
    "charges_xlsx",
    "currency_summaries",
    "daily_volume",
    "dashboard_url",
    "export_records",
    "failures_by_code",
    "filter_choices",
    "from_query_params",
    "load_subscriptions",
    "monthly_amount",
    "mrr_by_currency",
    "mrr_trend",
    "parse_major_amount",
    "search_term",
    "subscription_facts",
    "subscription_metrics",
    "to_minor",
    "to_query_params",
    "xlsx_refusal",
]
