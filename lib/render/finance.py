"""The finance pages: the charges explorer and the subscriptions overview, over the local mirror.

Filters live in the sidebar and in the URL (`lib.finance.filters` defines both forms); every
figure comes from SQL over the mirror, so a filter change never calls Stripe. The sync panel
keeps the mirror current in a background job the page only watches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from lib.accounts import StripeAccount, stripe_adapter_for
from lib.auth import AdminAction
from lib.finance import (
    PAGE_SIZE,
    AmountError,
    ChargeFilters,
    CurrencySummary,
    charge_detail,
    charges_csv,
    charges_page,
    charges_xlsx,
    currency_summaries,
    daily_volume,
    dashboard_url,
    failures_by_code,
    filter_choices,
    from_query_params,
    load_subscriptions,
    mrr_trend,
    parse_major_amount,
    subscription_metrics,
    to_query_params,
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
from lib.money import format_money, format_money_series, to_major
from lib.render.access import current_actor, permit, record
from lib.render.safe_markdown import badge_markdown, escape_markdown, http_url
from lib.render.session import current_account, session_bus
from lib.render.url_warnings import warn_ignored_link_values
from lib.store import get_engine
from lib.sync import (
    SYNC_ORDER,
    ResourceState,
    SyncJob,
    SyncProgress,
    SyncReport,
    apply_stored_events,
    read_states,
    sync_account,
    sync_jobs,
)
from lib.widgets.formatting import (
    FALLBACK_BADGE_COLORS,
    format_datetime,
    format_percent_series,
    format_relative_time,
)
from lib.widgets.render_views import render_table
from lib.widgets.schema import DisplaySpec

SELECTED_EVENT = "stripe.payment.selected"
EVENT_SOURCE = "charges-explorer"
CHARGES_DISPLAY = DisplaySpec.model_validate(
    {
        "view": "table",
        "layout": {"height": "fixed", "emptyState": "No charges match these filters"},
        "fields": [
            {"key": "created", "label": "Date", "type": "date", "format": "relative-time"},
            {"key": "amount", "label": "Amount", "type": "number", "format": "currency"},
            {"key": "status", "label": "Status", "type": "badge"},
            {"key": "customer", "label": "Customer"},
            {"key": "description", "label": "Description"},
            {"key": "card", "label": "Card"},
            {"key": "amount_refunded", "label": "Refunded", "type": "number", "format": "currency"},
            {"key": "flags", "label": "Flags"},
            {"key": "id", "label": "Charge"},
        ],
    }
)
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

_K = "charges_"
_KEY_PRESET, _KEY_DATES, _KEY_STATUS = f"{_K}range", f"{_K}dates", f"{_K}status"
_KEY_CURRENCY, _KEY_MIN, _KEY_MAX = f"{_K}currency", f"{_K}min", f"{_K}max"
_KEY_CUSTOMER, _KEY_BRAND, _KEY_REFUNDED = f"{_K}customer", f"{_K}brand", f"{_K}refunded"
_KEY_DISPUTED, _KEY_TEXT, _KEY_SORT = f"{_K}disputed", f"{_K}q", f"{_K}sort"
_KEY_ORDER, _KEY_PAGE, _KEY_TABLE = f"{_K}order", f"{_K}page", f"{_K}table"
_KEY_PUBLISHED, _KEY_VIEW = f"{_K}published", f"{_K}view"
_ORDERS = {"desc": "Descending", "asc": "Ascending"}


def render_charges_page() -> None:
    """The charges explorer: sync panel, filters, per-currency summary, table, detail, charts,
    export."""
    st.title("Charges")
    account = current_account()
    engine = _open_mirror(account)
    if engine is None:
        return
    now = datetime.now(UTC)
    filters = _filter_controls(engine, account.key, now)
    summaries = currency_summaries(engine, account.key, filters, now)
    total = sum(summary.count for summary in summaries)
    _render_summary(summaries, total)
    # Rerun on switch so only the open tab runs its queries: charts cost nothing while hidden.
    table_tab, charts_tab = st.tabs(["Charges", "Charts"], key=_KEY_VIEW, on_change="rerun")
    if charts_tab.open:
        _sync_url(filters.with_changes(page=_linked_page(filters)))
        with charts_tab:
            _render_charts(engine, account.key, filters, now)
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
        selected = render_table(
            _table_frame(result.rows),
            CHARGES_DISPLAY,
            pd.Series(False, index=result.rows.index),
            _KEY_TABLE,
        )
        if selected is not None:
            _render_detail(engine, account, result.rows.iloc[selected])
    _render_exports(engine, account.key, filters, now, total)


def render_subscriptions_page() -> None:
    """Active subscriptions, MRR, new and churned MRR, churn, trialing, and a 12-month trend,
    with the definitions written out."""
    st.title("Subscriptions")
    account = current_account()
    engine = _open_mirror(account)
    if engine is None:
        return
    now = datetime.now(UTC)
    with engine.connect() as connection:
        history_complete = read_states(connection, account.key)["subscriptions"].complete
    subscriptions = load_subscriptions(engine, account.key)
    metrics = subscription_metrics(subscriptions, now)
    first, second, third = st.columns(3)
    first.metric("Active subscriptions", f"{metrics.active:,}", help="Active or past due")
    second.metric("Trialing", f"{metrics.trialing:,}")
    churn = metrics.churn_rate
    churn_text = "—" if churn is None else _percent(float(churn))
    third.metric(
        "Subscriber churn (30 days)",
        churn_text,
        help=f"{metrics.churned} canceled ÷ ({metrics.counted_at_window_start} counted 30 days "
        f"ago + {metrics.new} new)",
    )
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
        frame = pd.DataFrame(trend.rows, columns=["month", "currency", "minor"])
        _per_currency_charts(frame, "month:O", "Month (end of month; this month: now)", "line")
    for note in trend.notes:
        st.caption(note)


def render_sync_panel(engine: Engine, account: StripeAccount) -> None:
    """When the mirror was last synced, a running sync's progress with Cancel, else Sync now
    (or Resume), for admins; a never-synced account starts syncing on its own."""
    with engine.connect() as connection:
        states = read_states(connection, account.key)
    job = sync_jobs.get(account.key)
    never_synced = all(not s.complete and not s.run_open for s in states.values())
    if job is None and never_synced:
        job = _start_sync(engine, account)
    with st.container(border=True, key="mirror-sync-panel"):
        if job is not None and job.running:
            _sync_progress(account)
            return
        left, right = st.columns([4, 1], vertical_alignment="center")
        with left:
            _sync_summary(states, job)
        if not current_actor().is_admin:
            return
        resumable = any(state.run_open for state in states.values())
        label = "Resume sync" if resumable else "Sync now"
        right.button(
            label,
            key="mirror-sync-start",
            icon=":material/sync:",
            on_click=_sync_now,
            args=(engine, account),
        )


def _sync_now(engine: Engine, account: StripeAccount) -> None:
    actor = permit(AdminAction.SYNC_START, account.label)
    if actor is None:
        return
    _start_sync(engine, account)
    record(actor, AdminAction.SYNC_START, ok=True, account=account.label, detail="Sync started.")


def _cancel_sync(job: SyncJob, account: StripeAccount) -> None:
    actor = permit(AdminAction.SYNC_CANCEL, account.label)
    if actor is None:
        return
    job.cancel()
    record(actor, AdminAction.SYNC_CANCEL, ok=True, account=account.label, detail="Cancel asked.")


def _open_mirror(account: StripeAccount) -> Engine | None:
    """The account's mirror with stored events applied, once its sync panel is shown; None
    (with the reason shown) when it cannot be read."""
    if account.needs_reconnect:
        st.info("Reconnect Stripe to see this account's data.")
        return None
    try:
        engine = get_engine()
    except Exception as error:  # a database that is down must not take the page with it
        st.error(f"The local database is not available ({type(error).__name__}).")
        return None
    apply_stored_events(engine, account.key)
    render_sync_panel(engine, account)
    return engine


def _start_sync(engine: Engine, account: StripeAccount) -> SyncJob:
    adapter = stripe_adapter_for(account)
    key, credentials = account.key, account.credentials

    def run(
        should_cancel: Callable[[], bool], on_progress: Callable[[SyncProgress], None]
    ) -> SyncReport:
        return sync_account(
            engine, key, adapter, credentials, should_cancel=should_cancel, on_progress=on_progress
        )

    return sync_jobs.start(key, run)


@st.fragment(run_every=1.0)
def _sync_progress(account: StripeAccount) -> None:
    job = sync_jobs.get(account.key)
    if job is None or not job.running:
        st.rerun()
        return
    progress = job.progress
    step = 0 if progress is None else SYNC_ORDER.index(progress.resource)
    resource = SYNC_ORDER[step]
    with st.status(f"Syncing {resource} from Stripe…", expanded=True):
        if progress is None:
            st.write("Starting…")
        else:
            st.write(
                f"{progress.objects:,} objects · {progress.pages:,} pages · "
                f"{progress.requests:,} requests · {progress.elapsed:.0f} s"
            )
        st.progress(step / len(SYNC_ORDER), text=f"Step {step + 1} of {len(SYNC_ORDER)}")
    if job.cancel_requested:
        st.caption("Cancelling after the current page…")
    elif current_actor().is_admin:
        st.button(
            "Cancel sync", key="mirror-sync-cancel", on_click=_cancel_sync, args=(job, account)
        )


def _sync_summary(states: dict[Any, ResourceState], job: SyncJob | None) -> None:
    synced = [s.last_synced_at for s in states.values() if s.last_synced_at is not None]
    complete = all(state.complete for state in states.values())
    if complete and synced:
        oldest = min(synced)
        st.markdown(
            f"**Local copy of this account** · last synced "
            f"{format_relative_time(oldest.timestamp(), datetime.now(UTC))}"
        )
    else:
        missing = ", ".join(r for r, s in states.items() if not s.complete)
        st.markdown(f"**Local copy of this account** · not fully synced yet ({missing})")
    report = job.report if job is not None else None
    if job is not None and job.crashed:
        st.error(f"The last sync stopped unexpectedly ({job.crashed}). Resume to continue.")
    elif report is not None and report.outcome == "failed" and report.error is not None:
        stopped = escape_markdown(report.error.message)
        st.error(f"The last sync stopped: {stopped} Resume to continue from there.")
    elif report is not None and report.outcome == "cancelled":
        st.info(f"Sync cancelled after {report.objects:,} objects; resume to continue from there.")
    errors = [s.last_error for s in states.values() if s.last_error]
    if errors and (report is None or report.outcome != "failed"):
        st.caption(f"Last sync problem: {escape_markdown(errors[0])}")


def _seed(key: str, value: object) -> None:
    # A widget keyed in session state takes its first value from the URL, then from the user.
    if key not in st.session_state:
        st.session_state[key] = value


def _filter_controls(engine: Engine, account_key: str, now: datetime) -> ChargeFilters:
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


def _page_controls(filters: ChargeFilters, total: int) -> int:
    pages = max(1, -(-total // PAGE_SIZE))
    default = _linked_page(filters)
    # One pager per filter state, so any change of filter, sort or order starts at page 1.
    digest = hashlib.sha256(repr(filters.with_changes(page=1)).encode()).hexdigest()[:16]
    page = st.pagination(pages, default=min(default, pages), key=f"{_KEY_PAGE}-{digest}")
    first = (page - 1) * PAGE_SIZE + 1 if total else 0
    st.caption(f"Charges {first:,}–{min(page * PAGE_SIZE, total):,} of {total:,}")
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
            "Charges": [f"{s.count:,}" for s in summaries],
            "Gross (succeeded)": [format_money(s.gross, s.currency) for s in summaries],
            "Refunded": [format_money(s.refunded, s.currency) for s in summaries],
            "Net": [format_money(s.net, s.currency) for s in summaries],
            "Failure rate": [text or "—" for text in rates],
        }
    )
    st.markdown(f"**{total:,} charges match** · totals per currency, never added across them")
    st.dataframe(frame, hide_index=True, key="charges_summary")
    st.caption("Failure rate = failed ÷ (succeeded + failed); pending charges are not counted.")


def _table_frame(rows: pd.DataFrame) -> pd.DataFrame:
    frame = rows.copy()
    frame["customer"] = frame["customer_email"].fillna(frame["customer_name"]).fillna("")
    brand, last4 = frame["card_brand"].fillna(""), frame["card_last4"].fillna("")
    frame["card"] = (brand + " •••• " + last4).where(last4 != "", brand)
    partly = (frame["amount_refunded"] > 0) & ~frame["refunded"].astype(bool)
    flags = pd.Series("", index=frame.index, dtype="str")
    flags = flags.mask(frame["refunded"].astype(bool), "refunded")
    flags = flags.mask(partly, "partly refunded")
    disputed = frame["disputed"].astype(bool)
    flags = flags.mask(disputed, (flags + ", disputed").str.lstrip(", "))
    frame["flags"] = flags
    return frame


def _render_detail(engine: Engine, account: StripeAccount, row: pd.Series) -> None:
    charge_id = str(row["id"])
    if st.session_state.get(_KEY_PUBLISHED) != charge_id:
        payload = {
            "id": charge_id,
            "amount": int(row["amount"]),
            "currency": str(row["currency"]),
            "customer": row["customer_id"],
            "status": str(row["status"]),
        }
        session_bus().publish(SELECTED_EVENT, payload, EVENT_SOURCE)
        st.session_state[_KEY_PUBLISHED] = charge_id
    detail = charge_detail(engine, account.key, charge_id)
    if detail is None:
        st.warning("This charge is no longer in the local copy.")
        return
    charge = detail.charge
    currency = charge["currency"]
    status = str(charge["status"])
    with st.container(border=True, key="charge-detail"):
        color = FALLBACK_BADGE_COLORS.get(status, "gray")
        st.markdown(
            f"### {escape_markdown(format_money(int(charge['amount']), currency))} "
            f"{badge_markdown(status, color)}"
        )
        st.caption(f"{escape_markdown(charge_id)} · {format_datetime(charge['created'])}")
        left, right = st.columns(2)
        with left:
            _detail_facts(charge)
        with right:
            _detail_customer(detail.customer, charge)
        links = st.columns(2)
        stripe_page = http_url(dashboard_url(charge_id, bool(charge.get("livemode"))))
        if stripe_page is not None:
            links[0].link_button(
                "Open in the Stripe Dashboard", stripe_page, icon=":material/open_in_new:"
            )
        # The receipt URL comes with the charge: a button only for an http(s) URL.
        receipt = http_url(charge.get("receipt_url"))
        if receipt is not None:
            links[1].link_button("Receipt", receipt, icon=":material/receipt:")
        if detail.refunds:
            st.markdown("**Refunds**")
            st.dataframe(
                pd.DataFrame(
                    {
                        "Refund": [r["id"] for r in detail.refunds],
                        "Amount": [
                            format_money(int(r["amount"]), r["currency"]) for r in detail.refunds
                        ],
                        "Status": [r.get("status") or "" for r in detail.refunds],
                        "Reason": [r.get("reason") or "" for r in detail.refunds],
                        "Created": [format_datetime(r["created"]) for r in detail.refunds],
                    }
                ),
                hide_index=True,
            )
        with st.expander("All fields"):
            st.json(charge, expanded=False)


def _detail_facts(charge: dict[str, Any]) -> None:
    currency = charge["currency"]
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    facts = [
        ("Amount refunded", format_money(int(charge.get("amount_refunded") or 0), currency)),
        ("Description", charge.get("description") or "—"),
        (
            "Card",
            " ".join(
                filter(
                    None,
                    [
                        card.get("brand"),
                        card.get("last4") and f"•••• {card['last4']}",
                        card.get("country"),
                    ],
                )
            )
            or "—",
        ),
        ("Disputed", "yes" if charge.get("disputed") else "no"),
    ]
    if charge.get("failure_code"):
        facts.append(
            ("Failure", f"{charge['failure_code']}: {charge.get('failure_message') or ''}")
        )
    for label, value in facts:
        st.markdown(f"**{label}**: {escape_markdown(str(value))}")


def _detail_customer(customer: dict[str, Any] | None, charge: dict[str, Any]) -> None:
    st.markdown("**Customer**")
    if customer is None:
        billing = charge.get("billing_details") or {}
        email = billing.get("email") or charge.get("receipt_email")
        st.markdown(escape_markdown(" · ".join(filter(None, [billing.get("name"), email])) or "—"))
        return
    lines = [customer.get("name"), customer.get("email"), customer.get("id")]
    st.markdown(escape_markdown(" · ".join(str(line) for line in lines if line)))
    if customer.get("created"):
        st.caption(f"Customer since {format_datetime(customer['created'])}")


def _render_exports(
    engine: Engine, account_key: str, filters: ChargeFilters, now: datetime, total: int
) -> None:
    stamp = now.strftime("%Y%m%d-%H%M")
    left, right = st.columns(2)
    left.download_button(
        f"Export {total:,} charges to CSV",
        data=lambda: charges_csv(engine, account_key, filters, now),
        file_name=f"charges-{stamp}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="charges_export_csv",
        disabled=total == 0,
    )
    right.download_button(
        "Export to Excel",
        data=lambda: charges_xlsx(engine, account_key, filters, now),
        file_name=f"charges-{stamp}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        icon=":material/table_view:",
        key="charges_export_xlsx",
        disabled=total == 0,
    )


def _render_charts(engine: Engine, account_key: str, filters: ChargeFilters, now: datetime) -> None:
    st.markdown("**Daily gross volume (succeeded charges, UTC days)**")
    volume = daily_volume(engine, account_key, filters, now)
    if volume.empty:
        st.info("No succeeded charges in this view.")
    else:
        _per_currency_charts(volume.rename(columns={"gross": "minor"}), "day:T", "Day", "bar")
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


def _per_currency_charts(frame: pd.DataFrame, x: str, x_title: str, mark: str) -> None:
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


def _percent(value: float) -> str:
    return str(format_percent_series(pd.Series([value])).iloc[0])
