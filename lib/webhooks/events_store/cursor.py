"""The Events API poller's cursor per account: where it stopped, and why its last poll failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lib.store.tables import MAX_ERROR_TEXT_LENGTH, webhook_poll_cursors
from lib.store.upsert import upsert_row
from lib.webhooks.events_store.inserting import NewEvent, insert_batch
from lib.webhooks.events_store.writing import writing


@dataclass(frozen=True)
class PollCursor:
    """Where the Events API poller of one account stopped, and its last failure."""

    account_key: str
    last_event_created: int | None
    last_event_id: str | None
    last_polled_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def store_polled_events(
    engine: Engine, account_key: str, events: Sequence[NewEvent], *, advance_cursor: bool
) -> int:
    """Store `events` in order (skipping stored ids) and, when `advance_cursor`, move the
    account's cursor to the last of them, all in one transaction; returns how many were new."""
    now = datetime.now(UTC)
    with writing(engine) as connection:
        stored = sum(insert_batch(connection, events, now)) if events else 0
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
    with writing(engine) as connection:
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
    with writing(engine) as connection:
        _upsert_cursor(
            connection,
            account_key,
            last_polled_at=now,
            last_error=message[:MAX_ERROR_TEXT_LENGTH],
            last_error_at=now,
        )


def load_cursor(engine: Engine, account_key: str) -> PollCursor | None:
    """The poller's cursor for `account_key`, or None before its first poll."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(webhook_poll_cursors).where(webhook_poll_cursors.c.account_key == account_key)
        ).first()
    return None if row is None else PollCursor(**row._mapping)


def _upsert_cursor(connection: Connection, account_key: str, **values: Any) -> None:
    upsert_row(connection, webhook_poll_cursors, {"account_key": account_key}, values)
