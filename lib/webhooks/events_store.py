"""Stored Stripe events: insert once, the processing queue, rejections, poll cursors, the feed.

Every stored event is a server event on the mesh: browser sessions read them through
`list_server_events` / `latest_server_event_id` and publish them into their own EventBus.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from lib.events import EventBus, LogEntry, pattern_matches, validate_pattern
from lib.store.tables import webhook_events, webhook_poll_cursors, webhook_rejections
from lib.webhooks.mapping import mesh_name_for, to_mesh_event

EventSource = Literal["webhook", "poll"]
EventStatus = Literal["pending", "processed", "failed"]
PROVIDER = "stripe"
MAX_ERROR_LENGTH = 1000


@dataclass(frozen=True)
class NewEvent:
    """A Stripe event about to be stored, with its mesh name and payload worked out."""

    event_id: str
    event_type: str
    raw: str
    source: EventSource
    mesh_name: str
    mesh_payload: dict[str, Any]
    event_created: int | None
    account_ref: str | None
    livemode: bool | None


def new_event(event: Mapping[str, Any], raw: str, source: EventSource) -> NewEvent:
    """The row for a parsed Stripe event (`raw` is its JSON text as received)."""
    mesh = to_mesh_event(event)
    created = event.get("created")
    account = event.get("account")
    livemode = event.get("livemode")
    return NewEvent(
        event_id=str(event["id"]),
        event_type=str(event["type"]),
        raw=raw,
        source=source,
        mesh_name=mesh.name,
        mesh_payload=mesh.payload,
        event_created=created if isinstance(created, int) else None,
        account_ref=account if isinstance(account, str) else None,
        livemode=livemode if isinstance(livemode, bool) else None,
    )


@dataclass(frozen=True)
class ServerEvent:
    """A stored Stripe event as the mesh and the Webhooks page see it."""

    id: int
    stripe_event_id: str
    name: str
    payload: dict[str, Any]
    source: EventSource
    received_at: datetime
    event_type: str
    status: EventStatus
    error: str | None
    account_ref: str | None
    attempts: int
    created_at: datetime | None
    """When the event happened at Stripe (its `created`), if known."""


@dataclass(frozen=True)
class PollCursor:
    """Where the Events API poller of one account stopped, and its last failure."""

    account_key: str
    last_event_created: int | None
    last_event_id: str | None
    last_polled_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def store_event(engine: Engine, event: NewEvent) -> bool:
    """Store `event` unless its id is already stored; True when this call stored it.

    Safe under concurrent deliveries of the same event: exactly one row results.
    """
    return store_events(engine, [event])[0]


def store_events(engine: Engine, events: Sequence[NewEvent]) -> list[bool]:
    """Store `events` in one transaction, skipping ids already stored; for each event, whether
    this call stored it (of two with the same id, the first)."""
    with _writing(engine) as connection:
        return _insert_batch(connection, events, datetime.now(UTC))


def store_polled_events(
    engine: Engine, account_key: str, events: Sequence[NewEvent], *, advance_cursor: bool
) -> int:
    """Store `events` in order (skipping stored ids) and, when `advance_cursor`, move the
    account's cursor to the last of them, all in one transaction; returns how many were new."""
    now = datetime.now(UTC)
    with _writing(engine) as connection:
        stored = sum(_insert_batch(connection, events, now)) if events else 0
        if advance_cursor and events:
            last = events[-1]
            _upsert_cursor(
                connection,
                account_key,
                last_event_created=last.event_created,
                last_event_id=last.event_id,
                last_polled_at=now,
                last_error=None,
                last_error_at=None,
            )
    return stored


def record_poll_success(engine: Engine, account_key: str) -> None:
    """Note a poll that found nothing new (the cursor stays) and clear the last error."""
    with _writing(engine) as connection:
        _upsert_cursor(
            connection,
            account_key,
            last_polled_at=datetime.now(UTC),
            last_error=None,
            last_error_at=None,
        )


