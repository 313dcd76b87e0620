"""Sign-in and roles in the pages: who this session is, the sidebar's identity and the
local-mode banner, and the check that every admin control makes at the point of action."""

from __future__ import annotations

import logging

import streamlit as st

from lib.app_address import AppAddress
from lib.auth import (
    TICKET_PARAM,
    Actor,
    AdminAction,
    AuditLog,
    SignInSettings,
    admit,
    anonymous_actor,
    authorize,
    issue_ticket,
    local_actor,
    record_outcome,
    refusal_message,
    sign_in_settings,
    signed_in_actor,
)
from lib.auth.sign_in import DEFAULT_PROVIDER
from lib.config import get_settings, read_auth_section
from lib.oauth.stripe_connect import start_url
from lib.render import client
from lib.render.safe_markdown import code_markdown
from lib.store import get_engine

log = logging.getLogger(__name__)
LOCAL_READ_ONLY = (
    "Read-only: this dashboard has no sign-in configured, so connecting Stripe, syncing and "
    "replaying events are allowed only from the computer it runs on. To manage it from here, "
    "configure sign-in with your company's identity provider (an `[auth]` section in "
    "`.streamlit/secrets.toml`, and `ADMIN_EMAILS`), or set `ALLOW_REMOTE_ADMIN=true` on a "
    "network you trust."
)


def sign_in_config() -> SignInSettings | None:
    """The sign-in settings, or None in local mode.

    Streamlit may find an `[auth]` table where the app's settings do not (a secrets folder,
    which only Streamlit reads): `st.user` then carries `is_logged_in`, and the app stays closed
    as if configured.
    """
    found = sign_in_settings(read_auth_section())
    if found is None and "is_logged_in" in st.user.to_dict():
        return SignInSettings(providers=(DEFAULT_PROVIDER,), cookie_secret=None)
    return found


def current_actor() -> Actor:
    """Who this session is: the signed-in user (checked against the allow-list on every run),
    nobody, or in local mode a visitor judged by address."""
    settings = get_settings()
    address = client.client_address()
    if sign_in_config() is None:
        return local_actor(address, client.proxy_headers(), settings)
    claims = st.user.to_dict()
    if claims.get("is_logged_in") is not True:
        return anonymous_actor(address)
    return signed_in_actor(admit(claims, settings), address)


def audit_log() -> AuditLog | None:
    """The audit log, or None when the database cannot be opened (logged)."""
    try:
        return AuditLog(get_engine())
    except Exception as error:  # a database that is down must not take the page with it
        log.error("audit log unavailable: %s", type(error).__name__)
        return None


def permit(action: AdminAction, account: str | None = None) -> Actor | None:
    """The acting admin, when this session may do `action`; else None, after saying so on the
    page and recording the refused attempt. Call it where the action happens."""
    actor = current_actor()
    if authorize(actor, action, audit_log(), account=account):
        return actor
    st.error(refusal_message(actor), icon=":material/block:")
    return None


def record(
    actor: Actor, action: AdminAction, *, ok: bool, account: str | None, detail: str
) -> None:
    """Record what an admin action (allowed by `permit`) did."""
    record_outcome(actor, action, audit_log(), ok=ok, account=account, detail=detail)


def connect_start_link(address: AppAddress, actor: Actor) -> str | None:
    """The "Connect with Stripe" link for this admin: with sign-in it carries a ticket naming
    them (see `lib.auth.start_ticket`); None when no ticket can be made (no cookie_secret)."""
    url = start_url(address)
    if actor.kind != "user":
        return url
    settings_found = sign_in_config()
    if settings_found is None or settings_found.cookie_secret is None:
        return None
    return f"{url}?{TICKET_PARAM}={issue_ticket(settings_found.cookie_secret, actor.name)}"


def render_identity(actor: Actor) -> None:
    """The sidebar's "signed in as" and Sign out; in local mode, that changes are allowed."""
    with st.sidebar:
        if actor.kind == "user":
            role = "admin" if actor.is_admin else "viewer"
            st.caption(f"Signed in as {code_markdown(actor.name)} ({role})")
            st.button("Sign out", key="sign-out", icon=":material/logout:", on_click=st.logout)
        elif actor.is_admin:
            st.caption("Local mode: no sign-in is configured; changes are allowed from here.")


def render_read_only_banner(actor: Actor) -> None:
    """In local mode, tell a visitor who may not change anything why, and how to change that."""
    if actor.kind == "local" and not actor.is_admin:
        st.info(LOCAL_READ_ONLY, icon=":material/visibility:")
