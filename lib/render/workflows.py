"""The Workflows page: each workflow with its trigger, steps and real-sends switch (admins),
its runs filtered by workflow, status and date, each run's steps with what was sent (phone
numbers and e-mail addresses partly masked), Retry/Cancel and "Send test event" (admins)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import pandas as pd
import streamlit as st

from lib.auth import AdminAction
from lib.config import get_settings
from lib.dates import format_datetime
from lib.render.access import current_actor, permit, record
from lib.render.safe_markdown import code_markdown, escape_markdown
from lib.render.viewer import viewer_time_zone
from lib.store import get_engine
from lib.store.tables import WORKFLOW_RUN_STATUSES
from lib.workflows import store
from lib.workflows.actions import ACTIONS
from lib.workflows.masking import mask_text, mask_values
from lib.workflows.runtime import WORKFLOW_RUNNER
from lib.workflows.sample_events import SAMPLE_EVENT_TYPES, send_sample_event
from lib.workflows.schema import WorkflowDefinition

SHOWN_RUNS = 200
_NOTICE = "_workflows_notice"


def render_workflows_page() -> None:
    """The whole page."""
    st.title("Workflows")
    st.caption(
        "Automations run on server events. Until an admin turns real sends on, and whenever "
        "a provider is not connected, a run is a dry run that records what it would have sent."
    )
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.success(escape_markdown(notice))
    engine = get_engine()
    definitions = WORKFLOW_RUNNER.definitions.current()
    if not definitions:
        st.info(
            "No valid workflow files in the workflows folder (check them with "
            "`python -m lib.workflows check`)."
        )
        return
    switches = store.live_switches(engine)
    admin = current_actor().is_admin
    for workflow_id, definition in definitions.items():
        _render_workflow(workflow_id, definition, switches.get(workflow_id, False), admin)
    if admin:
        _render_sample_event()
    _render_runs(definitions, admin)


def _render_workflow(
    workflow_id: str, definition: WorkflowDefinition, live: bool, admin: bool
) -> None:
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(definition.name)}** · {code_markdown(workflow_id)}")
        if definition.description:
            st.caption(escape_markdown(definition.description))
        trigger = f"On {code_markdown(definition.trigger.event)}"
        if definition.trigger.condition:
            trigger += f" when {code_markdown(definition.trigger.condition)}"
        if definition.limit is not None:
            trigger += (
                f"; at most one run per {escape_markdown(definition.limit.per)} every "
                f"{definition.limit.hours} hours"
            )
        st.markdown(trigger)
        steps = [
            f"{index}. {escape_markdown(ACTIONS[step.action].name)} ({code_markdown(step.id)})"
            + (f" → publishes {code_markdown(step.publishes)}" if step.publishes else "")
            for index, step in enumerate(definition.steps, start=1)
        ]
        st.markdown("\n".join(steps))
        state = "Real sends are on." if live else "Dry runs only: nothing is sent."
        st.caption(state)
        if admin:
            st.button(
                "Turn real sends off" if live else "Turn real sends on",
                key=f"workflow-switch-{workflow_id}",
                on_click=_switch,
                args=(workflow_id, not live),
            )


def _switch(workflow_id: str, live: bool) -> None:
    # The role is checked here, in the callback, so a forged click is refused and recorded.
    actor = permit(AdminAction.WORKFLOW_SWITCH)
    if actor is None:
        return
    store.set_live(get_engine(), workflow_id, live, actor.name, datetime.now(UTC))
    what = f"Real sends {'on' if live else 'off'} for {workflow_id}."
    record(actor, AdminAction.WORKFLOW_SWITCH, ok=True, account=None, detail=what)
    st.session_state[_NOTICE] = what


def _render_sample_event() -> None:
    with st.expander("Send test event"):
        st.caption(
            "Posts a signed test event (about a test customer) through this app's own webhook "
            "endpoint, like `stripe trigger`, so the whole chain runs."
        )
        choice = st.selectbox(
            "Event",
            list(SAMPLE_EVENT_TYPES),
            format_func=lambda name: f"{SAMPLE_EVENT_TYPES[name]} ({name})",
            key="workflow-sample-type",
        )
        st.button(
            "Send test event", key="workflow-sample-send", on_click=_send_sample, args=(choice,)
        )


def _send_sample(event_type: str) -> None:
    actor = permit(AdminAction.WORKFLOW_TEST_EVENT)
    if actor is None:
        return
    port = st.get_option("server.port")
    delivery = send_sample_event(get_settings(), f"http://127.0.0.1:{port}", event_type)
    ok = delivery.status is not None and delivery.status < 300
    detail = f"{event_type} {delivery.event_id}: {delivery.message}"
    record(actor, AdminAction.WORKFLOW_TEST_EVENT, ok=ok, account=None, detail=detail)
    st.session_state[_NOTICE] = detail


def _render_runs(definitions: dict[str, WorkflowDefinition], admin: bool) -> None:
    st.subheader("Runs")
    which, status, since = st.columns([2, 2, 1])
    workflow_id = which.selectbox("Workflow", ["All", *definitions], key="workflow-filter-id")
    statuses = status.multiselect("Status", WORKFLOW_RUN_STATUSES, key="workflow-filter-status")
    day = since.date_input("Since", value=None, key="workflow-filter-since")
    runs = store.list_runs(
        get_engine(),
        workflow_id=None if workflow_id == "All" else workflow_id,
        statuses=statuses,
        since=datetime.combine(day, time(), UTC) if isinstance(day, date) else None,
        limit=SHOWN_RUNS,
    )
    if not runs:
        st.info("No run matches the filters yet.")
        return
    zone = viewer_time_zone()
    st.dataframe(
        pd.DataFrame(
            {
                "Run": [run.id for run in runs],
                "Workflow": [run.workflow_id for run in runs],
                "Trigger event": [f"{run.trigger_name} ({run.trigger_event_id})" for run in runs],
                "Status": [run.status for run in runs],
                "Dry run": [run.dry_run for run in runs],
                "Started": [format_datetime(run.created_at, zone) for run in runs],
                "Outcome": [mask_text(run.outcome or "") for run in runs],
            }
        ),
        hide_index=True,
        key="workflow-runs",
    )
    chosen = st.selectbox("Run details", [run.id for run in runs], key="workflow-run-choice")
    run = next(run for run in runs if run.id == chosen)
    _render_run(run, admin)


def _render_run(run: store.RunRecord, admin: bool) -> None:
    zone = viewer_time_zone()
    st.markdown(
        f"Run {run.id} of {code_markdown(run.workflow_id)} on {code_markdown(run.trigger_name)} "
        f"({code_markdown(run.trigger_event_id)}): **{escape_markdown(run.status)}**"
    )
    if run.outcome:
        st.caption(escape_markdown(mask_text(run.outcome)))
    for position, step in store.load_steps(get_engine(), run.id).items():
        took = ""
        if step.finished_at is not None:
            took = f", {(step.finished_at - step.started_at).total_seconds():.1f} s"
        with st.container(border=True):
            st.markdown(
                f"Step {position + 1} {code_markdown(step.step_id)} "
                f"({escape_markdown(step.action)}): "
                f"**{escape_markdown(step.status)}** · started "
                f"{escape_markdown(format_datetime(step.started_at, zone))}{escape_markdown(took)}"
                f" · attempts {step.attempts}"
            )
            if step.request:
                st.markdown("Sent" if step.status == "succeeded" else "Would send / tried to send")
                st.code(json.dumps(mask_values(step.request), indent=2, ensure_ascii=False))
            if step.response:
                st.code(json.dumps(mask_values(step.response), indent=2, ensure_ascii=False))
            if step.error:
                st.error(escape_markdown(mask_text(step.error)))
    if admin and run.status in store.RETRYABLE_STATUSES:
        retry, cancel = st.columns(2)
        retry.button("Retry", key=f"workflow-retry-{run.id}", on_click=_retry, args=(run.id,))
        cancel.button("Cancel", key=f"workflow-cancel-{run.id}", on_click=_cancel, args=(run.id,))


def _retry(run_id: int) -> None:
    actor = permit(AdminAction.WORKFLOW_RETRY)
    if actor is None:
        return
    ok = store.retry_run(get_engine(), run_id, datetime.now(UTC))
    WORKFLOW_RUNNER.wake()
    record(actor, AdminAction.WORKFLOW_RETRY, ok=ok, account=None, detail=f"Run {run_id}")
    st.session_state[_NOTICE] = (
        f"Run {run_id} queued again." if ok else "That run cannot be retried."
    )


def _cancel(run_id: int) -> None:
    actor = permit(AdminAction.WORKFLOW_CANCEL)
    if actor is None:
        return
    ok = store.cancel_run(get_engine(), run_id, datetime.now(UTC))
    record(actor, AdminAction.WORKFLOW_CANCEL, ok=ok, account=None, detail=f"Run {run_id}")
    st.session_state[_NOTICE] = (
        f"Run {run_id} cancelled." if ok else "That run cannot be cancelled."
    )
