"""The run store: one row per (workflow, trigger event), one row per step outcome, claims.

Every write is its own short transaction, so a step's outcome is committed before the next
step starts. Claims take due runs with `FOR UPDATE SKIP LOCKED` (PostgreSQL: several app
processes never claim the same run) and a lease, so a run whose process died is resumed by
another claim once the lease has passed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lib.store.tables import (
    MAX_ERROR_TEXT_LENGTH,
    workflow_limits,
    workflow_runs,
    workflow_steps,
    workflow_switches,
)
from lib.store.upsert import dialect_insert, upsert_row
from lib.webhooks.events_store.inserting import NewEvent, insert_batch
from lib.webhooks.events_store.writing import writing

OPEN_STATUSES = ("pending", "running")
RETRYABLE_STATUSES = ("failed", "dead", "unknown")
"""Run statuses an admin may Retry or Cancel."""


@dataclass(frozen=True)
class NewRun:
    """A run to start for a stored server event."""

    workflow_id: str
    trigger_event_id: str
    trigger_name: str
    dry_run: bool
    context: Mapping[str, Any]


@dataclass(frozen=True)
class RunRecord:
    """A run as stored."""

    id: int
    workflow_id: str
    trigger_event_id: str
    trigger_name: str
    status: str
    dry_run: bool
    context: dict[str, Any]
    next_step: int
    attempts: int
    outcome: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class StepRecord:
    """One step's recorded outcome."""

    run_id: int
    position: int
    step_id: str
    action: str
    status: str
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    outputs: dict[str, Any] | None
    error: str | None
    attempts: int
    started_at: datetime
    finished_at: datetime | None


def live_switches(engine: Engine) -> dict[str, bool]:
    """workflow id -> whether an admin enabled real sends (absent: dry runs only)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(workflow_switches)).all()
    return {row.workflow_id: bool(row.live) for row in rows}


def set_live(engine: Engine, workflow_id: str, live: bool, actor: str, now: datetime) -> None:
    """Enable or disable real sends for a workflow."""
    with writing(engine) as connection:
        upsert_row(
            connection,
            workflow_switches,
            {"workflow_id": workflow_id},
            {"live": live, "changed_at": now, "changed_by": actor[:320]},
        )


def create_runs(engine: Engine, runs: Sequence[NewRun], now: datetime) -> int:
    """Store each run unless its (workflow, trigger event) already has one; how many are new."""
    if not runs:
        return 0
    rows = [
        {
            "workflow_id": run.workflow_id,
            "trigger_event_id": run.trigger_event_id,
            "trigger_name": run.trigger_name,
            "status": "pending",
            "dry_run": run.dry_run,
            "context": json.dumps(run.context),
            "next_step": 0,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for run in runs
    ]
    with writing(engine) as connection:
        statement = (
            dialect_insert(connection)(workflow_runs)
            .on_conflict_do_nothing(index_elements=["workflow_id", "trigger_event_id"])
            .returning(workflow_runs.c.id)
        )
        return len(connection.execute(statement, rows).all())


def claim_due_runs(
    engine: Engine, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[RunRecord]:
    """Take up to `limit` open runs that are due and not leased to a live claim, oldest
    first, leasing them to `owner` until `now + lease`."""
    columns = workflow_runs.c
    with writing(engine) as connection:
        rows = connection.execute(
            sa.select(workflow_runs)
            .where(
                columns.status.in_(OPEN_STATUSES),
                columns.next_attempt_at <= now,
                sa.or_(columns.lease_until.is_(None), columns.lease_until < now),
            )
            .order_by(columns.next_attempt_at, columns.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        connection.execute(
            workflow_runs.update()
            .where(columns.id.in_([row.id for row in rows]))
            .values(status="running", lease_until=now + lease, lease_owner=owner, updated_at=now)
        )
    return [_run(row) for row in rows]


def renew_lease(engine: Engine, run_id: int, owner: str, until: datetime) -> bool:
    """Extend this owner's lease on a run; False when the run is no longer ours to work on."""
    with writing(engine) as connection:
        changed = connection.execute(
            workflow_runs.update()
            .where(
                workflow_runs.c.id == run_id,
                workflow_runs.c.lease_owner == owner,
                workflow_runs.c.status == "running",
            )
            .values(lease_until=until)
        ).rowcount
    return changed == 1


