"""Versioned schema migrations, recorded in a `schema_version` table.

Add a step by appending one function decorated with `@migration(next_version, "what it does")`.
A step must keep every row: on SQLite, change constraints with `rebuild_sqlite_table`.
Table definitions here are frozen copies of the schema at that version, never imports of
tables.py (which describes the latest schema and moves on).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lib.store.tables import UtcDateTime, row_id_type, sql_in_list


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer version of the app than this one."""


Upgrade = Callable[[Connection], None]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    upgrade: Upgrade


MIGRATIONS: list[Migration] = []

# Any constant works; it only has to be the same in every process of this app.
_ADVISORY_LOCK_KEY = zlib.crc32(b"stripe-dashboard:migrate")

_schema_version_metadata = sa.MetaData()
schema_version = sa.Table(
    "schema_version",
    _schema_version_metadata,
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("applied_at", UtcDateTime(), nullable=False),
)


def migration(version: int, description: str) -> Callable[[Upgrade], Upgrade]:
    """Register the decorated function as the upgrade to `version` (must be the next number)."""

    def register(upgrade: Upgrade) -> Upgrade:
        expected = len(MIGRATIONS) + 1
        if version != expected:
            raise ValueError(f"migration {version} registered out of order: expected {expected}")
        MIGRATIONS.append(Migration(version, description, upgrade))
        return upgrade

    return register


def latest_version() -> int:
    """The schema version this code expects."""
    return MIGRATIONS[-1].version


def current_version(connection: Connection) -> int:
    """The version recorded in the database; 0 for an empty database."""
    if not sa.inspect(connection).has_table(schema_version.name):
        return 0
    found = connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
    return int(found or 0)


def migrate(engine: Engine, target: int | None = None) -> int:
    """Apply pending migrations up to `target` (default: latest) and return the resulting version.

    Each step runs in its own transaction together with its version row, under a lock that
    makes concurrent callers (several processes starting at once) wait and then skip the
    steps already applied. Raises SchemaTooNewError when the database is ahead of this code.
    """
    goal = latest_version() if target is None else target
    with engine.connect() as connection, _sqlite_foreign_keys_off(connection):
        while True:
            with connection.begin():
                _lock_for_migration(connection)
                _schema_version_metadata.create_all(connection, checkfirst=True)
                version = current_version(connection)
                if version > latest_version():
                    raise SchemaTooNewError(
                        f"database schema version {version} is newer than this app "
                        f"(version {latest_version()}): upgrade the app"
                    )
                if version >= goal:
                    return version
                step = MIGRATIONS[version]
                step.upgrade(connection)
                _check_sqlite_foreign_keys(connection)
                connection.execute(
                    schema_version.insert().values(
                        version=step.version,
                        description=step.description,
                        applied_at=datetime.now(UTC),
                    )
                )


def _lock_for_migration(connection: Connection) -> None:
    # SQLite already holds the write lock: db.py begins every transaction with BEGIN IMMEDIATE.
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_ADVISORY_LOCK_KEY)))


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    # A table rebuild's DROP TABLE must not cascade; the pragma only works outside a transaction.
    if connection.dialect.name != "sqlite":
        yield
        return
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver_connection.execute("PRAGMA foreign_keys=ON")


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left {len(broken)} rows with broken foreign keys")


def rebuild_sqlite_table(
    connection: Connection, table: sa.Table, copied_columns: Sequence[str]
) -> None:
    """Replace the SQLite table named `table.name` by `table`'s definition, copying every row.

    SQLite's ALTER TABLE cannot change constraints; this is its documented procedure
    (create new, copy, drop old, rename), run inside the caller's transaction.
    """
    staging = table.to_metadata(sa.MetaData(), name=f"{table.name}__rebuild")
    connection.execute(sa.schema.CreateTable(staging))
    columns = ", ".join(copied_columns)
    connection.exec_driver_sql(
        f"INSERT INTO {staging.name} ({columns}) SELECT {columns} FROM {table.name}"
    )
    connection.exec_driver_sql(f"DROP TABLE {table.name}")
    connection.exec_driver_sql(f"ALTER TABLE {staging.name} RENAME TO {table.name}")
    for index in table.indexes:
        index.create(connection)


# Version 1: the seed guide's database, as its Supabase SQL left it.

_SEED_PROVIDERS = ("github", "jira", "slack", "linear", "calendar", "stripe")


