"""Refused webhook deliveries, counted per reason (no body, no secret)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.store.tables import webhook_rejections
from lib.webhooks.events_store.writing import PROVIDER, writing


def record_rejection(engine: Engine, reason: str) -> None:
    """Count one refused delivery under `reason` (no body, no secret)."""
    with writing(engine) as connection:
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
