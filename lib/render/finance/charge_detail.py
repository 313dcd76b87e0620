"""One selected charge: published on the bus, then shown with its customer, refunds and links."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from lib.accounts import StripeAccount
from lib.events.catalogue import PAYMENT_SELECTED
from lib.finance import charge_detail, dashboard_url
from lib.money import format_money
from lib.render.safe_markdown import badge_markdown, escape_markdown, http_url
from lib.render.session import session_bus
from lib.widgets.formatting import FALLBACK_BADGE_COLORS, format_datetime

EVENT_SOURCE = "charges-explorer"
_KEY_PUBLISHED = "charges_published"


def render_charge_detail(engine: Engine, account: StripeAccount, row: pd.Series) -> None:
    """Publish the selected charge once (not on every rerun), then show its detail card."""
    charge_id = str(row["id"])
    if st.session_state.get(_KEY_PUBLISHED) != charge_id:
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
