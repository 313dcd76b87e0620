"""What every page shows above its content: which account the data comes from."""

from __future__ import annotations

import streamlit as st

from lib.accounts import StripeAccount
from lib.render.safe_markdown import badge_label, escape_markdown

CREDENTIALS_PAGE = "app_pages/credentials.py"


def render_account_banner(account: StripeAccount) -> None:
    """A visible label on every page: demo data, the connected account and its mode, or why
    the stored connection cannot be used (a rejected key, an unusable encryption key)."""
    if account.is_demo:
        st.badge("Demo data", icon=":material/science:", color="orange")
        st.caption(
            "No Stripe key is configured, so every page shows a built-in demo account. "
            "Connect your own account on the Credentials page."
        )
    elif account.key_error:
        st.badge("Encryption key problem", icon=":material/lock:", color="red")
        st.error(
            "Stored Stripe connections cannot be read, so no account data is shown: "
            f"{escape_markdown(account.problem)}. Fix the encryption key and restart the app; "
            "a connection saved with a lost key can be removed on the Credentials page."
        )
        st.page_link(CREDENTIALS_PAGE, label="Credentials", icon=":material/key:")
    elif account.needs_reconnect:
        st.badge("Reconnect Stripe", icon=":material/link_off:", color="red")
        problem = account.problem or "Stripe rejected the stored credentials."
        st.warning(escape_markdown(f"{account.label}: {problem}"))
        st.page_link(CREDENTIALS_PAGE, label="Reconnect Stripe", icon=":material/key:")
    else:
        color = "green" if account.mode == "live" else "blue"
        # The label holds the account's business name, chosen by that account's owner.
        st.badge(badge_label(account.label), icon=":material/account_balance:", color=color)
