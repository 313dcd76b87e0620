"""Schema migrations on SQLite and PostgreSQL: fresh install, re-run, upgrade with data, races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

from lib.auth import WORKSPACE_USER_ID
from lib.store import SchemaTooNewError, create_db_engine, current_version, latest_version, migrate
from lib.store.migrations import schema_version
from lib.store.tables import (
    MIRROR_CHARGES_SEARCH,
    audit_log,
    metadata,
    oauth_states,
    user_credentials,
    webhook_events,
    webhook_rejection_counts,
)

SEED_TABLES = {"user_credentials", "webhook_events"}
SHADOWS = ("data", "idx", "docsize", "config")


@pytest.fixture
def empty_engine(db_url: str) -> Engine:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


def test_migrate_builds_the_latest_schema_from_an_empty_database(empty_engine: Engine) -> None:
    version = migrate(empty_engine)

    assert version == latest_version()
    inspector = sa.inspect(empty_engine)
    # SQLite's FTS5 search index of charges is a virtual table with its shadow tables.
    search = {MIRROR_CHARGES_SEARCH, *(f"{MIRROR_CHARGES_SEARCH}_{part}" for part in SHADOWS)}
    expected_search = search if empty_engine.dialect.name == "sqlite" else set()
    assert set(inspector.get_table_names()) == {
        *metadata.tables,
        "schema_version",
        *expected_search,
    }
    with empty_engine.connect() as connection:
        applied = connection.execute(
            sa.select(schema_version.c.version).order_by(schema_version.c.version)
        ).scalars()
        assert list(applied) == list(range(1, latest_version() + 1))


def test_migrated_schema_is_the_one_tables_py_describes(empty_engine: Engine) -> None:
    migrate(empty_engine)
    inspector = sa.inspect(empty_engine)

    for table in metadata.tables.values():
        found = {column["name"]: column["nullable"] for column in inspector.get_columns(table.name)}
        assert found == {column.name: column.nullable for column in table.columns}, table.name
        assert {index.name for index in table.indexes} <= index_names(empty_engine, table.name)


def index_names(engine: Engine, table: str) -> set[str]:
    """The table's index names (SQLAlchemy does not reflect SQLite's indexes on expressions)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
            )
            return set(rows.scalars())
        inspector = sa.inspect(connection)
        return {str(index["name"]) for index in inspector.get_indexes(table)}


def test_migrate_twice_changes_nothing(empty_engine: Engine) -> None:
    migrate(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(webhook_events.insert().values(_webhook_row("evt_1", "stripe")))

    assert migrate(empty_engine) == latest_version()
    with empty_engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(schema_version)).scalar()
            == latest_version()
        )
        assert connection.execute(sa.select(webhook_events.c.event_id)).scalars().all() == ["evt_1"]


def test_upgrade_from_version_1_keeps_every_row_and_then_accepts_twilio(
    empty_engine: Engine,
) -> None:
    assert migrate(empty_engine, target=1) == 1
    created = datetime(2024, 6, 20, 9, 30, tzinfo=UTC)
    v1 = sa.MetaData()
    v1_credentials = sa.Table("user_credentials", v1, autoload_with=empty_engine)
    v1_events = sa.Table("webhook_events", v1, autoload_with=empty_engine)
    with empty_engine.begin() as connection:
        credential_ids = [
            connection.execute(
                v1_credentials.insert().values(
                    user_id=user_id,
                    provider=provider,
                    credentials=blob,
                    created_at=created,
                    updated_at=created,
                )
            ).inserted_primary_key[0]
            for user_id, provider, blob in [("u1", "stripe", "blob-1"), ("u2", "github", "blob-2")]
        ]
        event_ids = [
            connection.execute(
                v1_events.insert().values(
                    {
                        **_webhook_row(event_id, provider),
                        "payload": '{"ok": true}',
                        "received_at": created,
                    }
                )
            ).inserted_primary_key[0]
            for event_id, provider in [("evt_a", "stripe"), ("evt_b", "slack")]
        ]
    with pytest.raises(IntegrityError), empty_engine.begin() as connection:
        connection.execute(v1_events.insert().values(_webhook_row("evt_t", "twilio")))

    assert migrate(empty_engine) == latest_version()

    with empty_engine.begin() as connection:
        kept = connection.execute(
            sa.select(
                user_credentials.c.id,
                user_credentials.c.user_id,
                user_credentials.c.provider,
                user_credentials.c.credentials,
                user_credentials.c.created_at,
                user_credentials.c.status,
                user_credentials.c.account_ref,
            ).order_by(user_credentials.c.id)
        ).all()
        assert [tuple(row) for row in kept] == [
            (credential_ids[0], "u1", "stripe", "blob-1", created, "connected", None),
            (credential_ids[1], "u2", "github", "blob-2", created, "connected", None),
        ]
        events = connection.execute(
            sa.select(
                webhook_events.c.id,
                webhook_events.c.event_id,
                webhook_events.c.payload,
                webhook_events.c.received_at,
            ).order_by(webhook_events.c.id)
        ).all()
        assert [tuple(row) for row in events] == [
            (event_ids[0], "evt_a", '{"ok": true}', created),
            (event_ids[1], "evt_b", '{"ok": true}', created),
        ]
        connection.execute(webhook_events.insert().values(_webhook_row("evt_t", "twilio")))
        connection.execute(
            user_credentials.insert().values(
                user_id="u1", provider="twilio", credentials="blob-3", account_ref="AC123"
            )
        )
        added = connection.execute(webhook_events.insert().values(_webhook_row("evt_n", "stripe")))
        assert added.inserted_primary_key[0] not in event_ids


