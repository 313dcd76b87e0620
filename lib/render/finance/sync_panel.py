"""The mirror's sync panel: last sync, a running sync's progress with Cancel, Sync now/Resume;
a sync running in another app process is shown as such, with no second start."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import streamlit as st
from sqlalchemy.engine import Engine

from lib.accounts import StripeAccount, stripe_adapter_for
from lib.auth import AdminAction
from lib.config import get_settings
from lib.render.access import current_actor, permit, record
from lib.render.safe_markdown import escape_markdown
from lib.render.session import current_account
from lib.store import get_engine
from lib.sync import (
    SYNC_ORDER,
    ResourceState,
    SyncJob,
    SyncProgress,
    SyncReport,
    apply_stored_events,
    read_states,
    sync_jobs,
    sync_lock,
    sync_mirror,
    sync_position,
    sync_running_elsewhere,
)
from lib.widgets.formatting import format_number, format_relative_time


def open_mirror_page(title: str) -> tuple[StripeAccount, Engine] | None:
    """A finance page's start: its title, then the current account and its mirror with stored
    events applied, once the sync panel is shown; None (with the reason shown) when the mirror
    cannot be read."""
    st.title(title)
    account = current_account()
    if account.needs_reconnect:
        st.info("Reconnect Stripe to see this account's data.")
        return None
    try:
        engine = get_engine()
    except Exception as error:  # a database that is down must not take the page with it
        st.error(f"The local database is not available ({type(error).__name__}).")
        return None
    apply_stored_events(engine, account.key)
    render_sync_panel(engine, account)
    return account, engine


def render_sync_panel(engine: Engine, account: StripeAccount) -> None:
    """When the mirror was last synced, a running sync's progress with Cancel, else Sync now
    (or Resume), for admins; a never-synced account starts syncing on its own."""
    with engine.connect() as connection:
        states = read_states(connection, account.key)
    job = sync_jobs.get(account.key)
    never_synced = all(not s.complete and not s.run_open for s in states.values())
    elsewhere = sync_running_elsewhere(engine, sync_jobs, account.key)
    if job is None and never_synced and not elsewhere:
        job = _start_sync(engine, account)
        elsewhere = job is None
    with st.container(border=True, key="mirror-sync-panel"):
        if job is not None and job.running:
            _sync_progress(account)
            return
        if elsewhere:
            _sync_elsewhere(engine, account)
            return
        left, right = st.columns([4, 1], vertical_alignment="center")
        with left:
            _sync_summary(states, job)
        if not current_actor().is_admin:
            return
        resumable = any(state.run_open for state in states.values())
        label = "Resume sync" if resumable else "Sync now"
        right.button(
            label,
            key="mirror-sync-start",
            icon=":material/sync:",
            on_click=_sync_now,
            args=(engine, account),
        )


def _sync_now(engine: Engine, account: StripeAccount) -> None:
    actor = permit(AdminAction.SYNC_START, account.label)
    if actor is None:
        return
    started = _start_sync(engine, account) is not None
    said = "Sync started." if started else "Not started: another app process is syncing."
    record(actor, AdminAction.SYNC_START, ok=started, account=account.label, detail=said)


def _cancel_sync(job: SyncJob, account: StripeAccount) -> None:
    actor = permit(AdminAction.SYNC_CANCEL, account.label)
    if actor is None:
        return
    job.cancel()
    record(actor, AdminAction.SYNC_CANCEL, ok=True, account=account.label, detail="Cancel asked.")


def _start_sync(engine: Engine, account: StripeAccount) -> SyncJob | None:
    """The sync now running in this process; None when another process syncs the account."""
    adapter = stripe_adapter_for(account)
    key, credentials = account.key, account.credentials
    concurrency = get_settings().sync_concurrency

    def run(
        should_cancel: Callable[[], bool], on_progress: Callable[[SyncProgress], None]
    ) -> SyncReport:
        return sync_mirror(
            engine,
            key,
            adapter,
            credentials,
            should_cancel=should_cancel,
            on_progress=on_progress,
            concurrency=concurrency,
        )

    return sync_jobs.start(key, run, sync_lock(engine, key))


@st.fragment(run_every=1.0)
def _sync_progress(account: StripeAccount) -> None:
    job = sync_jobs.get(account.key)
    if job is None or not job.running:
        st.rerun()
        return
    progress = job.progress
    step = 0 if progress is None else SYNC_ORDER.index(progress.resource)
    resource = SYNC_ORDER[step]
    share = 0.0 if progress is None or progress.share is None else progress.share
    with st.status(f"Syncing {resource} from Stripe…", expanded=True):
        if progress is None:
            st.write("Starting…")
        else:
            st.write(
                f"{format_number(progress.objects)} objects stored · "
                f"{format_number(progress.pages)} pages · "
                f"{format_number(progress.requests)} requests · "
                f"{format_number(round(progress.elapsed))} s"
            )
        text = f"Step {step + 1} of {len(SYNC_ORDER)}"
        if progress is not None and progress.share is not None:
            text += (
                f" · {format_number(int(share * 100))}% of the {resource} history's time range "
                f"· {format_number(progress.concurrency)} requests at a time"
            )
        st.progress(min(1.0, (step + share) / len(SYNC_ORDER)), text=text)
    if job.cancel_requested:
        st.caption("Cancelling after the current page…")
    elif current_actor().is_admin:
        st.button(
            "Cancel sync", key="mirror-sync-cancel", on_click=_cancel_sync, args=(job, account)
        )


@st.fragment(run_every=2.0)
def _sync_elsewhere(engine: Engine, account: StripeAccount) -> None:
    if not sync_running_elsewhere(engine, sync_jobs, account.key):
        st.rerun()
        return
    position = sync_position(engine, account.key)
    resource = position.resource
    title = "Syncing from Stripe in another app process…"
    if resource is not None:
        title = f"Syncing {resource} from Stripe in another app process…"
    with st.status(title, expanded=True):
        if position.last_page_at is not None:
            stored = format_relative_time(position.last_page_at.timestamp(), datetime.now(UTC))
            st.write(f"Last page stored {stored}.")
        if resource is not None:
            step = SYNC_ORDER.index(resource)
            st.progress(step / len(SYNC_ORDER), text=f"Step {step + 1} of {len(SYNC_ORDER)}")
    st.caption(
        "Another process of this app is syncing this account; this page updates when it is "
        "done. Only one sync of an account runs at a time."
    )


def _sync_summary(states: dict[Any, ResourceState], job: SyncJob | None) -> None:
    synced = [s.last_synced_at for s in states.values() if s.last_synced_at is not None]
    complete = all(state.complete for state in states.values())
    if complete and synced:
        oldest = min(synced)
        st.markdown(
            f"**Local copy of this account** · last synced "
            f"{format_relative_time(oldest.timestamp(), datetime.now(UTC))}"
        )
    else:
        missing = ", ".join(r for r, s in states.items() if not s.complete)
        st.markdown(f"**Local copy of this account** · not fully synced yet ({missing})")
    report = job.report if job is not None else None
    if job is not None and job.crashed:
        st.error(f"The last sync stopped unexpectedly ({job.crashed}). Resume to continue.")
    elif report is not None and report.outcome == "failed" and report.error is not None:
        stopped = escape_markdown(report.error.message)
        st.error(f"The last sync stopped: {stopped} Resume to continue from there.")
    elif report is not None and report.outcome == "cancelled":
        st.info(
            f"Sync cancelled after {format_number(report.objects)} objects; resume to continue "
            "from there."
        )
    errors = [s.last_error for s in states.values() if s.last_error]
    if errors and (report is None or report.outcome != "failed"):
        st.caption(f"Last sync problem: {escape_markdown(errors[0])}")