def record_poll_error(engine: Engine, account_key: str, message: str) -> None:
    """Remember why the last poll of `account_key` failed; the cursor does not move."""
    now = datetime.now(UTC)
    with _writing(engine) as connection:
        _upsert_cursor(
            connection,
            account_key,
            last_polled_at=now,
            last_error=message[:MAX_ERROR_LENGTH],
            last_error_at=now,
        )


def load_cursor(engine: Engine, account_key: str) -> PollCursor | None:
    """The poller's cursor for `account_key`, or None before its first poll."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(webhook_poll_cursors).where(webhook_poll_cursors.c.account_key == account_key)
        ).first()
    return None if row is None else PollCursor(**row._mapping)


def record_rejection(engine: Engine, reason: str) -> None:
    """Count one refused delivery under `reason` (no body, no secret)."""
    with _writing(engine) as connection:
        connection.execute(
            webhook_rejections.insert().values(
                provider=PROVIDER, reason=reason, received_at=datetime.now(UTC)
            )
        )


def rejection_counts(engine: Engine) -> dict[str, int]:
    """How many deliveries were refused, per reason, most frequent first."""
    count = sa.func.count().label("count")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(webhook_rejections.c.reason, count)
            .where(webhook_rejections.c.provider == PROVIDER)
            .group_by(webhook_rejections.c.reason)
            .order_by(count.desc(), webhook_rejections.c.reason)
        ).all()
    return {reason: int(total) for reason, total in rows}


@dataclass(frozen=True)
class ClaimedEvents:
    """A batch taken from the queue: how many, and those whose reactions still have to run."""

    size: int
    to_react: list[ServerEvent]


def claim_pending(
    engine: Engine, limit: int, needs_reaction: Callable[[ServerEvent], bool]
) -> ClaimedEvents:
    """Take up to `limit` pending events, oldest first, in one transaction: count an attempt
    on each and mark those that need no reaction processed. The others stay pending (their
    `attempts` as read, before this one) until `record_outcomes`."""
    with _writing(engine) as connection:
        rows = connection.execute(
            _server_event_query()
            .where(webhook_events.c.status == "pending")
            .order_by(webhook_events.c.id)
            .limit(limit)
        ).all()
        if not rows:
            return ClaimedEvents(size=0, to_react=[])
        events = [_server_event(row) for row in rows]
        connection.execute(
            webhook_events.update()
            .where(webhook_events.c.id.in_([event.id for event in events]))
            .values(attempts=webhook_events.c.attempts + 1)
        )
        to_react = [event for event in events if needs_reaction(event)]
        reacting = {event.id for event in to_react}
        now = datetime.now(UTC)
        done = [
            {"row_id": event.id, "new_status": "processed", "finished_at": now, "error_text": None}
            for event in events
            if event.id not in reacting
        ]
        if done:
            connection.execute(_RECORD_OUTCOME, done)
    return ClaimedEvents(size=len(events), to_react=to_react)


def record_outcomes(engine: Engine, outcomes: Mapping[int, str | None]) -> None:
    """Mark each event id processed (outcome None) or failed (outcome = the error text)."""
    if not outcomes:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "row_id": event_id,
            "new_status": "processed" if error is None else "failed",
            "finished_at": now,
            "error_text": None if error is None else error[:MAX_ERROR_LENGTH],
        }
        for event_id, error in outcomes.items()
    ]
    with _writing(engine) as connection:
        connection.execute(_RECORD_OUTCOME, rows)


# One statement run for many rows (executemany), instead of one composed per event.
_RECORD_OUTCOME = (
    webhook_events.update()
    .where(
        webhook_events.c.id == sa.bindparam("row_id"),
        webhook_events.c.status == "pending",
    )
    .values(
        status=sa.bindparam("new_status"),
        processed_at=sa.bindparam("finished_at", type_=webhook_events.c.processed_at.type),
        processing_error=sa.bindparam("error_text"),
    )
)


def list_server_events(
    engine: Engine, *, limit: int = 200, after_id: int | None = None
) -> list[ServerEvent]:
    """Stored Stripe events, newest first; only those with an id above `after_id` when given."""
    query = _server_event_query().order_by(webhook_events.c.id.desc()).limit(limit)
    if after_id is not None:
        query = query.where(webhook_events.c.id > after_id)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [_server_event(row) for row in rows]


def latest_server_event_id(engine: Engine, pattern: str | None = None) -> int | None:
    """The id of the newest stored event whose mesh name matches `pattern` (any when None).

    A widget compares it with the id it last saw to refresh when a matching event arrived.
    Raises InvalidPatternError for a malformed pattern.
    """
    if pattern is not None:
        validate_pattern(pattern)
    newest = sa.func.max(webhook_events.c.id).label("newest")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(webhook_events.c.mesh_name, webhook_events.c.event_type, newest)
            .where(webhook_events.c.provider == PROVIDER)
            .group_by(webhook_events.c.mesh_name, webhook_events.c.event_type)
        ).all()
    matching = [
        int(row.newest)
        for row in rows
        if pattern is None
        or pattern_matches(pattern, row.mesh_name or mesh_name_for(row.event_type))
    ]
    return max(matching, default=None)


def publish_server_event(bus: EventBus, event: ServerEvent) -> LogEntry:
    """Publish a stored event into a session's bus as a server event (source says how it came)."""
    return bus.publish(event.name, event.payload, f"stripe-{event.source}", origin="server")


