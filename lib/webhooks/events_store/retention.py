"""Retention of stored events: settled events older than the retention period are deleted.

Pending events are never deleted, whatever their age: the worker still has to process them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.store.tables import webhook_events
from lib.webhooks.events_store.writing import PROVIDER, writing

PURGE_BATCH_ROWS = 2000


def purge_settled_events(
    engine: Engine, received_before: datetime, *, batch_rows: int = PURGE_BATCH_ROWS
) -> int:
    """Delete events received before `received_before` that are processed or failed; returns
    how many were deleted.

    Deletes `batch_rows` per transaction, so deliveries waiting for the write lock get it
    between batches even when years of events go at once.
    """
    deleted = 0
    while True:
        with writing(engine) as connection:
            batch = (
                sa.select(webhook_events.c.id)
                .where(
                    webhook_events.c.provider == PROVIDER,
                    webhook_events.c.received_at < received_before,
                    webhook_events.c.status != "pending",
                )
                .limit(batch_rows)
                .scalar_subquery()
            )
            removed = connection.execute(
                webhook_events.delete().where(webhook_events.c.id.in_(batch))
            ).rowcount
        deleted += removed
        if removed < batch_rows:
            return deleted
