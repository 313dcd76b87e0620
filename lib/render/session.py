"""Objects the pages share: the user, the store, the account and the session bus."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import streamlit as st

from lib.accounts import StripeAccount, resolve_stripe_account
from lib.auth import WORKSPACE_USER_ID
from lib.config import Settings, get_settings
from lib.connections import record_api_failure
from lib.events import EventBus
from lib.providers.types import ApiError, ProviderName
from lib.render.widgets import WidgetContext
from lib.store import (
    CredentialsStore,
    EncryptionKeyError,
    KeyOrigin,
    encryption_key_path,
    get_engine,
    load_secret_box,
)
from lib.webhooks.events_store import latest_server_event_id, server_events_matching
from lib.widgets.problems import ViewProblem
from lib.widgets.server_event_rows import SERVER_EVENT_ROWS, server_event_row
from lib.widgets.sources import WidgetSource, widget_source

_BUS_KEY = "_event_bus"
_reported_key_problems: set[str] = set()
log = logging.getLogger(__name__)


def current_user_id() -> str:
    """The user id connections are stored under: the workspace's, the same for everyone who
    signs in (see `lib.auth.workspace`)."""
    return WORKSPACE_USER_ID


@st.cache_resource(show_spinner=False)
def _credentials_store(
    database_url: str | None, data_dir: str
) -> tuple[CredentialsStore, KeyOrigin]:
    settings = get_settings()
    box, origin = load_secret_box(settings)
    if origin == KeyOrigin.GENERATED:
        log.warning("generated a new encryption key at %s", encryption_key_path(settings))
    return CredentialsStore(get_engine(), box), origin


@dataclass(frozen=True)
class CredentialsAccess:
    """The process's credentials store, or why there is none.

    `key_problem` says what is wrong with the encryption key and where it was read from (never
    the key); without it and without a store, the database could not be opened (logged).
    """

    store: CredentialsStore | None
    key_origin: KeyOrigin | None = None
    key_problem: str | None = None


def credentials_access() -> CredentialsAccess:
    """The credentials store of this process, its key's origin, or the key's problem."""
    settings = get_settings()
    url = settings.database_url.get_secret_value() if settings.database_url else None
    try:
        store, origin = _credentials_store(url, str(settings.app_data_dir))
    except EncryptionKeyError as error:
        if str(error) not in _reported_key_problems:
            _reported_key_problems.add(str(error))
            log.error("encryption key unusable: %s", error)
        return CredentialsAccess(None, key_problem=str(error))
    except Exception as error:  # storage down must not take the dashboard down with it
        log.warning("credentials store unavailable: %s", type(error).__name__)
        return CredentialsAccess(None)
    return CredentialsAccess(store, origin)


def credentials_store() -> CredentialsStore | None:
    """The process-wide credentials store, or None when it is unavailable (see
    `credentials_access` for why)."""
    return credentials_access().store


def current_account(
    settings: Settings | None = None, access: CredentialsAccess | None = None
) -> StripeAccount:
    """The Stripe account this session reads (stored connection, configured key, or demo).

    When the encryption key is unusable, an account that cannot be read, saying why: never
    the configured key's account or the demo in place of a stored connection.
    """
    settings = settings or get_settings()
    access = access or credentials_access()
    return resolve_stripe_account(
        settings, current_user_id(), access.store, key_problem=access.key_problem
    )


def session_bus() -> EventBus:
    """This browser session's event bus, created once per session."""
    bus = st.session_state.get(_BUS_KEY)
    if bus is None:
        bus = EventBus()
        st.session_state[_BUS_KEY] = bus
    return bus


def server_event_marker(patterns: list[str]) -> str:
    """Changes when a stored server event matching one of `patterns` arrives ("" if unknown)."""
    if not patterns:
        return ""
    try:
        engine = get_engine()
        return ",".join(str(latest_server_event_id(engine, pattern)) for pattern in patterns)
    except Exception as error:  # the dashboard still works from its cache when storage is down
        log.warning("server events unavailable: %s", type(error).__name__)
        return ""


def stored_server_events(patterns: list[str]) -> list[dict[str, Any]] | None:
    """Rows for a server-events widget: the newest stored events matching `patterns`, or None
    when storage cannot be read."""
    try:
        events = server_events_matching(get_engine(), patterns, limit=SERVER_EVENT_ROWS)
    except Exception as error:  # the widget says so instead of showing a traceback
        log.warning("server events unavailable: %s", type(error).__name__)
        return None
    return [server_event_row(event.name, event.payload, event.received_at) for event in events]


def widget_context() -> WidgetContext:
    """Everything the dashboard's widgets share in this run: each provider's connection, the
    bus, the timezone, and where a rejected stored connection is marked for reconnection."""
    access = credentials_access()
    account, store = current_account(access=access), access.store
    user_id = current_user_id()

    def source_for(provider: ProviderName) -> WidgetSource | ViewProblem:
        return widget_source(provider, account, store, user_id)

    def mark_reconnect(source: WidgetSource, error: ApiError) -> None:
        if store is not None:
            record_api_failure(store, user_id, source.provider, error)

    return WidgetContext(
        bus=session_bus(),
        source_for=source_for,
        timezone=st.context.timezone or "UTC",
        on_rejected=mark_reconnect,
        refresh_marker=server_event_marker,
        server_events=stored_server_events,
    )
