"""The one check every admin action makes at the point of action, and its audit record.

Hiding a button is not enough: a crafted rerun, a query parameter or a direct request can
reach the code behind it, so each action calls `authorize` first and `record_outcome` after.
"""

from __future__ import annotations

import logging

from lib.auth.actions import AdminAction
from lib.auth.actor import Actor
from lib.auth.audit import AuditLog, AuditResult

log = logging.getLogger(__name__)

REFUSED_SIGNED_IN = "Only admins can do this, so nothing was changed. The attempt was recorded."
REFUSED_LOCAL = (
    "Changes can only be made from the computer this dashboard runs on, because sign-in is not "
    "configured, so nothing was changed. The attempt was recorded."
)


def refusal_message(actor: Actor) -> str:
    """What a refused actor is told, in plain words."""
    return REFUSED_LOCAL if actor.kind == "local" else REFUSED_SIGNED_IN


def authorize(
    actor: Actor, action: AdminAction, audit: AuditLog | None, *, account: str | None = None
) -> bool:
    """True when `actor` is an admin. Otherwise False, and the refused attempt is recorded
    (a broken audit store is logged, and the attempt is refused all the same)."""
    if actor.is_admin:
        return True
    write_entry(audit, actor, action, "refused", account=account, detail=refusal_message(actor))
    return False


def record_outcome(
    actor: Actor,
    action: AdminAction,
    audit: AuditLog | None,
    *,
    ok: bool,
    account: str | None = None,
    detail: str | None = None,
) -> None:
    """Record what an authorized admin action did."""
    result: AuditResult = "succeeded" if ok else "failed"
    write_entry(audit, actor, action, result, account=account, detail=detail)


def write_entry(
    audit: AuditLog | None,
    actor: Actor,
    action: AdminAction,
    result: AuditResult,
    *,
    account: str | None = None,
    detail: str | None = None,
) -> None:
    """Store one audit row; a store that is down is logged, never raised to the page."""
    if audit is None:
        log.error("audit log unavailable: %s %s by %s not recorded", action, result, actor.name)
        return
    try:
        audit.record(actor, action, result, account=account, detail=detail)
    except Exception as error:  # the page must answer even when the database is down
        log.error(
            "audit log write failed (%s): %s %s by %s",
            type(error).__name__,
            action,
            result,
            actor.name,
        )