@pytest.mark.parametrize("table", [user_credentials, webhook_events, oauth_states])
def test_unknown_provider_is_rejected_by_the_database(engine: Engine, table: sa.Table) -> None:
    rows = {
        "user_credentials": {"user_id": "u1", "provider": "paypal", "credentials": "x"},
        "webhook_events": _webhook_row("evt_1", "paypal"),
        "oauth_states": {
            "state_hash": "0" * 64,
            "provider": "paypal",
            "user_id": "u1",
            "created_at": datetime.now(UTC),
            "expires_at": datetime.now(UTC),
        },
    }
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(table.insert().values(rows[table.name]))


def test_unknown_connection_status_is_rejected_by_the_database(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            user_credentials.insert().values(
                user_id="u1", provider="stripe", credentials="x", status="broken"
            )
        )


def test_two_processes_migrating_at_once_both_succeed(db_url: str) -> None:
    engines = [create_db_engine(db_url) for _ in range(2)]
    start = threading.Barrier(len(engines))
    results: list[int | BaseException] = []

    def run(engine: Engine) -> None:
        start.wait()
        try:
            results.append(migrate(engine))
        except BaseException as exc:
            results.append(exc)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engines[0].connect() as connection:
        versions = connection.execute(sa.select(schema_version.c.version)).scalars().all()
    for engine in engines:
        engine.dispose()

    assert results == [latest_version()] * 2
    assert sorted(versions) == list(range(1, latest_version() + 1))


def test_a_database_from_a_newer_app_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            schema_version.insert().values(
                version=99, description="from the future", applied_at=datetime.now(UTC)
            )
        )

    with pytest.raises(SchemaTooNewError, match="version 99 is newer"):
        migrate(engine)
    with engine.connect() as connection:
        assert current_version(connection) == 99


def _webhook_row(event_id: str, provider: str) -> dict[str, str]:
    return {
        "provider": provider,
        "event_id": event_id,
        "event_type": "test.event",
        "payload": "{}",
    }


def test_upgrade_to_version_5_turns_each_refusal_into_a_count_in_its_utc_hour(
    db_url: str,
) -> None:
    # A half-hour time zone on PostgreSQL: hours must still be cut in UTC.
    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        options = f"{url.query['options']} -ctimezone=Asia/Kolkata"
        url = url.update_query_dict({"options": options})
    engine = create_db_engine(url.render_as_string(hide_password=False))
    assert migrate(engine, target=4) == 4
    v4 = sa.MetaData()
    refusals = sa.Table("webhook_rejections", v4, autoload_with=engine)
    v4_states = sa.Table("oauth_states", v4, autoload_with=engine)
    received = [
        ("bad_signature", datetime(2026, 3, 1, 9, 5, tzinfo=UTC)),
        ("bad_signature", datetime(2026, 3, 1, 9, 59, 59, 999999, tzinfo=UTC)),
        ("bad_signature", datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        ("missing_signature", datetime(2026, 3, 1, 9, 40, tzinfo=UTC)),
    ]
    expires = datetime(2026, 3, 1, 9, 10, tzinfo=UTC)
    with engine.begin() as connection:
        for reason, at in received:
            connection.execute(
                refusals.insert().values(provider="stripe", reason=reason, received_at=at)
            )
        connection.execute(
            v4_states.insert().values(
                state_hash="a" * 64,
                provider="stripe",
                user_id="browser",
                created_at=expires - timedelta(minutes=10),
                expires_at=expires,
            )
        )

    assert migrate(engine) == latest_version()

    with engine.connect() as connection:
        counts = connection.execute(
            sa.select(
                webhook_rejection_counts.c.provider,
                webhook_rejection_counts.c.reason,
                webhook_rejection_counts.c.hour,
                webhook_rejection_counts.c.deliveries,
            ).order_by(webhook_rejection_counts.c.hour, webhook_rejection_counts.c.reason)
        ).all()
        states = connection.execute(
            sa.select(
                oauth_states.c.state_hash, oauth_states.c.expires_at, oauth_states.c.client_ref
            )
        ).all()
    engine.dispose()
    nine, ten = datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert [tuple(row) for row in counts] == [
        ("stripe", "bad_signature", nine, 2),
        ("stripe", "missing_signature", nine, 1),
        ("stripe", "bad_signature", ten, 1),
    ]
    assert [tuple(row) for row in states] == [("a" * 64, expires, None)]


def test_upgrade_to_version_6_adds_an_empty_audit_log_and_keeps_the_workspace_connection(
    db_url: str,
) -> None:
    engine = create_db_engine(db_url)
    assert migrate(engine, target=5) == 5
    v5_credentials = sa.Table("user_credentials", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(
            v5_credentials.insert().values(
                user_id="local", provider="stripe", credentials="encrypted-blob"
            )
        )

    assert migrate(engine) == latest_version()

    with engine.connect() as connection:
        owners = connection.execute(sa.select(user_credentials.c.user_id)).scalars().all()
        logged = connection.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()
    engine.dispose()
    # The workspace's connections are the rows the app always stored under "local".
    assert owners == [WORKSPACE_USER_ID] == ["local"]
    assert logged == 0
