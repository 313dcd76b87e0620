"""The Credentials page: each provider's connection, connecting (Stripe Connect or a pasted key),
testing and disconnecting. Secrets are only ever shown masked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import streamlit as st

from lib.app_address import AppAddress
from lib.auth import Actor, AdminAction
from lib.config import Settings, get_settings
from lib.connections import (
    ConnectionOutcome,
    CredentialField,
    adapter_for,
    check_stored_connection,
    connect_with_key,
    connect_with_stripe_oauth,
    credentials_from_fields,
    disconnect,
    key_fields,
    local_copy_of,
)
from lib.dates import format_datetime
from lib.oauth.stripe_connect import (
    CREDENTIALS_PAGE_PATH,
    NOT_CONFIGURED,
    STATE_COOKIE,
    connect_config,
    parse_callback,
    redirect_uri,
)
from lib.providers import (
    PROVIDERS,
    ProviderAdapter,
    ProviderName,
    StripeAdapter,
    credentials_help,
    provider_label,
)
from lib.render import cookies
from lib.render.access import connect_start_link, current_actor, permit, record
from lib.render.safe_markdown import code_markdown, escape_markdown
from lib.render.session import credentials_access, current_user_id
from lib.render.viewer import current_address, viewer_time_zone, webhook_endpoint
from lib.store import (
    ConnectionInfo,
    ConnectionSummary,
    CredentialsStore,
    KeyOrigin,
    OAuthStateStore,
    encryption_key_path,
    get_engine,
)

FlashKind = Literal["success", "error"]
_FLASH = "_credentials_flash"
# The dashboard's widgets read Stripe only; the other providers serve workflows.
OTHER_PROVIDERS: tuple[ProviderName, ...] = tuple(p for p in PROVIDERS if p != "stripe")


def render_credentials_page() -> None:
    """The whole page: Stripe first, then the other connections, then an Advanced section with
    the addresses to register at Stripe and where the encryption key lives. Finishes a Stripe
    Connect redirect first when the URL carries one."""
    st.title("Credentials")
    st.caption(
        "Connections are stored encrypted. Keys are never shown again after saving; "
        "only their first and last characters are."
    )
    access = credentials_access()
    if access.key_problem is not None:
        st.error(
            "Connections can be neither shown nor saved: the encryption key for stored "
            f"credentials cannot be used. {escape_markdown(access.key_problem)}. Fix it, then "
            "restart the app."
        )
        return
    store = access.store
    if store is None:
        st.error(
            "The credentials database cannot be opened, so connections can be neither shown "
            "nor saved. Check DATABASE_URL or the app's data directory, then reload the page."
        )
        return
    settings = get_settings()
    address = current_address(settings, CREDENTIALS_PAGE_PATH)
    actor = current_actor()
    if not actor.is_admin:
        st.info("Only admins can connect, test or disconnect accounts.", icon=":material/lock:")
    user_id = current_user_id()
    _finish_stripe_connect(store, user_id, settings)
    summaries = {summary.provider: summary for summary in store.list_connections(user_id)}
    with st.container(border=True):
        _render_provider(
            "stripe", summaries.get("stripe"), store, user_id, settings, address, actor
        )
    st.header("Other connections")
    st.caption("The dashboard's widgets do not use these; workflows do.")
    for provider in OTHER_PROVIDERS:
        with st.container(border=True):
            _render_provider(
                provider, summaries.get(provider), store, user_id, settings, address, actor
            )
    if actor.is_admin:
        _render_advanced(settings, access.key_origin, address)


def _render_advanced(settings: Settings, origin: KeyOrigin | None, address: AppAddress) -> None:
    """Set-up facts for whoever runs the app, out of the way of everyone else."""
    with st.expander("Advanced", icon=":material/settings:"):
        st.markdown("**Addresses to register at Stripe**")
        st.caption("Webhook endpoint (Developers → Webhooks):")
        st.code(webhook_endpoint(address), language=None)
        st.caption("Redirect URI for Stripe Connect (Connect → Settings → OAuth):")
        st.code(redirect_uri(address), language=None)
        if address.note:
            st.caption(address.note)
        if connect_config(settings) is None:
            st.info(
                f"{NOT_CONFIGURED}, so “Connect with Stripe” is not offered. To offer it, set "
                "STRIPE_CLIENT_ID (ca_…, from Stripe's Connect settings) and STRIPE_SECRET_KEY "
                "(your platform account's secret key) in the environment or in "
                ".streamlit/secrets.toml, and add the redirect URI above to the OAuth settings "
                "of Stripe Connect."
            )
        _render_key_notice(settings, origin)


def _render_key_notice(settings: Settings, origin: KeyOrigin | None) -> None:
    """Say where the encryption key lives when the app generated it (a file to back up)."""
    if origin in (KeyOrigin.GENERATED, KeyOrigin.FILE):
        when = "was generated on this run" if origin == KeyOrigin.GENERATED else "was generated"
        path = code_markdown(encryption_key_path(settings))
        st.info(
            f"No APP_ENCRYPTION_KEY is set, so a key {when} at {path}. Keep it (or set "
            "APP_ENCRYPTION_KEY to your own Fernet key): without it, stored connections cannot "
            "be read.",
            icon=":material/lock:",
        )


def _finish_stripe_connect(store: CredentialsStore, user_id: str, settings: Settings) -> None:
    callback = parse_callback(st.query_params.to_dict())
    if callback is None:
        return
    actor = permit(AdminAction.CONNECT_FINISH, provider_label("stripe"))
    if actor is None:
        st.query_params.clear()
        return
    with (
        st.spinner("Finishing the Stripe connection…"),
        StripeAdapter(base_url=settings.stripe_api_base) as adapter,
    ):
        outcome = connect_with_stripe_oauth(
            store,
            OAuthStateStore(get_engine()),
            user_id,
            settings,
            callback,
            cookies.read_cookie(STATE_COOKIE),
            adapter,
            state_owner=actor.name if actor.kind == "user" else None,
            connected_by=actor.name,
        )
    _record(actor, AdminAction.CONNECT_FINISH, "stripe", outcome)
    _flash_outcome("stripe", outcome)
    if outcome.ok:
        st.session_state[_confirm_key("stripe")] = False
    st.query_params.clear()
    # Rerun so everything above this page (the account banner) reads the new connection.
    st.rerun()


def _render_provider(
    provider: ProviderName,
    summary: ConnectionSummary | None,
    store: CredentialsStore,
    user_id: str,
    settings: Settings,
    address: AppAddress,
    actor: Actor,
) -> None:
    label = provider_label(provider)
    st.subheader(label)
    for kind, text in st.session_state.get(_FLASH, {}).pop(provider, []):
        # Flash text is plain and carries provider data (account names, error messages).
        getattr(st, kind)(escape_markdown(text))
    actions = {"store": store, "user_id": user_id, "provider": provider, "settings": settings}
    if summary is None:
        st.caption("Not connected.")
    elif summary.info is None:
        problem = escape_markdown(summary.decrypt_error or "cannot decrypt stored credentials")
        st.error(
            f"{problem}. Remove this connection and connect {label} again, or restore the "
            "encryption key it was saved with."
        )
        if actor.is_admin:
            st.button("Remove", key=f"remove_{provider}", on_click=_ask_disconnect, kwargs=actions)
    else:
        _render_connection(summary, summary.info, label)
        if actor.is_admin:
            _render_connection_actions(provider, actions)
    # Viewers see what is connected, never a control that changes it.
    if not actor.is_admin:
        return
    if summary is not None and st.session_state.get(_asking_key(provider)):
        _render_disconnect_confirmation(provider, store, user_id, actions)
    if provider == "stripe" and connect_config(settings) is not None:
        _render_stripe_connect(address, actor)
    _render_key_form(provider, label, connected=summary is not None, actions=actions)


def _render_connection(summary: ConnectionSummary, info: ConnectionInfo, label: str) -> None:
    if summary.status == "needs_reconnect":
        st.badge("Needs reconnection", icon=":material/link_off:", color="red")
        reason = summary.status_reason or f"{label} rejected the stored credentials."
        st.warning(escape_markdown(f"{reason} Connect {label} again below."))
    else:
        st.badge("Connected", icon=":material/check_circle:", color="green")
    how = "Stripe Connect" if info.auth_method == "oauth" else "pasted key"
    # The account name and e-mail are chosen by that account's owner: shown literally.
    name = info.account_name or info.email or "name not readable"
    lines = [f"**Account:** {escape_markdown(name)}"]
    if info.account_id:
        lines.append(f"**Account id:** {code_markdown(info.account_id)}")
    if info.mode is not None:
        lines.append(f"**Mode:** {escape_markdown(info.mode)}")
    if info.masked_key:
        lines.append(f"**Key:** {code_markdown(info.masked_key)} ({how})")
    lines.append(f"**Connected:** {format_datetime(summary.created_at, viewer_time_zone())}")
    if info.connected_by:
        lines.append(f"**Connected by:** {escape_markdown(info.connected_by)}")
    st.markdown("  \n".join(lines))


def _render_connection_actions(provider: ProviderName, actions: dict[str, object]) -> None:
    with st.container(horizontal=True):
        st.button(
            "Test",
            key=f"test_{provider}",
            icon=":material/network_check:",
            on_click=_test,
            kwargs=actions,
        )
        st.button(
            "Disconnect",
            key=f"disconnect_{provider}",
            icon=":material/link_off:",
            on_click=_ask_disconnect,
            kwargs=actions,
        )
        if st.session_state.get(_confirm_key(provider)):
            _disconnect_button("Remove anyway", f"remove_anyway_{provider}", actions, force=True)


def _render_disconnect_confirmation(
    provider: ProviderName, store: CredentialsStore, user_id: str, actions: dict[str, object]
) -> None:
    """What disconnecting Stripe deletes besides the credentials, with the choice to keep it."""
    local = local_copy_of(store, user_id)
    with st.container(border=True, key=f"disconnect-confirmation-{provider}"):
        held = (
            "no copied customers, charges, refunds or subscriptions"
            if local.empty
            else f"{local.describe()} copied from this account"
        )
        st.warning(
            "Disconnecting deletes the stored credentials and, unless you keep it, this app's "
            f"copy of the account's data: it holds {held} (with customer names, emails, "
            "descriptions and metadata). The Stripe events stored about the account are "
            "deleted too. The data in Stripe itself is not touched.",
            icon=":material/delete:",
        )
        st.checkbox(
            "Keep the copied data (customers, charges, refunds, subscriptions and events)",
            key=_keep_key(provider),
        )
        with st.container(horizontal=True):
            _disconnect_button("Disconnect", f"confirm_disconnect_{provider}", actions)
            st.button(
                "Cancel",
                key=f"cancel_disconnect_{provider}",
                on_click=_stop_asking,
                args=(provider,),
            )


def _disconnect_button(
    label: str, key: str, actions: dict[str, object], *, force: bool = False
) -> None:
    # The role is checked in `_disconnect`, so a click forged into a rerun is refused too.
    st.button(
        label, key=key, type="primary", on_click=_disconnect, kwargs={**actions, "force": force}
    )


def _render_stripe_connect(address: AppAddress, actor: Actor) -> None:
    link = connect_start_link(address, actor)
    if link is None:
        st.warning(
            "“Connect with Stripe” needs the sign-in `cookie_secret`, which the app cannot "
            "read from `.streamlit/secrets.toml`. Paste a key below instead."
        )
        return
    st.link_button("Connect with Stripe", link, type="primary", icon=":material/link:")
    st.caption(
        "You sign in on Stripe, choose the account, and come back to this page. "
        "Or paste a key below."
    )


def _render_key_form(
    provider: ProviderName, label: str, *, connected: bool, actions: dict[str, object]
) -> None:
    fields = key_fields(provider)
    if not fields:
        st.caption(
            f"{label} is connected through its own sign-in (OAuth), which this dashboard does "
            "not offer yet."
        )
        return
    title = "Replace with another key" if connected else "Connect with a key"
    with st.expander(title, expanded=provider == "stripe" and not connected):
        st.caption(credentials_help(provider))
        with st.form(key=f"connect_{provider}", border=False):
            for field in fields:
                st.text_input(
                    field.label,
                    key=_input_key(provider, field),
                    type="password" if field.secret else "default",
                    placeholder=field.placeholder,
                    autocomplete="off",
                )
            st.form_submit_button(
                f"Test and save {label}",
                key=f"save_{provider}",
                on_click=_connect_with_key,
                kwargs=actions,
            )


def _connect_with_key(
    store: CredentialsStore, user_id: str, provider: ProviderName, settings: Settings
) -> None:
    fields = key_fields(provider)
    values = {
        field.name: st.session_state.get(_input_key(provider, field)) or "" for field in fields
    }

    def connect(actor: Actor, adapter: ProviderAdapter) -> ConnectionOutcome:
        credentials = credentials_from_fields(values)
        return connect_with_key(
            store, user_id, provider, credentials, adapter, connected_by=actor.name
        )

    outcome = _run_admin_action(AdminAction.CONNECT_KEY, provider, settings, connect)
    if outcome is not None and outcome.ok:
        for field in fields:
            st.session_state[_input_key(provider, field)] = ""
        st.session_state[_confirm_key(provider)] = False


def _test(
    store: CredentialsStore, user_id: str, provider: ProviderName, settings: Settings
) -> None:
    _run_admin_action(
        AdminAction.TEST_CONNECTION,
        provider,
        settings,
        lambda _actor, adapter: check_stored_connection(store, user_id, provider, adapter),
    )


def _run_admin_action(
    action: AdminAction,
    provider: ProviderName,
    settings: Settings,
    act: Callable[[Actor, ProviderAdapter], ConnectionOutcome],
) -> ConnectionOutcome | None:
    """Run `act` with the provider's adapter if the actor may take `action`, then record and
    flash its outcome; None when the action was refused."""
    actor = permit(action, provider_label(provider))
    if actor is None:
        return None
    with adapter_for(provider, settings) as adapter:
        outcome = act(actor, adapter)
    _record(actor, action, provider, outcome)
    _flash_outcome(provider, outcome)
    return outcome


def _ask_disconnect(
    store: CredentialsStore, user_id: str, provider: ProviderName, settings: Settings
) -> None:
    # Only Stripe has a local copy to delete or keep: the others disconnect at once.
    if provider == "stripe":
        st.session_state[_asking_key(provider)] = True
        return
    _disconnect(store, user_id, provider, settings)


def _stop_asking(provider: ProviderName) -> None:
    st.session_state[_asking_key(provider)] = False
    st.session_state[_confirm_key(provider)] = False


def _disconnect(
    store: CredentialsStore,
    user_id: str,
    provider: ProviderName,
    settings: Settings,
    force: bool = False,
) -> None:
    account = _audit_account(provider, store, user_id)
    actor = permit(AdminAction.DISCONNECT, account)
    if actor is None:
        return
    keep = bool(st.session_state.get(_keep_key(provider)))
    outcome = disconnect(store, user_id, provider, settings, force=force, keep_data=keep)
    record(
        actor, AdminAction.DISCONNECT, ok=outcome.removed, account=account, detail=outcome.message
    )
    st.session_state[_confirm_key(provider)] = outcome.can_remove_anyway
    # Keep the question open while "Remove anyway" is offered, so the keep choice stays.
    st.session_state[_asking_key(provider)] = outcome.can_remove_anyway
    if outcome.removed:
        _stripe_account_changed(provider)
    _flash(provider, "success" if outcome.removed else "error", outcome.message)


def _record(
    actor: Actor, action: AdminAction, provider: ProviderName, outcome: ConnectionOutcome
) -> None:
    account_ref = outcome.connection.account_ref if outcome.connection is not None else None
    account = _account_label(provider, account_ref)
    record(actor, action, ok=outcome.ok, account=account, detail=outcome.message)


def _audit_account(provider: ProviderName, store: CredentialsStore, user_id: str) -> str:
    # The row names its account in clear, so this works even when it cannot be decrypted.
    refs = [s.account_ref for s in store.list_connections(user_id) if s.provider == provider]
    return _account_label(provider, refs[0] if refs else None)


def _account_label(provider: ProviderName, account_ref: str | None) -> str:
    """How the audit log names an account: "Stripe acct_1...", or the provider alone."""
    return " ".join(filter(None, [provider_label(provider), account_ref]))


def _flash_outcome(provider: ProviderName, outcome: ConnectionOutcome) -> None:
    if outcome.ok:
        _stripe_account_changed(provider)
    _flash(provider, "success" if outcome.ok else "error", outcome.message)


def _stripe_account_changed(provider: ProviderName) -> None:
    # Cached API answers are keyed by account and token, so a reconnect with the same token
    # would otherwise keep serving the answers (and errors) cached before it.
    if provider == "stripe":
        st.cache_data.clear()


def _flash(provider: ProviderName, kind: FlashKind, text: str) -> None:
    # Shown once, inside the provider's card, on the run that follows the action.
    st.session_state.setdefault(_FLASH, {}).setdefault(provider, []).append((kind, text))


def _input_key(provider: ProviderName, field: CredentialField) -> str:
    return f"key_{provider}_{field.name}"


def _confirm_key(provider: ProviderName) -> str:
    return f"confirm_remove_{provider}"


def _asking_key(provider: ProviderName) -> str:
    return f"asking_disconnect_{provider}"


def _keep_key(provider: ProviderName) -> str:
    return f"keep_data_{provider}"
