"""Which database to use, how to connect to it, and one migrated engine per URL per process."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from lib.config import Settings, get_settings
from lib.store.migrations import migrate

SQLITE_FILE_NAME = "dashboard.db"
SQLITE_BUSY_TIMEOUT_MS = 5000
_POSTGRES_SCHEMES = ("postgres", "postgresql")
SNAPSHOT_READ = "snapshot_read"
"""Execution option for a long read-only connection (an export streaming for minutes): on
SQLite its transaction starts deferred, a WAL snapshot that never blocks writers, instead of
taking the write lock; PostgreSQL ignores it."""

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class UnsupportedDatabaseError(ValueError):
    """DATABASE_URL names a database other than PostgreSQL or SQLite."""


def resolve_database_url(settings: Settings) -> str:
    """The SQLAlchemy URL to use: DATABASE_URL (PostgreSQL through psycopg 3) when set,
    else a SQLite file `dashboard.db` in the app data directory, which is created if missing."""
    if settings.database_url is not None:
        url = make_url(settings.database_url.get_secret_value().strip())
        if url.drivername in _POSTGRES_SCHEMES:
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    data_dir = settings.app_data_dir.expanduser().resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / SQLITE_FILE_NAME}"


def create_db_engine(url: str) -> Engine:
    """An engine for `url`. SQLite gets WAL, a 5 s busy timeout, foreign keys and write-locking
    transactions so many threads can write at once; PostgreSQL gets connection pre-ping."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _configure_sqlite_connection)
        sa.event.listen(engine, "begin", _begin_immediate)
        return engine
    if backend == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True)
    raise UnsupportedDatabaseError(
        f"unsupported database {backend!r}: DATABASE_URL must be a PostgreSQL URL, "
        "or leave it unset to use the built-in SQLite file"
    )


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take over BEGIN from the sqlite3 driver so _begin_immediate decides how transactions start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    # SQLite answers "locked" at once, without the busy handler, while another connection
    # holds a lock on a file still in rollback mode: retry within the busy timeout.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _begin_immediate(connection: sa.Connection) -> None:
    # Taking the write lock up front lets busy_timeout queue writers; a deferred transaction that
    # reads then writes fails at once with "database is locked" when another writer got there first.
    # A snapshot read never writes, so it must not hold the write lock while it streams.
    if connection.get_execution_options().get(SNAPSHOT_READ):
        connection.exec_driver_sql("BEGIN DEFERRED")
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default: from settings), migrated on first use."""
    resolved = url if url is not None else resolve_database_url(get_settings())
    with _engines_lock:
        engine = _engines.get(resolved)
        if engine is None:
            engine = create_db_engine(resolved)
            try:
                migrate(engine)
            except BaseException:
                engine.dispose()
                raise
            _engines[resolved] = engine
        return engine


def dispose_engines() -> None:
    """Close and forget every cached engine (tests and shutdown)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
