"""The audit log: every admin action and every refused attempt, in the app's database.

One row says who (the signed-in e-mail, or the local/remote visitor), from which address, when,
what, about which account, and the result with a short detail. Nothing secret is stored: the
detail is the plain message the page showed, with anything shaped like a key or token masked.
Rows are kept until the database is deleted.

Anyone who can reach the app can make refused attempts (open the OAuth start route, say), so
they cannot each cost a row: a refusal like one already stored in the last hour (same actor,
address and action) adds to that row's `attempts`, and past MAX_REFUSED_ROWS_PER_HOUR refused
rows in an hour, further refusals of an action are counted on one row for everyone else.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lib.auth.actions import AdminAction
from lib.auth.actor import Actor
from lib.providers.masking import redact_secrets
from lib.store.tables import audit_log

AuditResult = Literal["succeeded", "failed", "refused"]
MAX_DETAIL = 1000
MAX_ACCOUNT = 255
MAX_ACTOR = 320
MAX_REFUSED_ROWS_PER_HOUR = 1000
OTHERS = "others (too many refused attempts this hour)"
_FOLD_WINDOW = timedelta(hours=1)
# Any constant works; it only has to be the same in every process of this app.
_REFUSAL_LOCK_KEY = zlib.crc32(b"stripe-dashboard:audit-refusals")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class AuditEntry:
    """One stored row of the audit log."""

    id: int
    occurred_at: datetime
    actor: str
    role: str | None
    actor_kind: str
    client_address: str | None
    action: str
    account: str | None
    result: AuditResult
    detail: str | None
    attempts: int


@dataclass(frozen=True)
class AuditFilters:
    """What the audit page narrows to; None means any. Days are UTC and inclusive."""

    actor: str | None = None
    action: str | None = None
    result: AuditResult | None = None
    since: date | None = None
    until: date | None = None


class AuditLog:
    """Writes and reads `audit_log` (the same on SQLite and PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self,
        actor: Actor,
        action: AdminAction,
        result: AuditResult,
        *,
        account: str | None = None,
        detail: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Store one action or attempt; `detail` and `account` are cleaned and bounded, and a
        refused attempt may be counted on an earlier row (see the module's docstring)."""
        at = now or datetime.now(UTC)
        values = {
            "occurred_at": at,
            "actor": _clean(actor.name, MAX_ACTOR) or "unknown",
            "role": actor.role.value if actor.role is not None else None,
            "actor_kind": actor.kind,
            "client_address": actor.address,
            "action": action.value,
            "account": _clean(account, MAX_ACCOUNT),
            "result": result,
            "detail": _clean(detail, MAX_DETAIL),
        }
        with self._engine.begin() as connection:
            if result == "refused":
                values = _fold_refusal(connection, values, at)
            if values:
                connection.execute(audit_log.insert().values(**values))

    def entries(self, filters: AuditFilters, limit: int) -> list[AuditEntry]:
        """The newest `limit` rows matching `filters`, newest first."""
        statement = (
            sa.select(audit_log)
            .where(*_conditions(filters))
            .order_by(audit_log.c.occurred_at.desc(), audit_log.c.id.desc())
            .limit(limit)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(statement).mappings().all()
        return [AuditEntry(**row) for row in rows]

    def count(self, filters: AuditFilters) -> int:
        """How many rows match `filters`."""
        statement = sa.select(sa.func.count()).select_from(audit_log).where(*_conditions(filters))
        with self._engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def actors(self) -> list[str]:
        """Everyone who appears in the log, alphabetically (for the page's filter)."""
        statement = sa.select(audit_log.c.actor).distinct().order_by(audit_log.c.actor)
        with self._engine.connect() as connection:
            return list(connection.execute(statement).scalars())


def _fold_refusal(connection: Connection, values: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Count a refusal on a matching row of the last hour; the values to insert when there is
    none (the row for everyone else once the hour's refused rows reach the cap), else {}."""
    if connection.dialect.name == "postgresql":
        # SQLite's BEGIN IMMEDIATE already serialises writers.
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_REFUSAL_LOCK_KEY)))
    recent = sa.and_(audit_log.c.result == "refused", audit_log.c.occurred_at > at - _FOLD_WINDOW)
    if _count_on(connection, recent, values):
        return {}
    stored = connection.execute(sa.select(sa.func.count()).where(recent)).scalar_one()
    if stored < MAX_REFUSED_ROWS_PER_HOUR:
        return values
    others = {**values, "actor": OTHERS, "role": None, "client_address": None, "detail": None}
    return {} if _count_on(connection, recent, others) else others


def _count_on(
    connection: Connection, recent: sa.ColumnElement[bool], values: dict[str, Any]
) -> bool:
    same = sa.and_(
        recent,
        audit_log.c.action == values["action"],
        audit_log.c.actor == values["actor"],
        audit_log.c.client_address.is_not_distinct_from(values["client_address"]),
    )
    row_id = connection.execute(
        sa.select(audit_log.c.id).where(same).order_by(audit_log.c.id).limit(1)
    ).scalar()
    if row_id is None:
        return False
    connection.execute(
        audit_log.update().where(audit_log.c.id == row_id).values(attempts=audit_log.c.attempts + 1)
    )
    return True


def _conditions(filters: AuditFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.actor is not None:
        conditions.append(audit_log.c.actor == filters.actor)
    if filters.action is not None:
        conditions.append(audit_log.c.action == filters.action)
    if filters.result is not None:
        conditions.append(audit_log.c.result == filters.result)
    if filters.since is not None:
        conditions.append(audit_log.c.occurred_at >= _day_start(filters.since))
    if filters.until is not None:
        conditions.append(audit_log.c.occurred_at < _day_start(filters.until + timedelta(days=1)))
    return conditions


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _clean(text: str | None, limit: int) -> str | None:
    # Masking first, so a cut can never leave the unmasked head of a key behind.
    if not text:
        return None
    cleaned = _CONTROL.sub("", redact_secrets(text[: limit * 2]))
    return cleaned[:limit]