@migration(1, "seed schema: user_credentials and webhook_events")
def _create_seed_schema(connection: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "user_credentials",
        metadata,
        sa.Column("id", row_id_type(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("user_id", "provider", name="user_credentials_user_id_provider_key"),
        sa.CheckConstraint(
            sql_in_list("provider", _SEED_PROVIDERS), name="user_credentials_provider_check"
        ),
    )
    sa.Table(
        "webhook_events",
        metadata,
        sa.Column("id", row_id_type(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("provider", "event_id", name="webhook_events_provider_event_id_key"),
        sa.CheckConstraint(
            sql_in_list("provider", _SEED_PROVIDERS), name="webhook_events_provider_check"
        ),
    )
    metadata.create_all(connection)


# Version 2: twilio in the provider checks, connection status, account_ref, oauth_states.

_V2_PROVIDERS = (*_SEED_PROVIDERS, "twilio")
_V2_STATUSES = ("connected", "needs_reconnect")


@migration(2, "twilio provider, connection status and account_ref, oauth_states")
def _add_status_and_oauth_states(connection: Connection) -> None:
    metadata = sa.MetaData()
    user_credentials = sa.Table(
        "user_credentials",
        metadata,
        sa.Column("id", row_id_type(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("status", sa.String(32), nullable=False, server_default="connected"),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("account_ref", sa.String(255), nullable=True),
        sa.UniqueConstraint("user_id", "provider", name="user_credentials_user_id_provider_key"),
        sa.CheckConstraint(
            sql_in_list("provider", _V2_PROVIDERS), name="user_credentials_provider_check"
        ),
        sa.CheckConstraint(
            sql_in_list("status", _V2_STATUSES), name="user_credentials_status_check"
        ),
        sa.Index("ix_user_credentials_provider_account_ref", "provider", "account_ref"),
    )
    webhook_events = sa.Table(
        "webhook_events",
        metadata,
        sa.Column("id", row_id_type(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("provider", "event_id", name="webhook_events_provider_event_id_key"),
        sa.CheckConstraint(
            sql_in_list("provider", _V2_PROVIDERS), name="webhook_events_provider_check"
        ),
    )
    oauth_states = sa.Table(
        "oauth_states",
        metadata,
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            sql_in_list("provider", _V2_PROVIDERS), name="oauth_states_provider_check"
        ),
        sa.Index("ix_oauth_states_expires_at", "expires_at"),
    )
    if connection.dialect.name == "sqlite":
        seed_columns = ["id", "user_id", "provider", "credentials", "created_at", "updated_at"]
        rebuild_sqlite_table(connection, user_credentials, seed_columns)
        webhook_columns = ["id", "provider", "event_id", "event_type", "payload", "received_at"]
        rebuild_sqlite_table(connection, webhook_events, webhook_columns)
    else:
        providers_check = sql_in_list("provider", _V2_PROVIDERS)
        statuses_check = sql_in_list("status", _V2_STATUSES)
        for statement in (
            "ALTER TABLE user_credentials DROP CONSTRAINT user_credentials_provider_check",
            "ALTER TABLE user_credentials ADD CONSTRAINT user_credentials_provider_check "
            f"CHECK ({providers_check})",
            "ALTER TABLE user_credentials ADD COLUMN status VARCHAR(32) DEFAULT 'connected' "
            f"NOT NULL CONSTRAINT user_credentials_status_check CHECK ({statuses_check})",
            "ALTER TABLE user_credentials ADD COLUMN status_reason TEXT",
            "ALTER TABLE user_credentials ADD COLUMN account_ref VARCHAR(255)",
            "ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_provider_check",
            "ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_provider_check "
            f"CHECK ({providers_check})",
        ):
            connection.exec_driver_sql(statement)
        for index in user_credentials.indexes:
            index.create(connection)
    oauth_states.create(connection)


# Version 3: webhook processing columns, rejected deliveries, Events API poll cursors.

_V3_SOURCES = ("webhook", "poll")
_V3_STATUSES = ("pending", "processed", "failed")


@migration(3, "webhook processing columns, webhook_rejections, webhook_poll_cursors")
def _add_webhook_processing(connection: Connection) -> None:
    metadata = sa.MetaData()
    webhook_events = sa.Table(
        "webhook_events",
        metadata,
        sa.Column("id", row_id_type(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("source", sa.String(16), nullable=False, server_default="webhook"),
        sa.Column("mesh_name", sa.String(255), nullable=True),
        sa.Column("mesh_payload", sa.Text(), nullable=True),
        sa.Column("event_created", sa.BigInteger(), nullable=True),
        sa.Column("account_ref", sa.String(255), nullable=True),
        sa.Column("livemode", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("processed_at", UtcDateTime(), nullable=True),
        sa.Column("processing_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.UniqueConstraint("provider", "event_id", name="webhook_events_provider_event_id_key"),
        sa.CheckConstraint(
            sql_in_list("provider", _V2_PROVIDERS), name="webhook_events_provider_check"
        ),
        sa.CheckConstraint(sql_in_list("source", _V3_SOURCES), name="webhook_events_source_check"),
        sa.CheckConstraint(sql_in_list("status", _V3_STATUSES), name="webhook_events_status_check"),
        sa.Index("ix_webhook_events_status_id", "status", "id"),
        sa.Index("ix_webhook_events_mesh_name_id", "mesh_name", "id"),
    )
    webhook_rejections = sa.Table(
        "webhook_rejections",
        metadata,
        sa.Column("id", row_id_type(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            sql_in_list("provider", _V2_PROVIDERS), name="webhook_rejections_provider_check"
        ),
        sa.Index("ix_webhook_rejections_reason", "reason"),
    )
    webhook_poll_cursors = sa.Table(
        "webhook_poll_cursors",
        metadata,
        sa.Column("account_key", sa.String(255), primary_key=True),
        sa.Column("last_event_created", sa.BigInteger(), nullable=True),
        sa.Column("last_event_id", sa.String(255), nullable=True),
        sa.Column("last_polled_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UtcDateTime(), nullable=True),
    )
    if connection.dialect.name == "sqlite":
        v2_columns = ["id", "provider", "event_id", "event_type", "payload", "received_at"]
        rebuild_sqlite_table(connection, webhook_events, v2_columns)
    else:
        sources_check = sql_in_list("source", _V3_SOURCES)
        statuses_check = sql_in_list("status", _V3_STATUSES)
        for statement in (
            "ALTER TABLE webhook_events ADD COLUMN source VARCHAR(16) DEFAULT 'webhook' NOT NULL "
            f"CONSTRAINT webhook_events_source_check CHECK ({sources_check})",
            "ALTER TABLE webhook_events ADD COLUMN mesh_name VARCHAR(255)",
            "ALTER TABLE webhook_events ADD COLUMN mesh_payload TEXT",
            "ALTER TABLE webhook_events ADD COLUMN event_created BIGINT",
            "ALTER TABLE webhook_events ADD COLUMN account_ref VARCHAR(255)",
            "ALTER TABLE webhook_events ADD COLUMN livemode BOOLEAN",
            "ALTER TABLE webhook_events ADD COLUMN status VARCHAR(16) DEFAULT 'pending' NOT NULL "
            f"CONSTRAINT webhook_events_status_check CHECK ({statuses_check})",
            "ALTER TABLE webhook_events ADD COLUMN processed_at TIMESTAMP WITH TIME ZONE",
            "ALTER TABLE webhook_events ADD COLUMN processing_error TEXT",
            "ALTER TABLE webhook_events ADD COLUMN attempts INTEGER DEFAULT 0 NOT NULL",
        ):
            connection.exec_driver_sql(statement)
        for index in webhook_events.indexes:
            index.create(connection)
    # Rows stored before this version were never meant to trigger reactions: do not replay them.
    connection.execute(
        webhook_events.update().values(
            status="processed", processed_at=webhook_events.c.received_at
        )
    )
    webhook_rejections.create(connection)
    webhook_poll_cursors.create(connection)


# Version 4: the local mirror of each Stripe account (objects, filter columns, sync state).

_V4_RESOURCES = ("customers", "charges", "refunds", "subscriptions")
_V4_OBJECT_TYPES = ("customer", "charge", "refund", "subscription")


@migration(4, "mirror of Stripe customers, charges, refunds and subscriptions per account")
def _add_stripe_mirror(connection: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "mirror_objects",
        metadata,
        sa.Column("account_key", sa.String(255), primary_key=True),
        sa.Column("object_type", sa.String(32), primary_key=True),
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("state_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            sql_in_list("object_type", _V4_OBJECT_TYPES), name="mirror_objects_object_type_check"
        ),
    )
    sa.Table(
        "mirror_customers",
        metadata,
        sa.Column("account_key", sa.String(255), primary_key=True),
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(512), nullable=True),
        sa.Column("name", sa.String(512), nullable=True),
        sa.Column("state_at", sa.BigInteger(), nullable=False),
        sa.Index("ix_mirror_customers_account_created", "account_key", "created"),
    )
    sa.Table(
        "mirror_charges",
        metadata,
        sa.Column("account_key", sa.String(255), primary_key=True),
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=True),
        sa.Column("customer_email", sa.String(512), nullable=True),
        sa.Column("customer_name", sa.String(512), nullable=True),
        sa.Column("customer_text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("refunded", sa.Boolean(), nullable=False),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.Column("card_brand", sa.String(32), nullable=True),
        sa.Column("card_last4", sa.String(4), nullable=True),
        sa.Column("failure_code", sa.String(64), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("receipt_url", sa.Text(), nullable=True),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("state_at", sa.BigInteger(), nullable=False),
        sa.Index(
            "ix_mirror_charges_account_created",
            "account_key",
            "created",
            "currency",
            "status",
            "amount",
            "amount_refunded",
        ),
        sa.Index(
            "ix_mirror_charges_account_status_created",
            "account_key",
            "status",
            "created",
            "currency",
            "amount",
            "amount_refunded",
        ),
        sa.Index(
            "ix_mirror_charges_account_currency_created",
            "account_key",
            "currency",
            "created",
            "status",
            "amount",
            "amount_refunded",
        ),
        sa.Index("ix_mirror_charges_account_customer", "account_key", "customer_id"),
        sa.Index("ix_mirror_charges_account_brand", "account_key", "card_brand"),
    )
    sa.Table(
        "mirror_refunds",
        metadata,
        sa.Column("account_key", sa.String(255), primary_key=True),
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("charge_id", sa.String(255), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("state_at", sa.BigInteger(), nullable=False),
        sa.Index("ix_mirror_refunds_account_charge", "account_key", "charge_id"),
    )
    sa.Table(
        "mirror_subscriptions",
        metadata,
        sa.Column("account_key", sa.String(255), primary_key=True),
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("customer_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.BigInteger(), nullable=True),
        sa.Column("trial_start", sa.BigInteger(), nullable=True),
        sa.Column("trial_end", sa.BigInteger(), nullable=True),
        sa.Column("canceled_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("state_at", sa.BigInteger(), nullable=False),
        sa.Index("ix_mirror_subscriptions_account_status", "account_key", "status"),
    )
    sa.Table(
        "mirror_sync_state",
        metadata,
        sa.Column("account_key", sa.String(255), primary_key=True),
        sa.Column("resource", sa.String(32), primary_key=True),
        sa.Column("complete", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("run_open", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("run_floor", sa.BigInteger(), nullable=True),
        sa.Column("run_cursor", sa.String(255), nullable=True),
        sa.Column("newest_created", sa.BigInteger(), nullable=True),
        sa.Column("last_synced_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            sql_in_list("resource", _V4_RESOURCES), name="mirror_sync_state_resource_check"
        ),
    )
    sa.Table(
        "mirror_event_cursors",
        metadata,
        sa.Column("account_key", sa.String(255), primary_key=True),
        sa.Column("last_row_id", sa.BigInteger(), nullable=False),
        sa.Column("applied_at", UtcDateTime(), nullable=False),
    )
    metadata.create_all(connection)


# Version 5: refusals counted per reason per hour, the client of an OAuth state, event retention.


@migration(5, "webhook refusals counted per hour, oauth_states.client_ref, events by received_at")
def _bound_abuse_tables(connection: Connection) -> None:
    metadata = sa.MetaData()
    counts = sa.Table(
        "webhook_rejection_counts",
        metadata,
        sa.Column("provider", sa.String(32), primary_key=True),
        sa.Column("reason", sa.String(64), primary_key=True),
        sa.Column("hour", UtcDateTime(), primary_key=True),
        sa.Column("deliveries", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            sql_in_list("provider", _V2_PROVIDERS), name="webhook_rejection_counts_provider_check"
        ),
    )
    counts.create(connection)
    # One row per refusal until now: each becomes a count in the UTC hour it was received.
    if connection.dialect.name == "sqlite":
        hour = "strftime('%Y-%m-%d %H:00:00.000000', received_at)"
    else:
        hour = "date_trunc('hour', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    connection.exec_driver_sql(
        "INSERT INTO webhook_rejection_counts (provider, reason, hour, deliveries) "
        f"SELECT provider, reason, {hour}, count(*) FROM webhook_rejections "
        f"GROUP BY provider, reason, {hour}"
    )
    connection.exec_driver_sql("DROP TABLE webhook_rejections")
    for statement in (
        "ALTER TABLE oauth_states ADD COLUMN client_ref VARCHAR(64)",
        "CREATE INDEX ix_oauth_states_client_ref_expires_at ON oauth_states "
        "(client_ref, expires_at)",
        "CREATE INDEX ix_webhook_events_received_at ON webhook_events (received_at)",
    ):
        connection.exec_driver_sql(statement)


# Version 6: the audit log of admin actions and refused attempts.

_V6_AUDIT_RESULTS = ("succeeded", "failed", "refused")


@migration(6, "audit_log of admin actions and refused attempts")
def _add_audit_log(connection: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "audit_log",
        metadata,
        sa.Column("id", row_id_type(), primary_key=True, autoincrement=True),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("account", sa.String(255), nullable=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False, server_default="1"),
        sa.CheckConstraint(sql_in_list("result", _V6_AUDIT_RESULTS), name="audit_log_result_check"),
        sa.Index("ix_audit_log_occurred_at", "occurred_at"),
        sa.Index("ix_audit_log_actor_occurred_at", "actor", "occurred_at"),
        sa.Index("ix_audit_log_action_occurred_at", "action", "occurred_at"),
    )
    metadata.create_all(connection)


# Version 7: workflow runs, their steps, per-customer limits and switches; workflow events.

_V7_SOURCES = (*_V3_SOURCES, "workflow")
_V7_RUN_STATUSES = (
    "pending",
    "running",
    "succeeded",
    "skipped",
    "failed",
    "dead",
    "unknown",
    "cancelled",
)
_V7_STEP_STATUSES = ("sending", "succeeded", "dry_run", "skipped", "waiting", "failed", "unknown")


@migration(7, "workflow runs, steps, limits and switches; events published by workflows")
def _add_workflows(connection: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "workflow_switches",
        metadata,
        sa.Column("workflow_id", sa.String(128), primary_key=True),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(320), nullable=True),
    )
    sa.Table(
        "workflow_runs",
        metadata,
        sa.Column("id", row_id_type(), primary_key=True, autoincrement=True),
        sa.Column("workflow_id", sa.String(128), nullable=False),
        sa.Column("trigger_event_id", sa.String(255), nullable=False),
        sa.Column("trigger_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("next_step", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint(
            "workflow_id", "trigger_event_id", name="workflow_runs_workflow_id_trigger_event_id_key"
        ),
        sa.CheckConstraint(
            sql_in_list("status", _V7_RUN_STATUSES), name="workflow_runs_status_check"
        ),
        sa.Index("ix_workflow_runs_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_workflow_runs_created_at", "created_at"),
    )
    sa.Table(
        "workflow_steps",
        metadata,
        sa.Column("run_id", sa.BigInteger(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("outputs", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            sql_in_list("status", _V7_STEP_STATUSES), name="workflow_steps_status_check"
        ),
    )
    sa.Table(
        "workflow_limits",
        metadata,
        sa.Column("workflow_id", sa.String(128), primary_key=True),
        sa.Column("limit_key", sa.String(255), primary_key=True),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", UtcDateTime(), nullable=False),
    )
    metadata.create_all(connection)
    # Events a workflow step publishes are stored beside Stripe's, with their own source.
    sources_check = sql_in_list("source", _V7_SOURCES)
    if connection.dialect.name == "sqlite":
        webhook_events = _v5_webhook_events(_V7_SOURCES)
        rebuild_sqlite_table(connection, webhook_events, [c.name for c in webhook_events.columns])
    else:
        for statement in (
            "ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_source_check",
            f"ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_source_check "
            f"CHECK ({sources_check})",
        ):
            connection.exec_driver_sql(statement)


def _v5_webhook_events(sources: tuple[str, ...]) -> sa.Table:
    """webhook_events as of version 5, with `sources` allowed in its source check."""
    return sa.Table(
        "webhook_events",
        sa.MetaData(),
        sa.Column("id", row_id_type(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("source", sa.String(16), nullable=False, server_default="webhook"),
        sa.Column("mesh_name", sa.String(255), nullable=True),
        sa.Column("mesh_payload", sa.Text(), nullable=True),
        sa.Column("event_created", sa.BigInteger(), nullable=True),
        sa.Column("account_ref", sa.String(255), nullable=True),
        sa.Column("livemode", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("processed_at", UtcDateTime(), nullable=True),
        sa.Column("processing_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.UniqueConstraint("provider", "event_id", name="webhook_events_provider_event_id_key"),
        sa.CheckConstraint(
            sql_in_list("provider", _V2_PROVIDERS), name="webhook_events_provider_check"
        ),
        sa.CheckConstraint(sql_in_list("source", sources), name="webhook_events_source_check"),
        sa.CheckConstraint(sql_in_list("status", _V3_STATUSES), name="webhook_events_status_check"),
        sa.Index("ix_webhook_events_status_id", "status", "id"),
        sa.Index("ix_webhook_events_mesh_name_id", "mesh_name", "id"),
        sa.Index("ix_webhook_events_received_at", "received_at"),
    )


# Version 8: what a million charges need: per-day totals kept by triggers, and text search.

_V8_DAY_SECONDS = 86_400
_V8_SUMMED_LIMIT = 10**12
"""Amounts beyond ±10^12 minor units are counted but not summed (`unsummed`), so no running
total can overflow; readers then total those charges from mirror_charges itself."""
_V8_DAY_KEY = (
    "account_key",
    "day",
    "currency",
    "status",
    "card_brand",
    "refunded",
    "refund_sign",
    "disputed",
    "failure_code",
)
_V8_TOTALS = ("charges", "amount", "amount_refunded", "unsummed")
_V8_CHANGED_COLUMNS = (
    "created",
    "amount",
    "amount_refunded",
    "currency",
    "status",
    "card_brand",
    "refunded",
    "disputed",
    "failure_code",
)


def _v8_charge_days_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "mirror_charge_days",
        metadata,
        sa.Column("account_key", sa.String(255), primary_key=True),
        sa.Column("day", sa.BigInteger(), primary_key=True),
        sa.Column("currency", sa.String(8), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("card_brand", sa.String(32), primary_key=True),
        sa.Column("refunded", sa.Boolean(), primary_key=True),
        sa.Column("refund_sign", sa.SmallInteger(), primary_key=True),
        sa.Column("disputed", sa.Boolean(), primary_key=True),
        sa.Column("failure_code", sa.String(64), primary_key=True),
        sa.Column("charges", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("unsummed", sa.BigInteger(), nullable=False),
        # Read by key ranges: on SQLite the rows are kept in key order, no separate index.
        sqlite_with_rowid=False,
    )


def _v8_day_key(row: str, dialect: str) -> list[str]:
    """The summary key of the mirror_charges row `row` (an alias), in _V8_DAY_KEY's order."""
    day = _V8_DAY_SECONDS
    if dialect == "sqlite":
        offset = f"(({row}.created % {day}) + {day}) % {day}"
    else:
        offset = f"mod(mod({row}.created, {day}) + {day}, {day})"
    return [
        f"{row}.account_key",
        f"{row}.created - {offset}",
        f"{row}.currency",
        f"{row}.status",
        f"COALESCE({row}.card_brand, '')",
        f"{row}.refunded",
        f"CASE WHEN {row}.amount_refunded > 0 THEN 1 WHEN {row}.amount_refunded < 0 THEN -1 "
        "ELSE 0 END",
        f"{row}.disputed",
        f"COALESCE({row}.failure_code, 'unknown')",
    ]


def _v8_totals(row: str, sign: str) -> list[str]:
    """What the row `row` adds (`sign` "+") or takes away ("-"), in _V8_TOTALS's order."""
    limit = _V8_SUMMED_LIMIT
    summed = (
        f"{row}.amount BETWEEN -{limit} AND {limit} "
        f"AND {row}.amount_refunded BETWEEN -{limit} AND {limit}"
    )
    return [
        f"{sign}1",
        f"{sign}(CASE WHEN {summed} THEN {row}.amount ELSE 0 END)",
        f"{sign}(CASE WHEN {summed} THEN {row}.amount_refunded ELSE 0 END)",
        f"{sign}(CASE WHEN {summed} THEN 0 ELSE 1 END)",
    ]


def _v8_add_to_days(contributions: str) -> str:
    """INSERT ... ON CONFLICT adding `contributions` (a SELECT of _V8_DAY_KEY and _V8_TOTALS
    columns) into the day totals: grouped, keys without change skipped, in key order."""
    key = ", ".join(_V8_DAY_KEY)
    sums = ", ".join(f"sum({name})" for name in _V8_TOTALS)
    nonzero = " OR ".join(f"sum({name}) <> 0" for name in _V8_TOTALS)
    added = ", ".join(
        f"{name} = mirror_charge_days.{name} + excluded.{name}" for name in _V8_TOTALS
    )
    return (
        f"INSERT INTO mirror_charge_days ({key}, {', '.join(_V8_TOTALS)}) "
        f"SELECT {key}, {sums} FROM ({contributions}) AS contributions GROUP BY {key} "
        f"HAVING {nonzero} ORDER BY {key} ON CONFLICT ({key}) DO UPDATE SET {added}"
    )


def _v8_contributions(row: str, source: str, sign: str, dialect: str) -> str:
    names = (*_V8_DAY_KEY, *_V8_TOTALS)
    values = [*_v8_day_key(row, dialect), *_v8_totals(row, sign)]
    listed = ", ".join(f"{value} AS {name}" for value, name in zip(values, names, strict=True))
    return f"SELECT {listed} FROM {source} AS {row}"


def _v8_drop_empty_days(rows: str, dialect: str) -> str:
    """DELETE the day totals left with no charge among the keys of the rows `rows`."""
    key = ", ".join(_V8_DAY_KEY)
    keys = ", ".join(
        f"{value} AS {name}"
        for value, name in zip(_v8_day_key("r", dialect), _V8_DAY_KEY, strict=True)
    )
    return (
        f"DELETE FROM mirror_charge_days WHERE charges = 0 AND ({key}) IN "
        f"(SELECT {key} FROM (SELECT {keys} FROM {rows} AS r) AS emptied)"
    )


def _v8_sqlite_triggers() -> list[str]:
    """Row triggers: SQLite runs one writer at a time, inside the writer's transaction."""
    key = _v8_day_key("NEW", "sqlite")
    old_key = _v8_day_key("OLD", "sqlite")
    columns = ", ".join((*_V8_DAY_KEY, *_V8_TOTALS))
    key_names = ", ".join(_V8_DAY_KEY)
    added = ", ".join(f"{name} = {name} + excluded.{name}" for name in _V8_TOTALS)

    def add(values: list[str]) -> str:
        return (
            f"INSERT INTO mirror_charge_days ({columns}) VALUES ({', '.join(values)}) "
            f"ON CONFLICT ({key_names}) DO UPDATE SET {added};"
        )

    drop_old = (
        "DELETE FROM mirror_charge_days WHERE charges = 0 AND "
        + " AND ".join(
            f"{name} = {value}" for name, value in zip(_V8_DAY_KEY, old_key, strict=True)
        )
        + ";"
    )
    changed = " OR ".join(f"OLD.{name} IS NOT NEW.{name}" for name in _V8_CHANGED_COLUMNS)
    return [
        "CREATE TRIGGER mirror_charge_days_on_insert AFTER INSERT ON mirror_charges BEGIN "
        f"{add([*key, *_v8_totals('NEW', '+')])} END",
        "CREATE TRIGGER mirror_charge_days_on_delete AFTER DELETE ON mirror_charges BEGIN "
        f"{add([*old_key, *_v8_totals('OLD', '-')])} {drop_old} END",
        "CREATE TRIGGER mirror_charge_days_on_update AFTER UPDATE OF "
        f"{', '.join(_V8_CHANGED_COLUMNS)} ON mirror_charges WHEN {changed} BEGIN "
        f"{add([*old_key, *_v8_totals('OLD', '-')])} {add([*key, *_v8_totals('NEW', '+')])} "
        f"{drop_old} END",
    ]


def _v8_postgresql_triggers() -> list[str]:
    """Statement triggers over transition tables: one grouped upsert per statement, in key
    order (concurrent writers lock the same rows in the same order)."""
    dialect = "postgresql"
    inserted = _v8_contributions("r", "new_rows", "+", dialect)
    deleted = _v8_contributions("r", "old_rows", "-", dialect)
    bodies = {
        "insert": _v8_add_to_days(inserted),
        "delete": f"{_v8_add_to_days(deleted)}; {_v8_drop_empty_days('old_rows', dialect)}",
        "update": f"{_v8_add_to_days(f'{inserted} UNION ALL {deleted}')}; "
        f"{_v8_drop_empty_days('old_rows', dialect)}",
    }
    transition = {
        "insert": "REFERENCING NEW TABLE AS new_rows",
        "delete": "REFERENCING OLD TABLE AS old_rows",
        "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    }
    statements = []
    for event, body in bodies.items():
        function = f"mirror_charge_days_on_{event}"
        statements += [
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
            f"BEGIN {body}; RETURN NULL; END $body$",
            f"CREATE TRIGGER {function} AFTER {event.upper()} ON mirror_charges "
            f"{transition[event]} FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return statements


_V8_SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE mirror_charges_search USING fts5(search_text, customer_text, "
    "content='mirror_charges', tokenize='trigram')",
    "CREATE TRIGGER mirror_charges_search_on_insert AFTER INSERT ON mirror_charges BEGIN "
    "INSERT INTO mirror_charges_search (rowid, search_text, customer_text) "
    "VALUES (NEW.rowid, NEW.search_text, NEW.customer_text); END",
    "CREATE TRIGGER mirror_charges_search_on_delete AFTER DELETE ON mirror_charges BEGIN "
    "INSERT INTO mirror_charges_search (mirror_charges_search, rowid, search_text, "
    "customer_text) VALUES ('delete', OLD.rowid, OLD.search_text, OLD.customer_text); END",
    "CREATE TRIGGER mirror_charges_search_on_update AFTER UPDATE OF search_text, customer_text "
    "ON mirror_charges WHEN OLD.search_text IS NOT NEW.search_text "
    "OR OLD.customer_text IS NOT NEW.customer_text BEGIN "
    "INSERT INTO mirror_charges_search (mirror_charges_search, rowid, search_text, "
    "customer_text) VALUES ('delete', OLD.rowid, OLD.search_text, OLD.customer_text); "
    "INSERT INTO mirror_charges_search (rowid, search_text, customer_text) "
    "VALUES (NEW.rowid, NEW.search_text, NEW.customer_text); END",
    "INSERT INTO mirror_charges_search (mirror_charges_search) VALUES ('rebuild')",
]


_V8_INDEXES = (
    "DROP INDEX ix_mirror_charges_account_created",
    "DROP INDEX ix_mirror_charges_account_status_created",
    "DROP INDEX ix_mirror_charges_account_currency_created",
    "CREATE INDEX ix_mirror_charges_account_created_id ON mirror_charges "
    "(account_key, created, id, currency, status, amount, amount_refunded)",
    "CREATE INDEX ix_mirror_charges_account_status_created_id ON mirror_charges "
    "(account_key, status, created, id, currency, amount, amount_refunded)",
    "CREATE INDEX ix_mirror_charges_account_currency_created_id ON mirror_charges "
    "(account_key, currency, created, id, status, amount, amount_refunded)",
    "CREATE INDEX ix_mirror_charges_account_status_id ON mirror_charges (account_key, status, id)",
    "CREATE INDEX ix_mirror_charges_account_currency_amount_id ON mirror_charges "
    "(account_key, currency, amount, id)",
    "CREATE INDEX ix_mirror_charges_account_currency_amount_desc_id_desc ON mirror_charges "
    "(account_key, currency, amount DESC, id DESC)",
    "CREATE INDEX ix_mirror_charges_account_customer_shown_id ON mirror_charges "
    "(account_key, (coalesce(customer_email, customer_name)), id)",
)
"""Indexes in the order each sort of the charges page reads (its columns, then the id)."""


@migration(8, "charge indexes per sort, per-day charge totals kept by triggers, trigram search")
def _add_charge_days_and_search(connection: Connection) -> None:
    dialect = connection.dialect.name
    for statement in _V8_INDEXES:
        connection.exec_driver_sql(statement)
    _v8_charge_days_table(sa.MetaData()).create(connection)
    connection.exec_driver_sql(
        _v8_add_to_days(_v8_contributions("r", "mirror_charges", "+", dialect))
    )
    triggers = _v8_sqlite_triggers() if dialect == "sqlite" else _v8_postgresql_triggers()
    for statement in triggers:
        connection.exec_driver_sql(statement)
    if dialect == "sqlite":
        _v8_sqlite_search(connection)
    else:
        _v8_postgresql_search(connection)


def _v8_sqlite_search(connection: Connection) -> None:
    # FTS5 with the trigram tokenizer is in every SQLite since 3.34 that has FTS5 at all; where
    # it is missing, searches scan the table as before.
    try:
        with connection.begin_nested():
            for statement in _V8_SQLITE_SEARCH:
                connection.exec_driver_sql(statement)
    except sa.exc.OperationalError:
        return


def _v8_postgresql_search(connection: Connection) -> None:
    # pg_trgm is a trusted extension; a database user that may not create it still gets the
    # rest of this version, and searches scan the table as before.
    schema = _v8_pg_trgm_schema(connection)
    if schema is None:
        for where in (" SCHEMA public", ""):
            try:
                with connection.begin_nested():
                    connection.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS pg_trgm{where}")
            except sa.exc.DBAPIError:
                continue
            break
        schema = _v8_pg_trgm_schema(connection)
    if schema is None:
        return
    for column in ("search_text", "customer_text"):
        connection.exec_driver_sql(
            f"CREATE INDEX ix_mirror_charges_{column}_trgm ON mirror_charges "
            f'USING gin ({column} "{schema}".gin_trgm_ops)'
        )


def _v8_pg_trgm_schema(connection: Connection) -> str | None:
    return connection.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    ).scalar_one_or_none()


# Version 9: the `created` windows of a first sync, so a sync fetching them side by side
# resumes each one at its own cursor.


@migration(9, "mirror_sync_windows: per-window cursors of a first sync fetched concurrently")
def _add_sync_windows(connection: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "mirror_sync_windows",
        metadata,
        sa.Column("account_key", sa.String(255), primary_key=True),
        sa.Column("resource", sa.String(32), primary_key=True),
        sa.Column("created_before", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("created_from", sa.BigInteger(), nullable=False),
        sa.Column("cursor", sa.String(255), nullable=True),
        sa.Column("cursor_created", sa.BigInteger(), nullable=True),
        sa.Column("objects", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("finished", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            sql_in_list("resource", _V4_RESOURCES),
            name="mirror_sync_windows_resource_check",
        ),
    )
    metadata.create_all(connection)
