"""Storing Stripe events once: the row for a parsed event and the insert that skips stored ids."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from sqlalchemy.engine import Connection, Engine

from lib.store.tables import webhook_events
from lib.store.upsert import dialect_insert
from lib.webhooks.events_store.writing import PROVIDER, writing
from lib.webhooks.mapping import to_mesh_event

EventSource = Literal["webhook", "poll", "workflow"]
"""How an event arrived; `workflow` events are published by workflow steps."""


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


def store_event(engine: Engine, event: NewEvent) -> bool:
    """Store `event` unless its id is already stored; True when this call stored it.

    Safe under concurrent deliveries of the same event: exactly one row results.
    """
    return store_events(engine, [event])[0]


def store_events(engine: Engine, events: Sequence[NewEvent]) -> list[bool]:
    """Store `events` in one transaction, skipping ids already stored; for each event, whether
    this call stored it (of two with the same id, the first). Deliveries wait on it: it goes
    before background writers."""
    with writing(engine, urgent=True) as connection:
        return insert_batch(connection, events, datetime.now(UTC))


def insert_batch(connection: Connection, events: Sequence[NewEvent], now: datetime) -> list[bool]:
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
    statement = _insert_new_statement(dialect_insert(connection))
    inserted = set(connection.execute(statement, rows).scalars())
    stored = []
    for event in events:
        stored.append(event.event_id in inserted)
        inserted.discard(event.event_id)
    return stored


@cache
def _insert_new_statement(insert: Any) -> Any:
    # Built once per database kind: composing it per call costs more than SQLite's commit.
    return (
        insert(webhook_events)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(webhook_events.c.event_id)
    )
