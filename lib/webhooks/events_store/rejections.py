"""Refused webhook deliveries, counted per reason per hour (no body, no secret, no address).

One row per reason and hour, whatever the number of refusals, so a flood of bad requests
cannot grow the table; rows older than the retention are purged by the housekeeping loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.store.tables import webhook_rejection_counts
from lib.store.upsert import dialect_insert
from lib.webhooks.events_store.writing import PROVIDER, writing


def hour_of(moment: datetime) -> datetime:
    """The UTC hour that `moment` falls in (the bucket it is counted under)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def record_rejections(
    engine: Engine, counts: Mapping[str, int], at: datetime | None = None
) -> None:
    """Add `counts` (refusals per reason) to the hour of `at` (default now), in one statement."""
    rows = [
        {
            "provider": PROVIDER,
            "reason": reason,
            "hour": hour_of(at or datetime.now(UTC)),
            "deliveries": count,
        }
        for reason, count in counts.items()
        if count > 0
    ]
    if not rows:
        return
    table = webhook_rejection_counts
    with writing(engine) as connection:
        statement = dialect_insert(connection)(table).values(rows)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["provider", "reason", "hour"],
                set_={"deliveries": table.c.deliveries + statement.excluded.deliveries},
            )
        )


def record_rejection(engine: Engine, reason: str) -> None:
    """Count one refused delivery under `reason` now."""
    record_rejections(engine, {reason: 1})


def rejection_counts(engine: Engine) -> dict[str, int]:
    """How many deliveries were refused in the hours kept, per reason, most frequent first."""
    table = webhook_rejection_counts
    total = sa.func.sum(table.c.deliveries).label("total")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(table.c.reason, total)
            .where(table.c.provider == PROVIDER)
            .group_by(table.c.reason)
            .order_by(total.desc(), table.c.reason)
        ).all()
    return {reason: int(count) for reason, count in rows}


def purge_rejection_counts(engine: Engine, before: datetime) -> int:
    """Delete the counts of hours that ended before `before`; returns how many rows went."""
    table = webhook_rejection_counts
    with writing(engine) as connection:
        return connection.execute(table.delete().where(table.c.hour < hour_of(before))).rowcount
