"""The processing queue: stored events wait as pending until the worker settles them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.store.tables import MAX_ERROR_TEXT_LENGTH, webhook_events
from lib.webhooks.events_store.feed import ServerEvent, server_event, server_event_query
from lib.webhooks.events_store.writing import writing


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
    with writing(engine) as connection:
        rows = connection.execute(
            server_event_query()
            .where(webhook_events.c.status == "pending")
            .order_by(webhook_events.c.id)
            .limit(limit)
        ).all()
        if not rows:
            return ClaimedEvents(size=0, to_react=[])
        events = [server_event(row) for row in rows]
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
            "error_text": None if error is None else error[:MAX_ERROR_TEXT_LENGTH],
        }
        for event_id, error in outcomes.items()
    ]
    with writing(engine) as connection:
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
