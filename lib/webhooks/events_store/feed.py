"""The server-event feed: stored Stripe events as the mesh and the Webhooks page read them.

Browser sessions read them through `list_server_events` / `latest_server_event_id` and
publish them into their own EventBus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.events import EventBus, LogEntry, pattern_matches, validate_pattern
from lib.store.tables import webhook_events
from lib.webhooks.events_store.inserting import EventSource
from lib.webhooks.events_store.writing import PROVIDER
from lib.webhooks.mapping import mesh_name_for

EventStatus = Literal["pending", "processed", "failed"]


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


def list_server_events(
    engine: Engine, *, limit: int = 200, after_id: int | None = None
) -> list[ServerEvent]:
    """Stored Stripe events, newest first; only those with an id above `after_id` when given."""
    query = server_event_query().order_by(webhook_events.c.id.desc()).limit(limit)
    if after_id is not None:
        query = query.where(webhook_events.c.id > after_id)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [server_event(row) for row in rows]


def server_events_matching(
    engine: Engine, patterns: Sequence[str], *, limit: int = 50
) -> list[ServerEvent]:
    """At most `limit` stored events whose mesh name matches one of `patterns`, newest first.

    Raises InvalidPatternError for a malformed pattern.
    """
    for pattern in patterns:
        validate_pattern(pattern)
    columns = webhook_events.c
    with engine.connect() as connection:
        kinds = connection.execute(
            sa.select(columns.mesh_name, columns.event_type)
            .where(columns.provider == PROVIDER)
            .distinct()
        ).all()
        wanted = [
            sa.and_(columns.mesh_name.is_(kind.mesh_name), columns.event_type == kind.event_type)
            if kind.mesh_name is None
            else columns.mesh_name == kind.mesh_name
            for kind in kinds
            if any(
                pattern_matches(pattern, kind.mesh_name or mesh_name_for(kind.event_type))
                for pattern in patterns
            )
        ]
        if not wanted:
            return []
        query = server_event_query().where(sa.or_(*wanted)).order_by(columns.id.desc())
        rows = connection.execute(query.limit(limit)).all()
    return [server_event(row) for row in rows]


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


def server_event_query() -> sa.Select[Any]:
    """The columns `server_event` reads, for this provider's stored events."""
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


def server_event(row: sa.Row[Any]) -> ServerEvent:
    """The ServerEvent for a row selected by `server_event_query`."""
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
