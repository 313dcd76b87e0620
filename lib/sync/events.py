"""Keeping mirrored objects current from stored Stripe events (webhooks or the Events poller).

Events are read from `webhook_events` past the account's cursor and applied in event order
(`created`, then arrival). An event changes only objects already in this account's mirror (a
new refund joins when its charge is there), and only when it is at least as new as the stored
state: other new objects come from the next incremental sync, which also tells which account
they belong to.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from lib.store.tables import mirror_charges, mirror_event_cursors, webhook_events
from lib.store.upsert import upsert_row
from lib.sync.records import StripeObject, object_id
from lib.sync.store import Resource, mark_disputed, write_objects

log = logging.getLogger(__name__)

BATCH_SIZE = 500
SETTLE_SECONDS = 30
"""How long after its arrival a stored event's row is taken as committed by every writer."""
# Event type prefixes whose `data.object` can update a mirrored object.
_EVENT_PREFIXES = ("charge.", "customer.", "refund.")
_RESOURCE_OF_OBJECT: dict[str, Resource] = {
    "charge": "charges",
    "customer": "customers",
    "refund": "refunds",
    "subscription": "subscriptions",
}


@dataclass(frozen=True)
class EventsApplied:
    """What one pass over the stored events did."""

    read: int
    applied: int


def apply_stored_events(engine: Engine, account_key: str) -> EventsApplied:
    """Apply every stored Stripe event not yet seen by this account's mirror.

    Each batch and the cursor move in one transaction, so a crash repeats a batch at worst
    (harmless: applying an event twice changes nothing). On PostgreSQL the stored cursor stops
    before rows received in the last SETTLE_SECONDS: concurrent writers take row ids before
    they commit, so a row with a lower id can appear after a higher one has been read; those
    recent rows are read again by the next pass instead of being skipped for good.
    """
    read = applied = 0
    position = 0
    settle = engine.dialect.name == "postgresql"
    while True:
        with engine.begin() as connection:
            position = max(position, _cursor(connection, account_key))
            rows = connection.execute(
                sa.select(
                    webhook_events.c.id, webhook_events.c.payload, webhook_events.c.received_at
                )
                .where(
                    webhook_events.c.provider == "stripe",
                    webhook_events.c.id > position,
                    sa.or_(*(webhook_events.c.event_type.startswith(p) for p in _EVENT_PREFIXES)),
                )
                .order_by(webhook_events.c.id)
                .limit(BATCH_SIZE)
            ).all()
            if not rows:
                return EventsApplied(read, applied)
            events = [(event, row.id) for row in rows if (event := _parse(row.payload))]
            events.sort(key=lambda pair: (pair[0]["created"], pair[1]))
            applied += sum(apply_event(connection, account_key, event) for event, _ in events)
            read += len(rows)
            position = rows[-1].id
            settled = _settled_prefix_end(rows, datetime.now(UTC)) if settle else position
            if settled is not None:
                _save_cursor(connection, account_key, settled)


def _settled_prefix_end(rows: Sequence[Row[Any]], now: datetime) -> int | None:
    """The id of the last row before the first one received within SETTLE_SECONDS of `now`."""
    horizon = now - timedelta(seconds=SETTLE_SECONDS)
    end = None
    for row in rows:
        if row.received_at > horizon:
            break
        end = row.id
    return end


def apply_event(connection: Connection, account_key: str, event: StripeObject) -> bool:
    """Apply one Stripe event to the account's mirror; True when it changed something."""
    obj = (event.get("data") or {}).get("object")
    if not isinstance(obj, dict):
        return False
    created = int(event["created"])
    kind = obj.get("object")
    if kind == "dispute":
        charge_id = object_id(obj.get("charge"))
        return charge_id is not None and mark_disputed(connection, account_key, charge_id, created)
    resource = _RESOURCE_OF_OBJECT.get(str(kind))
    if resource is None or event.get("type") == "customer.deleted":
        return False
    if resource == "refunds":
        return _apply_refund(connection, account_key, obj, created)
    return bool(
        write_objects(connection, account_key, resource, [obj], created, existing_only=True)
    )


def _apply_refund(
    connection: Connection, account_key: str, refund: StripeObject, created: int
) -> bool:
    # A refund may be new to the mirror; its charge tells whether it belongs to this account.
    charge_id = object_id(refund.get("charge"))
    if charge_id is None:
        return False
    known = write_objects(connection, account_key, "refunds", [refund], created, existing_only=True)
    if known:
        return True
    has_charge = connection.execute(
        sa.select(sa.literal(1)).where(
            mirror_charges.c.account_key == account_key, mirror_charges.c.id == charge_id
        )
    ).first()
    return has_charge is not None and bool(
        write_objects(connection, account_key, "refunds", [refund], created)
    )


def _parse(payload: str) -> dict[str, Any] | None:
    try:
        event = json.loads(payload)
    except ValueError:
        log.warning("stored event payload is not JSON; skipped")
        return None
    if not isinstance(event, dict) or not isinstance(event.get("created"), int):
        return None
    return event


def _cursor(connection: Connection, account_key: str) -> int:
    found = connection.execute(
        sa.select(mirror_event_cursors.c.last_row_id).where(
            mirror_event_cursors.c.account_key == account_key
        )
    ).scalar_one_or_none()
    return int(found or 0)


def _save_cursor(connection: Connection, account_key: str, row_id: int) -> None:
    values = {"last_row_id": row_id, "applied_at": datetime.now(UTC)}
    upsert_row(connection, mirror_event_cursors, {"account_key": account_key}, values)
