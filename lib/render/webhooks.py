"""The Webhooks page: where Stripe should post, what arrived, what was refused, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import partial

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from lib.accounts import StripeAccount
from lib.auth import AdminAction
from lib.config import Settings, get_settings
from lib.dates import format_datetime
from lib.render.access import current_actor, permit, record
from lib.render.safe_markdown import code_markdown, escape_markdown
from lib.render.selectable_table import clear_selection, select_item
from lib.render.session import current_account, session_bus
from lib.render.viewer import current_address, viewer_time_zone, webhook_endpoint
from lib.store import get_engine
from lib.webhooks import (
    WEBHOOK_RUNTIME,
    PollResult,
    ServerEvent,
    list_server_events,
    load_cursor,
    publish_server_event,
    rejection_counts,
)
from lib.webhooks.verify import REJECTION_MESSAGES

PAGE_PATH = "webhooks"
SHOWN_EVENTS = 200
SOURCE_LABELS = {"webhook": "Webhook", "poll": "Events API"}
SIGNATURE_LABELS = {"webhook": "Verified", "poll": "Not signed"}
_SYNC_RESULT = "_webhooks_sync_result"


def render_webhooks_page() -> None:
    """The whole page; storage problems are shown, never raised."""
    st.title("Webhooks")
    settings = get_settings()
    try:
        engine = get_engine()
    except Exception as error:  # storage down must leave the rest of the app usable
        render_endpoint(settings, demo=False, refused=None)
        st.error(
            "The event store cannot be opened, so received events cannot be shown "
            f"({type(error).__name__}). Check DATABASE_URL or the app's data directory."
        )
        return
    account = current_account(settings)
    refused = rejection_counts(engine)
    render_endpoint(settings, demo=account.is_demo, refused=sum(refused.values()))
    render_sync(engine, account, settings)
    render_events(engine, viewer_time_zone())
    render_rejections(refused)


def render_endpoint(settings: Settings, *, demo: bool, refused: int | None) -> None:
    """The URL to paste into Stripe and whether a signing secret is set (never the secret).

    Without a secret, deliveries are refused: that is a warning when Stripe may be sending
    some, and plain information on the demo account, which sends none, until one is refused.
    """
    st.subheader("Endpoint")
    st.caption("In the Stripe Dashboard, under Developers → Webhooks, add this endpoint URL:")
    address = current_address(settings, PAGE_PATH)
    st.code(webhook_endpoint(address), language=None)
    if address.note:
        st.caption(address.note)
    secrets = len(settings.webhook_secrets)
    if secrets:
        plural = "s are" if secrets > 1 else " is"
        st.success(f"{secrets} signing secret{plural} configured (STRIPE_WEBHOOK_SECRET).")
    elif demo and not refused:
        st.caption(
            "The demo account sends no webhooks. To receive your own account's events as they "
            "happen, connect it and set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret "
            "(whsec_…) from Stripe; until then the app reads them from the Events API."
        )
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
    elif settings.webhook_secrets:
        st.caption(
            "Periodic reading is off because webhooks are configured "
            "(EVENTS_POLL_ENABLED=true turns it on). Sync now still works."
        )
    else:
        st.caption("Periodic reading is turned off (EVENTS_POLL_ENABLED). Sync now still works.")
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


def render_events(engine: Engine, zone: tzinfo) -> None:
    """The newest stored events, latest happened first; a ticked row opens its details, where
    it can be delivered again to this session's widgets."""
    st.subheader("Received events")
    events = sorted(list_server_events(engine, limit=SHOWN_EVENTS), key=_happened, reverse=True)
    if not events:
        st.info("No events yet. They appear here when Stripe posts one or after Sync now.")
        return
    st.caption(
        "Latest first. Tick a row to see the event's details and show it on the dashboard again."
    )
    selected = select_item(
        events,
        row=partial(event_row, zone=zone),
        item_key=lambda event: str(event.id),
        key=EVENTS_KEY,
        column_config=EVENT_COLUMNS,
    )
    if selected is not None:
        show_event(selected, zone)


