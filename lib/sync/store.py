"""Writing Stripe objects into an account's mirror: typed row plus raw JSON, newest state wins.

Every write is an upsert keyed by (account key, id) whose update only happens when the incoming
state is at least as new as the stored one (`state_at`, unix seconds), so re-fetching a page is
idempotent and an old event never overwrites a newer fetch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lib.store.tables import (
    mirror_charge_days,
    mirror_charges,
    mirror_customers,
    mirror_objects,
    mirror_refunds,
    mirror_subscriptions,
)
from lib.store.upsert import dialect_insert
from lib.sync.price_tiers import with_known_tiers
from lib.sync.records import (
    CustomerContact,
    StripeObject,
    charge_row,
    customer_row,
    embedded_refunds,
    object_id,
    refund_row,
    search_text,
    subscription_row,
)

Resource = Literal["customers", "charges", "refunds", "subscriptions"]
OBJECT_TYPES: dict[Resource, str] = {
    "customers": "customer",
    "charges": "charge",
    "refunds": "refund",
    "subscriptions": "subscription",
}
RESOURCE_TABLES: dict[Resource, sa.Table] = {
    "customers": mirror_customers,
    "charges": mirror_charges,
    "refunds": mirror_refunds,
    "subscriptions": mirror_subscriptions,
}


def write_objects(
    connection: Connection,
    account_key: str,
    resource: Resource,
    objects: Sequence[StripeObject],
    state_at: int,
    *,
    existing_only: bool = False,
) -> list[str]:
    """Upsert `objects` (all of one resource) as of `state_at`; return the ids written.

    Objects whose stored copy is newer are left alone; with `existing_only`, objects not yet
    in this account's mirror are skipped too (an event cannot tell which account it is for).
    A charge also stores the refunds it carries; a customer whose email or name changed
    updates the contact columns of its mirrored charges.
    """
    table = RESOURCE_TABLES[resource]
    unique = list({obj["id"]: obj for obj in objects if isinstance(obj.get("id"), str)}.values())
    stored = _stored_states(connection, table, account_key, [obj["id"] for obj in unique])
    fresh = [
        obj
        for obj in unique
        if (obj["id"] in stored or not existing_only)
        and stored.get(obj["id"], state_at) <= state_at
    ]
    if not fresh:
        return []
    if resource == "customers":
        _write_customers(connection, account_key, fresh, state_at)
    elif resource == "charges":
        contacts = customer_contacts(
            connection, account_key, [object_id(obj.get("customer")) for obj in fresh]
        )
        rows = [
            charge_row(obj, contacts.get(object_id(obj.get("customer")) or "")) for obj in fresh
        ]
        _upsert(connection, table, account_key, rows, state_at)
        refunds = [refund for obj in fresh for refund in embedded_refunds(obj)]
        if refunds:
            write_objects(connection, account_key, "refunds", refunds, state_at)
    elif resource == "refunds":
        _upsert(connection, table, account_key, [refund_row(obj) for obj in fresh], state_at)
    else:
        fresh = with_known_tiers(connection, account_key, fresh)
        rows = [subscription_row(obj) for obj in fresh]
        _upsert(connection, table, account_key, rows, state_at)
    _upsert_raw(connection, account_key, OBJECT_TYPES[resource], fresh, state_at)
    return [obj["id"] for obj in fresh]


def mark_disputed(connection: Connection, account_key: str, charge_id: str, state_at: int) -> bool:
    """Flag a mirrored charge as disputed as of `state_at`; False when it is not mirrored here
    or its stored state is newer."""
    raw = connection.execute(
        sa.select(mirror_objects.c.raw).where(
            mirror_objects.c.account_key == account_key,
            mirror_objects.c.object_type == "charge",
            mirror_objects.c.id == charge_id,
            mirror_objects.c.state_at <= state_at,
        )
    ).scalar_one_or_none()
    if raw is None:
        return False
    charge = {**json.loads(raw), "disputed": True}
    return bool(write_objects(connection, account_key, "charges", [charge], state_at))


def customer_contacts(
    connection: Connection, account_key: str, customer_ids: Iterable[str | None]
) -> dict[str, CustomerContact]:
    """Email and name of the mirrored customers among `customer_ids`."""
    wanted = sorted({customer_id for customer_id in customer_ids if customer_id})
    if not wanted:
        return {}
    rows = connection.execute(
        sa.select(mirror_customers.c.id, mirror_customers.c.email, mirror_customers.c.name).where(
            mirror_customers.c.account_key == account_key, mirror_customers.c.id.in_(wanted)
        )
    )
    return {row.id: CustomerContact(row.email, row.name) for row in rows}


def _write_customers(
    connection: Connection, account_key: str, customers: list[StripeObject], state_at: int
) -> None:
    before = customer_contacts(connection, account_key, [obj["id"] for obj in customers])
    rows = [customer_row(obj) for obj in customers]
    _upsert(connection, mirror_customers, account_key, rows, state_at)
    changed = {
        row["id"]: CustomerContact(row["email"], row["name"])
        for row in rows
        if row["id"] in before and before[row["id"]] != CustomerContact(row["email"], row["name"])
    }
    for customer_id, contact in changed.items():
        _update_charge_contacts(connection, account_key, customer_id, contact)


def _update_charge_contacts(
    connection: Connection, account_key: str, customer_id: str, contact: CustomerContact
) -> None:
    charges = connection.execute(
        sa.select(mirror_charges.c.id, mirror_charges.c.description).where(
            mirror_charges.c.account_key == account_key,
            mirror_charges.c.customer_id == customer_id,
        )
    ).all()
    if not charges:
        return
    statement = (
        mirror_charges.update()
        .where(
            mirror_charges.c.account_key == account_key,
            mirror_charges.c.id == sa.bindparam("charge_id"),
        )
        .values(
            customer_email=contact.email,
            customer_name=contact.name,
            customer_text=search_text(contact.email, contact.name),
            search_text=sa.bindparam("text"),
        )
    )
    connection.execute(
        statement,
        [
            {"charge_id": row.id, "text": search_text(row.id, contact.email, row.description)}
            for row in charges
        ],
    )


def _stored_states(
    connection: Connection, table: sa.Table, account_key: str, ids: list[str]
) -> dict[str, int]:
    if not ids:
        return {}
    rows = connection.execute(
        sa.select(table.c.id, table.c.state_at).where(
            table.c.account_key == account_key, table.c.id.in_(ids)
        )
    )
    return {row.id: row.state_at for row in rows}


def refresh_planner_statistics(engine: Engine) -> None:
    """Tell SQLite how the mirror's values are spread (PostgreSQL's autovacuum does this itself).

    Without statistics SQLite takes `account_key = ?` for a selective index and looks up every
    row of a single-account mirror one by one, several times slower than scanning the table.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        for table in (*RESOURCE_TABLES.values(), mirror_objects, mirror_charge_days):
            connection.exec_driver_sql(f"ANALYZE {table.name}")


def _upsert(
    connection: Connection,
    table: sa.Table,
    account_key: str,
    rows: list[dict[str, Any]],
    state_at: int,
) -> None:
    values = [{**row, "account_key": account_key, "state_at": state_at} for row in rows]
    insert = dialect_insert(connection)(table)
    keys = [column.name for column in table.primary_key.columns]
    statement = insert.on_conflict_do_update(
        index_elements=keys,
        set_={name: insert.excluded[name] for name in values[0] if name not in keys},
        # A concurrent writer may have stored something newer since we looked.
        where=table.c.state_at <= insert.excluded.state_at,
    )
    connection.execute(statement, values)


def _upsert_raw(
    connection: Connection,
    account_key: str,
    object_type: str,
    objects: list[StripeObject],
    state_at: int,
) -> None:
    rows = [
        {"id": obj["id"], "object_type": object_type, "raw": json.dumps(obj, separators=(",", ":"))}
        for obj in objects
    ]
    _upsert(connection, mirror_objects, account_key, rows, state_at)
