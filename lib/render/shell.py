"""What every page shows above its content: which account the data comes from."""

from __future__ import annotations

import streamlit as st

from lib.accounts import StripeAccount

CREDENTIALS_PAGE = "pages/credentials.py"


def render_account_banner(account: StripeAccount) -> None:
    """A visible label on every page: demo data, or the connected account and its mode."""
    if account.is_demo:
        st.badge("Demo data", icon=":material/science:", color="orange")
        st.caption(
            "No Stripe key is configured, so every page shows a built-in demo account. "
            "Connect your own account on the Credentials page."
        )
    elif account.needs_reconnect:
        st.badge("Reconnect Stripe", icon=":material/link_off:", color="red")
        st.warning(
            f"{account.label}: {account.problem or 'Stripe rejected the stored credentials.'}"
        )
        st.page_link(CREDENTIALS_PAGE, label="Reconnect Stripe", icon=":material/key:")
    else:
        color = "green" if account.mode == "live" else "blue"
        st.badge(f"{account.label}", icon=":material/account_balance:", color=color)
