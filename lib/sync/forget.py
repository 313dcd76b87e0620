"""Deleting local copies of Stripe accounts: mirror rows, cursors and the stored events about them.

A copy is everything stored under its account keys. Stored events carry an account only when
they are Connect deliveries (`account`); an event without one belongs to a copy when it is
about an object (its id, customer or charge) that only the copies being deleted hold.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lib.store.tables import (
    mirror_charge_days,
    mirror_charges,
    mirror_customers,
    mirror_event_cursors,
    mirror_objects,
    mirror_refunds,
    mirror_subscriptions,
    mirror_sync_state,
    mirror_sync_windows,
    webhook_events,
    webhook_poll_cursors,
)
from lib.sync.records import object_id

SCAN_BATCH = 500
_PROVIDER = "stripe"
# Tables without personal data that are keyed by account too: cursors, sync progress and the
# per-day totals (emptied by mirror_charges' triggers already; deleted after the charges, since
# a charge deleted later would leave its negative contribution).
_BOOKKEEPING_TABLES = (
    mirror_sync_state,
    mirror_sync_windows,
    mirror_event_cursors,
    webhook_poll_cursors,
    mirror_charge_days,
)
_COUNTED_TABLES = {
    "customers": mirror_customers,
    "charges": mirror_charges,
    "refunds": mirror_refunds,
    "subscriptions": mirror_subscriptions,
}
ACCOUNT_KEYED_TABLES: tuple[sa.Table, ...] = (
    *_COUNTED_TABLES.values(),
    mirror_objects,
    *_BOOKKEEPING_TABLES,
)


@dataclass(frozen=True)
class LocalCopy:
    """How many rows a local copy holds (or held, once deleted)."""

    customers: int = 0
    charges: int = 0
    refunds: int = 0
    subscriptions: int = 0
    events: int = 0

    @property
    def empty(self) -> bool:
        return not any(
            (self.customers, self.charges, self.refunds, self.subscriptions, self.events)
        )

    def describe(self) -> str:
        """The counts in words, for example "3 customers, 12 charges and 1 stored event"."""
        parts = [
            _count(self.customers, "customer"),
            _count(self.charges, "charge"),
            _count(self.refunds, "refund"),
            _count(self.subscriptions, "subscription"),
            _count(self.events, "stored event"),
        ]
        shown = [part for part in parts if part]
        if not shown:
            return "nothing"
        return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def stored_account_keys(connection: Connection, prefix: str) -> set[str]:
    """Every account key starting with `prefix` that any account-keyed table holds."""
    found: set[str] = set()
    for table in ACCOUNT_KEYED_TABLES:
        column = table.c.account_key
        rows = connection.execute(
            sa.select(column).where(column.startswith(prefix, autoescape=True)).distinct()
        )
        found.update(rows.scalars())
    return found


def count_local_copy(connection: Connection, account_keys: Collection[str]) -> LocalCopy:
    """The mirrored rows under `account_keys` (stored events are not counted: finding them
    reads every unattributed event)."""
    counts = {
        name: connection.execute(
            sa.select(sa.func.count()).where(table.c.account_key.in_(list(account_keys)))
        ).scalar_one()
        for name, table in _COUNTED_TABLES.items()
    }
    return LocalCopy(**counts)


def unattributed_events_about(engine: Engine, account_keys: Collection[str]) -> list[int]:
    """Row ids of stored events without an account that concern an object only the copies
    under `account_keys` hold; read in short batches, so webhook deliveries are not held up."""
    exclusive = _objects_only_in(engine, list(account_keys))
    if not exclusive:
        return []
    found: list[int] = []
    after = 0
    while True:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(webhook_events.c.id, webhook_events.c.payload)
                .where(
                    webhook_events.c.provider == _PROVIDER,
                    webhook_events.c.account_ref.is_(None),
                    webhook_events.c.id > after,
                )
                .order_by(webhook_events.c.id)
                .limit(SCAN_BATCH)
            ).all()
        if not rows:
            return found
        found.extend(row.id for row in rows if not _references(row.payload).isdisjoint(exclusive))
        after = rows[-1].id


def delete_local_copy(
    connection: Connection,
    account_keys: Collection[str],
    *,
    event_ids: Iterable[int] = (),
    account_ref: str | None = None,
) -> LocalCopy:
    """Delete every row under `account_keys`, the stored events `event_ids`, and with
    `account_ref` every stored event of that Stripe account; returns what was deleted."""
    keys = list(account_keys)
    counts = {
        name: connection.execute(table.delete().where(table.c.account_key.in_(keys))).rowcount
        for name, table in _COUNTED_TABLES.items()
    }
    for table in (mirror_objects, *_BOOKKEEPING_TABLES):
        connection.execute(table.delete().where(table.c.account_key.in_(keys)))
    events = 0
    ids = list(event_ids)
    for start in range(0, len(ids), SCAN_BATCH):
        chunk = ids[start : start + SCAN_BATCH]
        events += connection.execute(
            webhook_events.delete().where(webhook_events.c.id.in_(chunk))
        ).rowcount
    if account_ref is not None:
        events += connection.execute(
            webhook_events.delete().where(
                webhook_events.c.provider == _PROVIDER, webhook_events.c.account_ref == account_ref
            )
        ).rowcount
    return LocalCopy(**counts, events=events)


def _objects_only_in(engine: Engine, keys: list[str]) -> set[str]:
    """Ids of objects mirrored under `keys` and under no other key."""
    ours = sa.select(mirror_objects.c.id).where(mirror_objects.c.account_key.in_(keys))
    with engine.connect() as connection:
        mine = set(connection.execute(ours).scalars())
        shared = set(
            connection.execute(
                sa.select(mirror_objects.c.id).where(
                    mirror_objects.c.account_key.not_in(keys), mirror_objects.c.id.in_(ours)
                )
            ).scalars()
        )
    return mine - shared


def _references(payload: str) -> set[str]:
    """The ids a stored event is about: its object, and that object's customer and charge."""
    try:
        event = json.loads(payload)
    except ValueError:
        return set()
    data = event.get("data") if isinstance(event, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return set()
    ids = (object_id(obj.get("id")), object_id(obj.get("customer")), object_id(obj.get("charge")))
    return {found for found in ids if found}


def _count(number: int, noun: str) -> str:
    if not number:
        return ""
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"
