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
WEBHOOK_EVENT_SOURCES: tuple[str, ...] = ("webhook", "poll")
WEBHOOK_EVENT_STATUSES: tuple[str, ...] = ("pending", "processed", "failed")


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
    sa.CheckConstraint(sql_in_list("provider", PROVIDER_NAMES), name="oauth_states_provider_check"),
    sa.Index("ix_oauth_states_expires_at", "expires_at"),
)

webhook_rejections = sa.Table(
    "webhook_rejections",
    metadata,
    sa.Column("id", row_id_type(), primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint(
        sql_in_list("provider", PROVIDER_NAMES), name="webhook_rejections_provider_check"
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
