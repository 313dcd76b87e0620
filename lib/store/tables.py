"""The current database schema as SQLAlchemy Core tables (migrations.py builds it step by step)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

PROVIDER_NAMES: tuple[str, ...] = (
    "github",
    "jira",
    "slack",
    "linear",
    "calendar",
    "stripe",
    "twilio",
)
CONNECTION_STATUSES: tuple[str, ...] = ("connected", "needs_reconnect")
WEBHOOK_EVENT_SOURCES: tuple[str, ...] = ("webhook", "poll", "workflow")
WEBHOOK_EVENT_STATUSES: tuple[str, ...] = ("pending", "processed", "failed")
MAX_ERROR_TEXT_LENGTH = 1000
"""Characters of error text kept in a row (`last_error`, `processing_error`); the rest is cut."""


def sql_in_list(column: str, values: tuple[str, ...]) -> str:
    """The SQL text `column IN ('a', 'b')` for a CHECK constraint over fixed words."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive datetimes are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware value")
        utc = value.astimezone(UTC)
        # SQLite has no time zone type: store UTC wall time so text comparisons order correctly.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def row_id_type() -> sa.types.TypeEngine[int]:
    """BIGINT on PostgreSQL; INTEGER on SQLite, where only that spelling auto-increments."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


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
        sql_in_list("provider", PROVIDER_NAMES), name="user_credentials_provider_check"
    ),
    sa.CheckConstraint(
        sql_in_list("status", CONNECTION_STATUSES), name="user_credentials_status_check"
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
        sql_in_list("provider", PROVIDER_NAMES), name="webhook_events_provider_check"
    ),
    sa.CheckConstraint(
        sql_in_list("source", WEBHOOK_EVENT_SOURCES), name="webhook_events_source_check"
    ),
    sa.CheckConstraint(
        sql_in_list("status", WEBHOOK_EVENT_STATUSES), name="webhook_events_status_check"
    ),
    sa.Index("ix_webhook_events_status_id", "status", "id"),
    sa.Index("ix_webhook_events_mesh_name_id", "mesh_name", "id"),
    sa.Index("ix_webhook_events_received_at", "received_at"),
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
    sa.Column("client_ref", sa.String(64), nullable=True),
    sa.CheckConstraint(sql_in_list("provider", PROVIDER_NAMES), name="oauth_states_provider_check"),
    sa.Index("ix_oauth_states_expires_at", "expires_at"),
    sa.Index("ix_oauth_states_client_ref_expires_at", "client_ref", "expires_at"),
)

webhook_rejection_counts = sa.Table(
    "webhook_rejection_counts",
    metadata,
    sa.Column("provider", sa.String(32), primary_key=True),
    sa.Column("reason", sa.String(64), primary_key=True),
    sa.Column("hour", UtcDateTime(), primary_key=True),
    sa.Column("deliveries", sa.BigInteger(), nullable=False),
    sa.CheckConstraint(
        sql_in_list("provider", PROVIDER_NAMES), name="webhook_rejection_counts_provider_check"
    ),
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

# The local mirror of each Stripe account (one copy per `StripeAccount.key`, migration 4).

MIRROR_RESOURCES: tuple[str, ...] = ("customers", "charges", "refunds", "subscriptions")
MIRROR_OBJECT_TYPES: tuple[str, ...] = ("customer", "charge", "refund", "subscription")

mirror_objects = sa.Table(
    "mirror_objects",
    metadata,
    sa.Column("account_key", sa.String(255), primary_key=True),
    sa.Column("object_type", sa.String(32), primary_key=True),
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("raw", sa.Text(), nullable=False),
    sa.Column("state_at", sa.BigInteger(), nullable=False),
    sa.CheckConstraint(
        sql_in_list("object_type", MIRROR_OBJECT_TYPES), name="mirror_objects_object_type_check"
    ),
)

mirror_customers = sa.Table(
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

mirror_charges = sa.Table(
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
    # Each sort's columns then the id, as the page query orders (so a page is read in index
    # order and stops at its last row); the rest make totals over a range covering scans.
    sa.Index(
        "ix_mirror_charges_account_created_id",
        "account_key",
        "created",
        "id",
        "currency",
        "status",
        "amount",
        "amount_refunded",
    ),
    sa.Index(
        "ix_mirror_charges_account_status_created_id",
        "account_key",
        "status",
        "created",
        "id",
        "currency",
        "amount",
        "amount_refunded",
    ),
    sa.Index(
        "ix_mirror_charges_account_currency_created_id",
        "account_key",
        "currency",
        "created",
        "id",
        "status",
        "amount",
        "amount_refunded",
    ),
    sa.Index("ix_mirror_charges_account_status_id", "account_key", "status", "id"),
    sa.Index("ix_mirror_charges_account_customer", "account_key", "customer_id"),
    sa.Index("ix_mirror_charges_account_brand", "account_key", "card_brand"),
)

# Sorting by amount goes currency A to Z, then amount and id in the chosen direction: one index
# per direction. Sorting by customer orders by the name shown.
sa.Index(
    "ix_mirror_charges_account_currency_amount_id",
    mirror_charges.c.account_key,
    mirror_charges.c.currency,
    mirror_charges.c.amount,
    mirror_charges.c.id,
)
sa.Index(
    "ix_mirror_charges_account_currency_amount_desc_id_desc",
    mirror_charges.c.account_key,
    mirror_charges.c.currency,
    mirror_charges.c.amount.desc(),
    mirror_charges.c.id.desc(),
)
sa.Index(
    "ix_mirror_charges_account_customer_shown_id",
    mirror_charges.c.account_key,
    sa.func.coalesce(mirror_charges.c.customer_email, mirror_charges.c.customer_name),
    mirror_charges.c.id,
)

mirror_charge_days = sa.Table(
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
    sqlite_with_rowid=False,
)
"""Totals of mirror_charges per account, UTC day (`day`: its first second) and the values the
charge filters test, kept by triggers in the transaction of every write to mirror_charges
(migration 8). `card_brand` is '' for none, `failure_code` 'unknown' for none (as the failures
chart names it), `refund_sign` the sign of amount_refunded. `amount` and `amount_refunded` sum
the charges within ±10^12 minor units; `unsummed` counts the others, which readers total from
mirror_charges itself. A key whose last charge goes is deleted: no row has `charges` 0."""

MIRROR_CHARGES_SEARCH = "mirror_charges_search"
"""SQLite only: the FTS5 trigram index of mirror_charges' search_text and customer_text, by
rowid (migration 8; absent where SQLite lacks FTS5). PostgreSQL has pg_trgm GIN indexes on the
same columns instead."""

mirror_refunds = sa.Table(
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

mirror_subscriptions = sa.Table(
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

mirror_sync_state = sa.Table(
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
        sql_in_list("resource", MIRROR_RESOURCES), name="mirror_sync_state_resource_check"
    ),
)

mirror_sync_windows = sa.Table(
    # The `created` windows of a first sync fetched side by side (migration 9), by the exclusive
    # upper bound that names each window for its life; deleted once the resource is complete.
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
        sql_in_list("resource", MIRROR_RESOURCES), name="mirror_sync_windows_resource_check"
    ),
)

mirror_event_cursors = sa.Table(
    "mirror_event_cursors",
    metadata,
    sa.Column("account_key", sa.String(255), primary_key=True),
    sa.Column("last_row_id", sa.BigInteger(), nullable=False),
    sa.Column("applied_at", UtcDateTime(), nullable=False),
)

# Admin actions and refused attempts (migration 6); written by `lib.auth.audit`.

AUDIT_RESULTS: tuple[str, ...] = ("succeeded", "failed", "refused")

audit_log = sa.Table(
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
    sa.CheckConstraint(sql_in_list("result", AUDIT_RESULTS), name="audit_log_result_check"),
    sa.Index("ix_audit_log_occurred_at", "occurred_at"),
    sa.Index("ix_audit_log_actor_occurred_at", "actor", "occurred_at"),
    sa.Index("ix_audit_log_action_occurred_at", "action", "occurred_at"),
)


# Workflow runs (migration 7); written by `lib.workflows.store`.

WORKFLOW_RUN_STATUSES: tuple[str, ...] = (
    "pending",
    "running",
    "succeeded",
    "skipped",
    "failed",
    "dead",
    "unknown",
    "cancelled",
)
WORKFLOW_STEP_STATUSES: tuple[str, ...] = (
    "sending",
    "succeeded",
    "dry_run",
    "skipped",
    "waiting",
    "failed",
    "unknown",
)

workflow_switches = sa.Table(
    "workflow_switches",
    metadata,
    sa.Column("workflow_id", sa.String(128), primary_key=True),
    sa.Column("live", sa.Boolean(), nullable=False),
    sa.Column("changed_at", UtcDateTime(), nullable=False),
    sa.Column("changed_by", sa.String(320), nullable=True),
)

workflow_runs = sa.Table(
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
        sql_in_list("status", WORKFLOW_RUN_STATUSES), name="workflow_runs_status_check"
    ),
    sa.Index("ix_workflow_runs_status_next_attempt_at", "status", "next_attempt_at"),
    sa.Index("ix_workflow_runs_created_at", "created_at"),
)

workflow_steps = sa.Table(
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
        sql_in_list("status", WORKFLOW_STEP_STATUSES), name="workflow_steps_status_check"
    ),
)

workflow_limits = sa.Table(
    "workflow_limits",
    metadata,
    sa.Column("workflow_id", sa.String(128), primary_key=True),
    sa.Column("limit_key", sa.String(255), primary_key=True),
    sa.Column("run_id", sa.BigInteger(), nullable=False),
    sa.Column("taken_at", UtcDateTime(), nullable=False),
)