def release_all_leases(engine: Engine) -> None:
    """Make every running run claimable now (one process on SQLite: the leases are stale)."""
    with writing(engine) as connection:
        connection.execute(
            workflow_runs.update()
            .where(workflow_runs.c.status == "running")
            .values(lease_until=None, lease_owner=None)
        )


def load_steps(engine: Engine, run_id: int) -> dict[int, StepRecord]:
    """The recorded steps of a run by position."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(workflow_steps)
            .where(workflow_steps.c.run_id == run_id)
            .order_by(workflow_steps.c.position)
        ).all()
    return {int(row.position): _step(row) for row in rows}


def take_limit(
    engine: Engine, workflow_id: str, key: str, run_id: int, now: datetime, hours: int
) -> bool:
    """Take the (workflow, key) slot for `hours` for this run; False when another run holds it.

    One statement (insert, or take over an expired slot), so two processes cannot both get it.
    """
    expired = now - timedelta(hours=hours)
    with writing(engine) as connection:
        insert = dialect_insert(connection)(workflow_limits).values(
            workflow_id=workflow_id, limit_key=key[:255], run_id=run_id, taken_at=now
        )
        statement = insert.on_conflict_do_update(
            index_elements=["workflow_id", "limit_key"],
            set_={"run_id": run_id, "taken_at": now},
            where=sa.or_(workflow_limits.c.taken_at < expired, workflow_limits.c.run_id == run_id),
        ).returning(workflow_limits.c.run_id)
        return connection.execute(statement).first() is not None


def mark_sending(
    engine: Engine,
    run_id: int,
    position: int,
    step_id: str,
    action: str,
    request: Mapping[str, Any],
    attempts: int,
    now: datetime,
) -> None:
    """Record that the request of a step is about to be sent (before it is)."""
    _write_step(
        engine,
        run_id,
        position,
        {
            "step_id": step_id,
            "action": action,
            "status": "sending",
            "request": json.dumps(request),
            "attempts": attempts,
            "started_at": now,
            "finished_at": None,
            "error": None,
        },
    )


def record_step(
    engine: Engine,
    run: RunRecord,
    position: int,
    values: Mapping[str, Any],
    run_values: Mapping[str, Any],
    events: Iterable[NewEvent] = (),
) -> None:
    """Record a step's outcome, move the run on (`run_values`) and store the events the step
    publishes, in one transaction."""
    row = {key: _json_column(key, value) for key, value in values.items()}
    if "error" in row and row["error"] is not None:
        row["error"] = str(row["error"])[:MAX_ERROR_TEXT_LENGTH]
    with writing(engine) as connection:
        _upsert_step(connection, run.id, position, row)
        _update_run(connection, run.id, run_values)
        published = list(events)
        if published:
            insert_batch(connection, published, run_values.get("updated_at") or run.updated_at)


def update_run(engine: Engine, run_id: int, values: Mapping[str, Any]) -> None:
    """Change a run's stored fields (status, outcome, next attempt...)."""
    with writing(engine) as connection:
        _update_run(connection, run_id, values)


def finish_run(
    engine: Engine, run_id: int, values: Mapping[str, Any], events: Iterable[NewEvent] = ()
) -> None:
    """Settle a run and store the events its ending publishes."""
    with writing(engine) as connection:
        _update_run(connection, run_id, values)
        published = list(events)
        if published:
            insert_batch(connection, published, values["updated_at"])


