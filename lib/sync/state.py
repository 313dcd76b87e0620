"""Per account and resource: how far the mirror has synced, and where an unfinished run resumes
(for a first sync read in `created` windows, where each window resumes)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lib.store.tables import (
    MAX_ERROR_TEXT_LENGTH,
    MIRROR_RESOURCES,
    mirror_sync_state,
    mirror_sync_windows,
)
from lib.store.upsert import upsert_row
from lib.sync.store import Resource
from lib.sync.windows import Window


@dataclass(frozen=True)
class ResourceState:
    """Sync progress of one resource in one account's mirror.

    A run lists objects newest first from `run_floor` (`created >= run_floor`; None = the whole
    history); while `run_open`, the next page starts after `run_cursor`.
    """

    resource: Resource
    complete: bool = False
    """The whole history has been fetched at least once."""
    run_open: bool = False
    run_floor: int | None = None
    run_cursor: str | None = None
    newest_created: int | None = None
    last_synced_at: datetime | None = None
    last_error: str | None = None

    def next_run(self) -> tuple[int | None, str | None]:
        """(floor, cursor) for the next request: resume an open run, else backfill the whole
        history, else only what is at least as new as the newest object stored."""
        if self.run_open:
            return self.run_floor, self.run_cursor
        if not self.complete:
            return None, None
        return self.newest_created, None


def read_states(connection: Connection, account_key: str) -> dict[Resource, ResourceState]:
    """The state of every resource of the account (a never-synced resource gets a blank one)."""
    rows = connection.execute(
        sa.select(mirror_sync_state).where(mirror_sync_state.c.account_key == account_key)
    ).all()
    found = {
        row.resource: ResourceState(
            resource=row.resource,
            complete=row.complete,
            run_open=row.run_open,
            run_floor=row.run_floor,
            run_cursor=row.run_cursor,
            newest_created=row.newest_created,
            last_synced_at=row.last_synced_at,
            last_error=row.last_error,
        )
        for row in rows
    }
    return {resource: found.get(resource, ResourceState(resource)) for resource in MIRROR_RESOURCES}


def open_run(
    connection: Connection, account_key: str, resource: Resource, floor: int | None
) -> None:
    """Mark a run from `floor` as started (keeping the cursor of the run it resumes)."""
    _save(connection, account_key, resource, {"run_open": True, "run_floor": floor})


def record_page(
    connection: Connection,
    account_key: str,
    resource: Resource,
    *,
    cursor: str | None,
    newest_created: int | None,
    finished: bool,
) -> None:
    """Record a stored page, in the page's own transaction: the resume cursor, the newest
    `created` seen, and on the last page the end of the run."""
    values: dict[str, Any] = {"run_cursor": cursor, "last_error": None}
    if newest_created is not None:
        stored = connection.execute(
            sa.select(mirror_sync_state.c.newest_created).where(
                mirror_sync_state.c.account_key == account_key,
                mirror_sync_state.c.resource == resource,
            )
        ).scalar_one_or_none()
        values["newest_created"] = max(newest_created, stored or newest_created)
    if finished:
        values |= {
            "run_open": False,
            "run_floor": None,
            "run_cursor": None,
            "complete": True,
            "last_synced_at": datetime.now(UTC),
        }
    _save(connection, account_key, resource, values)


def restart_run(connection: Connection, account_key: str, resource: Resource) -> None:
    """Drop the cursor of the open run (its object vanished); the run restarts at its floor."""
    _save(connection, account_key, resource, {"run_cursor": None})


def record_error(
    connection: Connection, account_key: str, resource: Resource, message: str
) -> None:
    """Remember why the last attempt stopped; the run stays open to be resumed."""
    _save(connection, account_key, resource, {"last_error": message[:MAX_ERROR_TEXT_LENGTH]})


def read_windows(connection: Connection, account_key: str, resource: Resource) -> list[Window]:
    """The windows of the resource's unfinished first sync, finished ones included (none
    before its first page is stored, and none once it is complete)."""
    rows = connection.execute(
        sa.select(mirror_sync_windows)
        .where(
            mirror_sync_windows.c.account_key == account_key,
            mirror_sync_windows.c.resource == resource,
        )
        .order_by(mirror_sync_windows.c.created_before)
    ).all()
    return [
        Window(
            created_from=row.created_from,
            created_before=row.created_before,
            cursor=row.cursor,
            cursor_created=row.cursor_created,
            objects=row.objects,
            finished=row.finished,
        )
        for row in rows
    ]


def save_windows(
    connection: Connection, account_key: str, resource: Resource, windows: Iterable[Window]
) -> None:
    """Store `windows` (each replaces the stored one with its upper bound), in the caller's
    transaction: the page that moved a window's cursor or split it is stored in the same."""
    now = datetime.now(UTC)
    for window in windows:
        upsert_row(
            connection,
            mirror_sync_windows,
            {
                "account_key": account_key,
                "resource": resource,
                "created_before": window.created_before,
            },
            {
                "created_from": window.created_from,
                "cursor": window.cursor,
                "cursor_created": window.cursor_created,
                "objects": window.objects,
                "finished": window.finished,
                "updated_at": now,
            },
        )


def drop_windows(connection: Connection, account_key: str, resource: Resource) -> None:
    """Forget the windows of a first sync that has read them all."""
    connection.execute(
        mirror_sync_windows.delete().where(
            mirror_sync_windows.c.account_key == account_key,
            mirror_sync_windows.c.resource == resource,
        )
    )


def _save(
    connection: Connection, account_key: str, resource: Resource, values: dict[str, Any]
) -> None:
    changes = {**values, "updated_at": datetime.now(UTC)}
    upsert_row(
        connection, mirror_sync_state, {"account_key": account_key, "resource": resource}, changes
    )
