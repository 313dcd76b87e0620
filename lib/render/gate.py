"""The gate: what a session that may not use the app gets instead of it (the sign-in page with
the company's provider, or a plain "not allowed" page), with no data at all."""

from __future__ import annotations

import logging

import streamlit as st
from streamlit.errors import StreamlitAuthError

from lib.auth import REFUSAL_WORDS, Actor, AdminAction, Refusal, admit, provider_button_label
from lib.auth.guard import write_entry
from lib.config import get_settings
from lib.oauth.stripe_connect import parse_callback
from lib.render.access import (
    audit_log,
    current_actor,
    render_read_only_banner,
    sign_in_config,
)
from lib.render.safe_markdown import code_markdown, escape_markdown

log = logging.getLogger(__name__)
_REFUSAL_RECORDED = "_gate_refusal_recorded"


def gate_page(actor: Actor) -> st.Page | None:
    """The only page this session gets when it may not use the app (sign in, not allowed);
    None when it may."""
    if actor.kind == "anonymous":
        return st.Page(_sign_in_page, title="Sign in", icon=":material/login:", url_path="sign-in")
    if actor.role is None:
        return st.Page(
            _not_allowed_page, title="Not allowed", icon=":material/block:", url_path="not-allowed"
        )
    return None


def require_viewer() -> Actor:
    """This session's actor when it may see the app (with local mode's read-only banner when it
    applies); otherwise the sign-in or "not allowed" page is drawn in place of the page and the
    run stops.

    Every page script calls this first, not only `app.py`: AppTest runs page scripts on their own,
    and so would Streamlit if the page folder were named `pages/` (its multipage v1 fallback
    serves such a page without the entry on the first visit after a start; the folder is named
    `app_pages/` for that reason).
    """
    actor = current_actor()
    if actor.role is None:
        if actor.kind == "anonymous":
            _sign_in_page()
        else:
            _not_allowed_page()
        st.stop()
    render_read_only_banner(actor)
    return actor


def _sign_in_page() -> None:
    st.title("Payments dashboard")
    st.write("Sign in with your company account to continue.")
    if parse_callback(st.query_params.to_dict()) is not None:
        _refuse_anonymous_callback()
    found = sign_in_config()
    providers = found.providers if found is not None else ()
    if not providers:
        st.error(
            "Sign-in is configured without an identity provider, so nobody can sign in. Ask "
            "whoever runs this dashboard to complete the `[auth]` settings."
        )
    for provider in providers:
        label = escape_markdown(provider_button_label(provider))
        if st.button(label, key=f"sign-in-{provider}", type="primary", icon=":material/login:"):
            _login(provider)


def _login(provider: str) -> None:
    try:
        st.login(provider)
    except StreamlitAuthError as error:
        log.error("sign-in settings incomplete: %s", error)
        st.error(
            "Sign-in is not set up completely, so it cannot start. Ask whoever runs this "
            "dashboard to check the `[auth]` settings (the server log says what is missing)."
        )


def _refuse_anonymous_callback() -> None:
    """A Stripe Connect answer reached a browser where nobody is signed in: refuse it."""
    actor = current_actor()
    _record_once(actor, AdminAction.CONNECT_FINISH, "Stripe answered a browser not signed in.")
    st.query_params.clear()
    st.warning(
        "A Stripe connection can only be finished by the signed-in admin who started it, so "
        "nothing was saved. Sign in, then start again from the Credentials page."
    )


def _not_allowed_page() -> None:
    actor = current_actor()
    refusal = admit(st.user.to_dict(), get_settings()).refusal or Refusal.NOT_ALLOWED
    _record_once(actor, AdminAction.SIGN_IN, REFUSAL_WORDS[refusal])
    st.title("Not allowed")
    st.write(REFUSAL_WORDS[refusal])
    st.caption(
        f"Signed in as {code_markdown(actor.name)}. Ask whoever runs this dashboard to add "
        "your address, or sign out and use another account."
    )
    st.button("Sign out", key="sign-out", icon=":material/logout:", on_click=st.logout)


def _record_once(actor: Actor, action: AdminAction, detail: str) -> None:
    # Reruns of the same page must not flood the log with one attempt.
    done: set[str] = st.session_state.setdefault(_REFUSAL_RECORDED, set())
    if action.value in done:
        return
    done.add(action.value)
    write_entry(audit_log(), actor, action, "refused", detail=detail)
