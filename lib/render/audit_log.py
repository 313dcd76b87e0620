"""The Audit log page (admins only): who did what, when, to which account, with what result;
filtered by person, action, result and day, exported as CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import streamlit as st

from lib.auth import ACTION_LABELS, Actor, AdminAction, AuditEntry, AuditFilters, AuditLog
from lib.auth.audit import AuditResult
from lib.auth.audit_export import audit_csv
from lib.render.access import audit_log, permit, record

SHOWN_ENTRIES = 500
MAX_EXPORT_ENTRIES = 100_000
RESULTS: tuple[AuditResult, ...] = ("succeeded", "failed", "refused")
RESULT_LABELS = {"succeeded": "Succeeded", "failed": "Failed", "refused": "Refused"}
_VIEW_RECORDED = "_audit_view_recorded"
# Widths that fit a 1440 px window beside the sidebar (wider windows stretch them); rows tall
# enough for Streamlit's grid to wrap a long detail onto a second and third line.
ENTRY_COLUMNS = {
    "When (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss", width=145),
    "Who": st.column_config.TextColumn(width=150),
    "Role": st.column_config.TextColumn(width=55),
    "Address": st.column_config.TextColumn(width=95),
    "Action": st.column_config.TextColumn(width=165),
    "Account": st.column_config.TextColumn(width=95),
    "Result": st.column_config.TextColumn(width=90),
    "Detail": st.column_config.TextColumn(width=150),
}
WRAPPING_ROW_PX = 70


def render_audit_log_page() -> None:
    """The whole page; a non-admin gets a refusal (recorded) and nothing else."""
    st.title("Audit log")
    actor = permit(AdminAction.AUDIT_VIEW)
    if actor is None:
        return
    audit = audit_log()
    if audit is None:
        st.error("The audit log cannot be read: the database is not available.")
        return
    if not st.session_state.get(_VIEW_RECORDED):
        st.session_state[_VIEW_RECORDED] = True
        record(actor, AdminAction.AUDIT_VIEW, ok=True, account=None, detail="Opened the audit log.")
    st.caption(
        "Every admin action and every refused attempt, newest first. Times are UTC; nothing "
        "secret is stored."
    )
    filters = render_filters(audit)
    total = audit.count(filters)
    entries = audit.entries(filters, limit=SHOWN_ENTRIES)
    if not entries:
        st.info("No entry matches the filters.")
        return
    shown = f"The newest {len(entries):,} of {total:,} entries." if total > len(entries) else ""
    st.caption(shown or f"{total:,} {'entry' if total == 1 else 'entries'}.")
    st.dataframe(
        entries_table(entries),
        hide_index=True,
        column_config=ENTRY_COLUMNS,
        row_height=WRAPPING_ROW_PX,
    )
    _render_export(audit, actor, filters, total)


def render_filters(audit: AuditLog) -> AuditFilters:
    """Who, action, result and a day range; every choice comes from fixed lists or the log."""
    who, action, result, since, until = st.columns([2, 2, 1, 1, 1])
    actor = who.selectbox(
        "Who",
        [None, *audit.actors()],
        format_func=lambda value: "Everyone" if value is None else value,
    )
    chosen_action = action.selectbox(
        "Action",
        [None, *AdminAction],
        format_func=lambda value: "Every action" if value is None else ACTION_LABELS[value],
    )
    chosen_result = result.selectbox(
        "Result",
        [None, *RESULTS],
        format_func=lambda value: "Any" if value is None else RESULT_LABELS[value],
    )
    today = datetime.now(UTC).date()
    first = since.date_input("From", value=None, max_value=today, key="audit-since")
    last = until.date_input("To", value=None, max_value=today, key="audit-until")
    return AuditFilters(
        actor=actor,
        action=None if chosen_action is None else chosen_action.value,
        result=chosen_result,
        since=first if isinstance(first, date) else None,
        until=last if isinstance(last, date) else None,
    )


def entries_table(entries: list[AuditEntry]) -> pd.DataFrame:
    """One row per entry, in the page's column names (cells are shown literally)."""
    return pd.DataFrame(
        [
            {
                "When (UTC)": entry.occurred_at,
                "Who": entry.actor,
                "Role": entry.role or "",
                "Address": entry.client_address or "",
                "Action": _action_label(entry.action),
                "Account": entry.account or "",
                "Result": _result_text(entry),
                "Detail": entry.detail or "",
            }
            for entry in entries
        ],
        columns=list(ENTRY_COLUMNS),
    )


def _result_text(entry: AuditEntry) -> str:
    """The result, with how many attempts one entry stands for when more than one."""
    label = RESULT_LABELS.get(entry.result, entry.result)
    return f"{label} ×{entry.attempts:,}" if entry.attempts > 1 else label


def _render_export(audit: AuditLog, actor: Actor, filters: AuditFilters, total: int) -> None:
    def export() -> bytes:
        # Runs when the button is clicked (on another thread), so the export is recorded then.
        entries = audit.entries(filters, limit=MAX_EXPORT_ENTRIES)
        record(
            actor,
            AdminAction.AUDIT_EXPORT,
            ok=True,
            account=None,
            detail=f"Exported {len(entries):,} entries as CSV.",
        )
        return audit_csv(entries)

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    st.download_button(
        f"Export {min(total, MAX_EXPORT_ENTRIES):,} entries to CSV",
        data=export,
        file_name=f"audit-log-{stamp}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="audit_export_csv",
    )
    if total > MAX_EXPORT_ENTRIES:
        st.caption(f"The export holds the newest {MAX_EXPORT_ENTRIES:,}; narrow the filters.")


def _action_label(action: str) -> str:
    try:
        return ACTION_LABELS[AdminAction(action)]
    except ValueError:
        return action