EVENTS_KEY = "webhook-events-"
EVENT_COLUMNS = {
    "Happened": st.column_config.TextColumn(width=190, help="When the event happened at Stripe"),
    "Type": st.column_config.TextColumn(width=200),
    "Stripe event": st.column_config.TextColumn(width=230),
    "Source": st.column_config.TextColumn(width=100),
    "Signature": st.column_config.TextColumn(
        width=100,
        help="Webhook deliveries carry Stripe's signature; events read from the Events API "
        "with your key carry none.",
    ),
    "Processing": st.column_config.TextColumn(width=100),
}


def event_row(event: ServerEvent, zone: tzinfo) -> dict[str, str]:
    """One stored event as a table row, in the page's column names."""
    return {
        "Happened": _when(event.created_at, zone),
        "Type": event.event_type,
        "Stripe event": event.stripe_event_id,
        "Source": SOURCE_LABELS.get(event.source, event.source),
        "Signature": SIGNATURE_LABELS.get(event.source, ""),
        "Processing": event.status,
    }


@st.dialog(
    "Received event", position="right", width=520, on_dismiss=partial(clear_selection, EVENTS_KEY)
)
def show_event(event: ServerEvent, zone: tzinfo) -> None:
    """One stored event beside the table: every fact about it, and "Show on the dashboard
    again"."""
    st.markdown(event_details(event, zone))
    if event.error:
        st.error(f"Processing failed: {escape_markdown(event.error)}")
    if not current_actor().is_admin:
        return  # replaying stored events is an admin action
    # The check runs in the callback, so a click forged into a rerun is refused too.
    st.button(
        "Show on the dashboard again",
        icon=":material/replay:",
        help="Deliver this event to the widgets of this browser session again, as if it had "
        "just arrived (for example to see how the Dashboard reacts to it).",
        on_click=_show_again,
        args=(event,),
    )
    delivered = st.session_state.pop(_SHOWN_AGAIN, None)
    if delivered:
        st.success(
            f"Delivered {escape_markdown(delivered)} to the dashboard widgets of this session "
            "again."
        )


_SHOWN_AGAIN = "_webhooks_shown_again"


def _show_again(event: ServerEvent) -> None:
    actor = permit(AdminAction.EVENT_REPLAY)
    if actor is None:
        return
    publish_server_event(session_bus(), event)
    replayed = f"{event.name} ({event.stripe_event_id})"
    record(actor, AdminAction.EVENT_REPLAY, ok=True, account=None, detail=replayed)
    st.session_state[_SHOWN_AGAIN] = replayed


def event_details(event: ServerEvent, zone: tzinfo) -> str:
    """The facts of one stored event as a markdown list, every value shown literally."""
    rows = [
        ("Type", code_markdown(event.event_type)),
        ("Stripe event", code_markdown(event.stripe_event_id)),
        ("Happened", escape_markdown(_when(event.created_at, zone) or "not known")),
        ("Received", escape_markdown(_when(event.received_at, zone))),
        ("Source", escape_markdown(SOURCE_LABELS.get(event.source, event.source))),
        ("Signature", escape_markdown(SIGNATURE_LABELS.get(event.source, "not known"))),
        ("Processing", escape_markdown(f"{event.status}, {_attempts(event.attempts)}")),
        ("Dashboard event", code_markdown(event.name)),
    ]
    return "\n".join(f"- {label}: {value}" for label, value in rows)


def render_rejections(counts: dict[str, int]) -> None:
    """How many deliveries were refused, per reason."""
    st.subheader("Refused deliveries")
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


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"


def _when(at: datetime | None, zone: tzinfo) -> str:
    return "" if at is None else format_datetime(at, zone, seconds=True)


def _happened(event: ServerEvent) -> datetime:
    # Events read before their `created` was kept count from when they were stored.
    at = event.created_at or event.received_at
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
