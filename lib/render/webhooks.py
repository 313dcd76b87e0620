"""The Webhooks page: where Stripe should post, what arrived, what was refused, catch-up."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from lib.accounts import StripeAccount
from lib.auth import AdminAction
from lib.config import Settings, get_settings
from lib.render.access import current_actor, permit, record
from lib.render.safe_markdown import escape_markdown
from lib.render.session import current_account, session_bus
from lib.store import get_engine
from lib.webhooks import (
    WEBHOOK_PATH,
    WEBHOOK_RUNTIME,
    PollResult,
    ServerEvent,
    list_server_events,
    load_cursor,
    publish_server_event,
    rejection_counts,
)
from lib.webhooks.verify import REJECTION_MESSAGES

SHOWN_EVENTS = 200
SOURCE_LABELS = {"webhook": "Webhook", "poll": "Events API"}
SIGNATURE_LABELS = {"webhook": "Verified", "poll": "Not signed (read from the API)"}
_SYNC_RESULT = "_webhooks_sync_result"


def render_webhooks_page() -> None:
    """The whole page; storage problems are shown, never raised."""
    st.title("Webhooks")
    settings = get_settings()
    render_endpoint(settings)
    try:
        engine = get_engine()
    except Exception as error:  # storage down must leave the rest of the app usable
        st.error(
            "The event store cannot be opened, so received events cannot be shown "
            f"({type(error).__name__}). Check DATABASE_URL or the app's data directory."
        )
        return
    account = current_account(settings)
    render_sync(engine, account, settings)
    render_events(engine)
    render_rejections(engine)


def render_endpoint(settings: Settings) -> None:
    """The URL to paste into Stripe and whether a signing secret is set (never the secret)."""
    st.subheader("Endpoint")
    st.caption("In the Stripe Dashboard, under Developers → Webhooks, add this endpoint URL:")
    st.code(settings.app_url.rstrip("/") + WEBHOOK_PATH, language=None)
    secrets = len(settings.webhook_secrets)
    if secrets:
        plural = "s are" if secrets > 1 else " is"
        st.success(f"{secrets} signing secret{plural} configured (STRIPE_WEBHOOK_SECRET).")
    else:
        st.warning(
            "No signing secret is configured, so deliveries are refused. Copy the endpoint's "
            "signing secret (whsec_…) from Stripe into STRIPE_WEBHOOK_SECRET."
        )


def render_sync(engine: Engine, account: StripeAccount, settings: Settings) -> None:
    """Catch-up from Stripe's Events API: schedule, last result and the "Sync now" button."""
    st.subheader("Catch-up from the Events API")
    if settings.polling_enabled:
        st.caption(
            f"While the app runs, it reads new events from {escape_markdown(account.label)} "
            f"every {settings.events_poll_interval_seconds:g} seconds."
        )
    else:
        st.caption(
            "Periodic reading is off because webhooks are configured "
            "(EVENTS_POLL_ENABLED=true turns it on). Sync now still works."
        )
    if not current_actor().is_admin:
        st.caption("Admins can catch up from here with Sync now.")
    elif st.button("Sync now", icon=":material/sync:") and (
        actor := permit(AdminAction.EVENTS_SYNC, account.label)
    ):
        synced = WEBHOOK_RUNTIME.sync(engine, account)
        st.session_state[_SYNC_RESULT] = synced
        said = f"Sync failed: {synced.error}" if synced.error else describe_sync(synced)
        ok = synced.error is None
        record(actor, AdminAction.EVENTS_SYNC, ok=ok, account=account.label, detail=said)
    result: PollResult | None = st.session_state.get(_SYNC_RESULT)
    if result is not None:
        if result.error:
            st.error(f"Sync failed: {escape_markdown(result.error)}")
        else:
            st.info(describe_sync(result))
    cursor = load_cursor(engine, account.key)
    if cursor is not None and cursor.last_error and result is None:
        st.warning(f"The last catch-up failed: {escape_markdown(cursor.last_error)}")


def describe_sync(result: PollResult) -> str:
    """What a successful sync did, in words."""
    new = "1 new event" if result.stored == 1 else f"{result.stored} new events"
    pages = "1 page" if result.pages == 1 else f"{result.pages} pages"
    return f"Stored {new} ({result.duplicates} already stored), read {pages} from Stripe."


def render_events(engine: Engine) -> None:
    """The newest stored events, and replaying one into this session's event mesh."""
    st.subheader("Received events")
    events = list_server_events(engine, limit=SHOWN_EVENTS)
    if not events:
        st.info("No events yet. They appear here when Stripe posts one or after Sync now.")
        return
    st.dataframe(
        events_table(events),
        hide_index=True,
        column_config={
            "Received": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "Happened": st.column_config.DatetimeColumn(
                format="YYYY-MM-DD HH:mm:ss", help="When the event happened at Stripe"
            ),
            "Attempts": st.column_config.NumberColumn(format="%d"),
        },
    )
    if not current_actor().is_admin:
        return
    by_id = {event.id: event for event in events}
    chosen = st.selectbox(
        "Stored event to replay",
        options=list(by_id),
        format_func=lambda event_id: _event_label(by_id[event_id]),
    )
    clicked = st.button("Replay into the mesh", icon=":material/replay:")
    if clicked and chosen in by_id and (actor := permit(AdminAction.EVENT_REPLAY)):
        event = by_id[chosen]
        publish_server_event(session_bus(), event)
        replayed = f"{event.name} ({event.stripe_event_id})"
        record(actor, AdminAction.EVENT_REPLAY, ok=True, account=None, detail=replayed)
        st.success(f"Published {escape_markdown(replayed)} into this session's mesh.")


def events_table(events: list[ServerEvent]) -> pd.DataFrame:
    """One row per stored event, in the page's column names."""
    return pd.DataFrame(
        [
            {
                "Received": event.received_at,
                "Happened": event.created_at,
                "Type": event.event_type,
                "Stripe event": event.stripe_event_id,
                "Mesh event": event.name,
                "Source": SOURCE_LABELS.get(event.source, event.source),
                "Signature": SIGNATURE_LABELS.get(event.source, ""),
                "Processing": event.status,
                "Error": event.error or "",
                "Attempts": event.attempts,
            }
            for event in events
        ]
    )


def render_rejections(engine: Engine) -> None:
    """How many deliveries were refused, per reason."""
    st.subheader("Refused deliveries")
    counts = rejection_counts(engine)
    if not counts:
        st.caption("No delivery has been refused.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {"Reason": REJECTION_MESSAGES.get(reason, reason), "Deliveries": count}
                for reason, count in counts.items()
            ]
        ),
        hide_index=True,
    )


def _event_label(event: ServerEvent) -> str:
    received = event.received_at.strftime("%Y-%m-%d %H:%M:%S")
    return f"{received} · {event.event_type} · {event.stripe_event_id}"