def list_runs(
    engine: Engine,
    *,
    workflow_id: str | None = None,
    statuses: Sequence[str] = (),
    since: datetime | None = None,
    limit: int = 100,
) -> list[RunRecord]:
    """Runs newest first, filtered by workflow, status and creation time."""
    query = sa.select(workflow_runs).order_by(workflow_runs.c.id.desc()).limit(limit)
    if workflow_id is not None:
        query = query.where(workflow_runs.c.workflow_id == workflow_id)
    if statuses:
        query = query.where(workflow_runs.c.status.in_(list(statuses)))
    if since is not None:
        query = query.where(workflow_runs.c.created_at >= since)
    with engine.connect() as connection:
        return [_run(row) for row in connection.execute(query).all()]


def get_run(engine: Engine, run_id: int) -> RunRecord | None:
    """One run by id."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(workflow_runs).where(workflow_runs.c.id == run_id)
        ).first()
    return None if row is None else _run(row)


def retry_run(engine: Engine, run_id: int, now: datetime) -> bool:
    """Queue a failed, dead-lettered or unknown run again from the step it stopped at.

    The stopped step's record is cleared, so an "outcome unknown" step is sent again: the
    admin asking for the retry has checked that it was not delivered.
    """
    with writing(engine) as connection:
        row = connection.execute(
            sa.select(workflow_runs.c.next_step)
            .where(workflow_runs.c.id == run_id, workflow_runs.c.status.in_(RETRYABLE_STATUSES))
            .with_for_update()
        ).first()
        if row is None:
            return False
        connection.execute(
            workflow_steps.delete().where(
                workflow_steps.c.run_id == run_id, workflow_steps.c.position == row.next_step
            )
        )
        _update_run(
            connection,
            run_id,
            {
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "lease_until": None,
                "lease_owner": None,
                "outcome": None,
                "finished_at": None,
                "updated_at": now,
            },
        )
    return True


def cancel_run(engine: Engine, run_id: int, now: datetime) -> bool:
    """Stop a failed, dead-lettered, unknown or waiting run for good."""
    with writing(engine) as connection:
        changed = connection.execute(
            workflow_runs.update()
            .where(
                workflow_runs.c.id == run_id,
                sa.or_(
                    workflow_runs.c.status.in_(RETRYABLE_STATUSES),
                    sa.and_(workflow_runs.c.status == "pending", workflow_runs.c.attempts > 0),
                ),
            )
            .values(
                status="cancelled", outcome="cancelled by an admin", finished_at=now, updated_at=now
            )
        ).rowcount
    return changed == 1


def _write_step(engine: Engine, run_id: int, position: int, values: Mapping[str, Any]) -> None:
    with writing(engine) as connection:
        _upsert_step(connection, run_id, position, values)


def _upsert_step(
    connection: Connection, run_id: int, position: int, values: Mapping[str, Any]
) -> None:
    upsert_row(connection, workflow_steps, {"run_id": run_id, "position": position}, values)


def _update_run(connection: Connection, run_id: int, values: Mapping[str, Any]) -> None:
    row = dict(values)
    if "context" in row:
        row["context"] = json.dumps(row["context"])
    if row.get("outcome") is not None:
        row["outcome"] = str(row["outcome"])[:MAX_ERROR_TEXT_LENGTH]
    connection.execute(workflow_runs.update().where(workflow_runs.c.id == run_id).values(**row))


def _json_column(key: str, value: Any) -> Any:
    if key in ("request", "response", "outputs") and value is not None:
        return json.dumps(value)
    return value


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _run(row: sa.Row[Any]) -> RunRecord:
    return RunRecord(
        id=int(row.id),
        workflow_id=row.workflow_id,
        trigger_event_id=row.trigger_event_id,
        trigger_name=row.trigger_name,
        status=row.status,
        dry_run=bool(row.dry_run),
        context=json.loads(row.context),
        next_step=int(row.next_step),
        attempts=int(row.attempts),
        outcome=row.outcome,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


def _step(row: sa.Row[Any]) -> StepRecord:
    return StepRecord(
        run_id=int(row.run_id),
        position=int(row.position),
        step_id=row.step_id,
        action=row.action,
        status=row.status,
        request=_loads(row.request),
        response=_loads(row.response),
        outputs=_loads(row.outputs),
        error=row.error,
        attempts=int(row.attempts),
        started_at=row.started_at,
        finished_at=row.finished_at,
    )