# SQLite admits one writer at a time and makes the others poll with growing sleeps; this
# process's writers of these tables (receiver, worker, poller) queue on a lock instead.
_WRITE_LOCK = threading.Lock()


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    with _WRITE_LOCK, engine.begin() as connection:
        yield connection


@cache
def _insert_new_statement(dialect_name: str) -> Any:
    # Built once: composing the statement per call costs more than SQLite's commit.
    dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return (
        dialect_insert(webhook_events)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(webhook_events.c.event_id)
    )


def _insert_batch(connection: Connection, events: Sequence[NewEvent], now: datetime) -> list[bool]:
    """Insert `events` in one statement, skipping stored ids; which of them were stored.

    Of two events with the same id in `events`, the first is the one stored.
    """
    rows = [
        {
            "provider": PROVIDER,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "payload": event.raw,
            "received_at": now,
            "source": event.source,
            "mesh_name": event.mesh_name,
            "mesh_payload": json.dumps(event.mesh_payload),
            "event_created": event.event_created,
            "account_ref": event.account_ref,
            "livemode": event.livemode,
            "status": "pending",
            "attempts": 0,
        }
        for event in events
    ]
    statement = _insert_new_statement(connection.dialect.name)
    inserted = set(connection.execute(statement, rows).scalars())
    stored = []
    for event in events:
        stored.append(event.event_id in inserted)
        inserted.discard(event.event_id)
    return stored


def _upsert_cursor(connection: Connection, account_key: str, **values: Any) -> None:
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(webhook_poll_cursors).values(account_key=account_key, **values)
    connection.execute(statement.on_conflict_do_update(index_elements=["account_key"], set_=values))


def _server_event_query() -> sa.Select[Any]:
    columns = webhook_events.c
    return sa.select(
        columns.id,
        columns.event_id,
        columns.event_type,
        columns.mesh_name,
        columns.mesh_payload,
        columns.source,
        columns.received_at,
        columns.status,
        columns.processing_error,
        columns.account_ref,
        columns.attempts,
        columns.event_created,
    ).where(columns.provider == PROVIDER)


def _server_event(row: sa.Row[Any]) -> ServerEvent:
    # Rows stored before schema version 3 have no mesh columns: derive the name from the type.
    return ServerEvent(
        id=int(row.id),
        stripe_event_id=row.event_id,
        name=row.mesh_name or mesh_name_for(row.event_type),
        payload=json.loads(row.mesh_payload) if row.mesh_payload else {},
        source=row.source,
        received_at=row.received_at,
        event_type=row.event_type,
        status=row.status,
        error=row.processing_error,
        account_ref=row.account_ref,
        attempts=int(row.attempts),
        created_at=None
        if row.event_created is None
        else datetime.fromtimestamp(row.event_created, UTC),
    )
