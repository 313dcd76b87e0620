"""Database URL resolution, engine settings, the engine cache, and concurrent SQLite writers."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from lib.config import get_settings
from lib.store import (
    UnsupportedDatabaseError,
    create_db_engine,
    current_version,
    get_engine,
    latest_version,
    migrate,
    resolve_database_url,
)
from lib.store.tables import webhook_events

PASSWORD = "s3cr3t-Pa55word"


def test_default_database_is_a_sqlite_file_in_the_app_data_dir(isolated_settings: Path) -> None:
    data_dir = isolated_settings / "nested" / "data"
    settings = get_settings().model_copy(update={"app_data_dir": data_dir})

    url = resolve_database_url(settings)

    assert url == f"sqlite:///{data_dir.resolve() / 'dashboard.db'}"
    assert data_dir.is_dir()


@pytest.mark.parametrize(
    "given",
    [
        f"postgres://app:{PASSWORD}@db.example:5432/dash",
        f"postgresql://app:{PASSWORD}@db.example:5432/dash",
        f"postgresql+psycopg://app:{PASSWORD}@db.example:5432/dash",
    ],
)
def test_database_url_uses_psycopg3_for_postgres(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    get_settings.cache_clear()

    url = resolve_database_url(get_settings())

    assert url == f"postgresql+psycopg://app:{PASSWORD}@db.example:5432/dash"


def test_blank_database_url_falls_back_to_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "  ")
    get_settings.cache_clear()

    assert resolve_database_url(get_settings()).startswith("sqlite:///")


def test_other_databases_are_refused_without_showing_the_url() -> None:
    with pytest.raises(UnsupportedDatabaseError) as raised:
        create_db_engine(f"mysql://app:{PASSWORD}@db.example/dash")

    assert "mysql" in str(raised.value)
    assert PASSWORD not in str(raised.value)


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            busy = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    finally:
        engine.dispose()

    assert (journal, busy, foreign_keys) == ("wal", 5000, 1)


def test_sqlite_transactions_roll_back_as_a_whole(sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url)
    migrate(engine)
    try:
        with pytest.raises(RuntimeError), engine.begin() as connection:
            connection.execute(webhook_events.insert().values(_event(0)))
            raise RuntimeError("handler failed")
        with engine.connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(webhook_events))
            assert count.scalar() == 0
    finally:
        engine.dispose()


def test_twenty_threads_write_to_sqlite_at_once_without_lock_errors(sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url)
    migrate(engine)
    threads_count, per_thread = 20, 25
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        start.wait()
        try:
            for n in range(per_thread):
                # Read-then-write, as a deduplicating webhook receiver does.
                with engine.begin() as connection:
                    event = _event(worker * per_thread + n)
                    seen = connection.execute(
                        sa.select(webhook_events.c.id).where(
                            webhook_events.c.event_id == event["event_id"]
                        )
                    ).first()
                    if seen is None:
                        connection.execute(webhook_events.insert().values(event))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(threads_count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    try:
        with engine.connect() as connection:
            stored = connection.execute(sa.select(sa.func.count()).select_from(webhook_events))
            assert stored.scalar() == threads_count * per_thread
    finally:
        engine.dispose()

    assert errors == []
    assert elapsed < 30


def test_get_engine_returns_one_migrated_engine_per_url(sqlite_url: str) -> None:
    engine = get_engine(sqlite_url)

    assert get_engine(sqlite_url) is engine
    with engine.connect() as connection:
        assert current_version(connection) == latest_version()


def test_get_engine_defaults_to_the_sqlite_file_from_settings(isolated_settings: Path) -> None:
    engine = get_engine()

    assert engine.url.database == str(isolated_settings.resolve() / "dashboard.db")
    assert (isolated_settings / "dashboard.db").is_file()


def test_postgres_password_never_shows_in_reprs_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Port 1 on loopback refuses at once: the connection error path is exercised offline.
    url = f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:1/dash?connect_timeout=2"
    caplog.set_level(logging.DEBUG)

    engine: Engine = create_db_engine(url)
    with pytest.raises(OperationalError) as raised:
        get_engine(url)

    shown = [repr(engine), str(engine.url), str(raised.value), repr(raised.value), caplog.text]
    assert all(PASSWORD not in text for text in shown)
    engine.dispose()


def _event(n: int) -> dict[str, object]:
    return {
        "provider": "stripe",
        "event_id": f"evt_{n:06d}",
        "event_type": "charge.succeeded",
        "payload": json.dumps({"id": f"evt_{n:06d}"}),
    }
