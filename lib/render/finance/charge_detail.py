"""One selected charge: published on the bus, then shown beside the table in a side panel with
its customer, refunds and links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from lib.accounts import StripeAccount
from lib.dates import format_datetime, format_relative
from lib.events.catalogue import PAYMENT_SELECTED
from lib.finance import charge_detail, dashboard_url
from lib.money import format_money
from lib.render.safe_markdown import badge_markdown, escape_markdown, http_url
from lib.render.session import session_bus
from lib.widgets.formatting import FALLBACK_BADGE_COLORS

EVENT_SOURCE = "charges-explorer"
DETAIL_WIDTH = 560
_KEY_PUBLISHED = "charges_published"


def publish_selected_charge(row: pd.Series) -> None:
    """Publish the selected charge once (not on every rerun)."""
    charge_id = str(row["id"])
    if st.session_state.get(_KEY_PUBLISHED) == charge_id:
        return
    payload = PAYMENT_SELECTED.payload(
        {
            "id": charge_id,
            "amount": int(row["amount"]),
            "currency": str(row["currency"]),
            "customer": row["customer_id"],
            "status": str(row["status"]),
        }
    )
    session_bus().publish(PAYMENT_SELECTED.name, payload, EVENT_SOURCE)
    st.session_state[_KEY_PUBLISHED] = charge_id


def open_charge_detail(
    engine: Engine, account: StripeAccount, charge_id: str, on_close: Callable[[], None]
) -> None:
    """The charge's details in a side panel over the page's right edge, where the user is
    looking whatever the table's scroll; `on_close` runs when the panel is dismissed."""

    @st.dialog("Charge details", position="right", width=DETAIL_WIDTH, on_dismiss=on_close)
    def panel() -> None:
        render_charge_detail(engine, account, charge_id)

    panel()


def render_charge_detail(engine: Engine, account: StripeAccount, charge_id: str) -> None:
    """The stored charge: amount and status, when (UTC, as the page's date filter), facts,
    customer, links, refunds and every field."""
    detail = charge_detail(engine, account.key, charge_id)
    if detail is None:
        st.warning("This charge is no longer in the local copy.")
        return
    charge = detail.charge
    currency = charge["currency"]
    status = str(charge["status"])
    color = FALLBACK_BADGE_COLORS.get(status, "gray")
    st.markdown(
        f"### {escape_markdown(format_money(int(charge['amount']), currency))} "
        f"{badge_markdown(status, color)}"
    )
    st.caption(f"{escape_markdown(charge_id)} · {_when(charge['created'])}")
    _detail_facts(charge)
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
                    "Created": [_absolute(r["created"]) for r in detail.refunds],
                }
            ),
            hide_index=True,
        )
    with st.expander("All fields"):
        st.json(charge, expanded=False)


def _moment(unix_seconds: object) -> datetime | None:
    """A stored unix time as a UTC datetime; None unless whole seconds a date can hold."""
    if isinstance(unix_seconds, bool) or not isinstance(unix_seconds, int):
        return None
    try:
        return datetime.fromtimestamp(unix_seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _absolute(unix_seconds: object) -> str:
    """A stored time as the app writes absolute times, in UTC like the page's date filter."""
    moment = _moment(unix_seconds)
    return "—" if moment is None else format_datetime(moment)


def _when(unix_seconds: object) -> str:
    moment = _moment(unix_seconds)
    if moment is None:
        return "—"
    return f"{format_datetime(moment)} ({format_relative(moment, datetime.now(UTC))})"


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
        st.caption(f"Customer since {_absolute(customer['created'])}")
