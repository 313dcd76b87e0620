"""One holder at a time, across app processes, for each background job: `JobLock`.

Several app processes may share one PostgreSQL database (see the README's "Several app
processes"). A job that must not run twice at once (the mirror sync of an account, the Events
API poll, the webhook worker's pass, the housekeeping purge) holds its lock while it runs:

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) taken on a connection of
  its own, in autocommit mode so no transaction stays open while the job runs. The lock dies
  with that connection, so a holder that crashed, was killed or lost the database never blocks
  the job for longer than it takes PostgreSQL to notice the connection is gone. The key is
  derived from the schema and the job's name: apps in other schemas of one database (the test
  suite's, for one) do not block each other.
- SQLite: one app process per database file (its write lock is per file, and the README says
  so), so the lock is only between the threads of this process.

Either way a second `JobLock` with the same name in this process is refused while one is held.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

LOCK_RETRY_SECONDS = 0.05
"""How often `acquire(timeout=...)` tries again while another holder has the lock."""
LIVENESS_CHECK_SECONDS = 2.0
"""How often `still_held` asks the database whether the lock's connection is alive."""

# The advisory lock key: 64 bits of md5(schema/name), computed by the server so that it uses
# the schema the connection actually works in (its search_path).
_KEY = (
    "('x' || substr(md5(coalesce(current_schema(), '') || '/' || :name), 1, 16))::bit(64)::bigint"
)
_TRY_LOCK = sa.text(f"SELECT pg_try_advisory_lock({_KEY})")
_UNLOCK = sa.text(f"SELECT pg_advisory_unlock({_KEY})")
# pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low), objsubid 1.
_HELD_BY_ANYONE = sa.text(
    f"""
    WITH job AS (SELECT {_KEY} AS key)
    SELECT EXISTS (
        SELECT 1 FROM pg_locks, job
        WHERE pg_locks.locktype = 'advisory'
          AND pg_locks.granted
          AND pg_locks.objsubid = 1
          AND pg_locks.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND pg_locks.classid = ((job.key >> 32) & 4294967295)::oid
          AND pg_locks.objid = (job.key & 4294967295)::oid
    )
    """
)

_held_here: set[tuple[str, str]] = set()
_held_here_lock = threading.Lock()


class JobLock:
    """The lock of the job `name` on `engine`'s database; `acquire` never waits longer than
    asked, `release` gives it back (also when its connection is gone)."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self.name = name
        self._local_key = (engine.url.render_as_string(hide_password=True), name)
        self._connection: Connection | None = None
        self._held = False
        self._checked_at = 0.0
        self._check_lock = threading.Lock()

    @property
    def held(self) -> bool:
        """Whether this object holds the lock (until `release`)."""
        return self._held

    def acquire(self, timeout: float = 0.0) -> bool:
        """Take the lock unless another holder has it; with `timeout`, keep trying that many
        seconds. True when this object now holds it."""
        if self._held:
            return True
        deadline = time.monotonic() + timeout
        while not self._try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(LOCK_RETRY_SECONDS)
        self._held = True
        self._checked_at = time.monotonic()
        return True

    def release(self) -> None:
        """Give the lock back; nothing when it is not held."""
        if not self._held:
            return
        self._held = False
        try:
            if self._connection is not None:
                self._unlock_and_close(self._connection)
        finally:
            self._connection = None
            self._forget_here()

    def still_held(self) -> bool:
        """Whether the lock is still ours: on PostgreSQL, whether its connection still answers
        (asked at most every LIVENESS_CHECK_SECONDS; a lost connection lost the lock)."""
        if not self._held:
            return False
        connection = self._connection
        if connection is None:
            return True
        with self._check_lock:
            if time.monotonic() - self._checked_at < LIVENESS_CHECK_SECONDS:
                return True
            try:
                connection.execute(sa.text("SELECT 1"))
            except sa.exc.SQLAlchemyError:
                return False
            self._checked_at = time.monotonic()
            return True

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def _try_acquire(self) -> bool:
        with _held_here_lock:
            if self._local_key in _held_here:
                return False
            _held_here.add(self._local_key)
        try:
            acquired = self._engine.dialect.name != "postgresql" or self._take_advisory_lock()
        except BaseException:
            self._forget_here()
            raise
        if not acquired:
            self._forget_here()
        return acquired

    def _take_advisory_lock(self) -> bool:
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = bool(connection.execute(_TRY_LOCK, {"name": self.name}).scalar_one())
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        if taken:
            self._connection = connection
        else:
            connection.close()
        return taken

    def _forget_here(self) -> None:
        with _held_here_lock:
            _held_here.discard(self._local_key)

    def _unlock_and_close(self, connection: Connection) -> None:
        try:
            connection.execute(_UNLOCK, {"name": self.name})
        except sa.exc.SQLAlchemyError:
            # The connection is gone, and the lock with it; never pool a connection in doubt.
            connection.invalidate()
        finally:
            connection.close()


@contextmanager
def exclusive(engine: Engine, name: str, timeout: float = 0.0) -> Iterator[bool]:
    """Hold the job `name`'s lock for the block when it can be had within `timeout` seconds:
    yields True when held (released at the end of the block), False when another holder has
    it (the block should then skip the job)."""
    lock = JobLock(engine, name)
    acquired = lock.acquire(timeout)
    try:
        yield acquired
    finally:
        lock.release()


def job_running(engine: Engine, name: str) -> bool:
    """Whether any process (this one included) holds the job `name`'s lock right now; reads
    only, so asking never gets in the way of a holder starting."""
    if engine.dialect.name != "postgresql":
        with _held_here_lock:
            return (engine.url.render_as_string(hide_password=True), name) in _held_here
    with engine.connect() as connection:
        return bool(connection.execute(_HELD_BY_ANYONE, {"name": name}).scalar_one())
