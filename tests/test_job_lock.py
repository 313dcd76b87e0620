"""One holder at a time per background job (`lib.store.singleton`), on SQLite and PostgreSQL:
a second holder is refused while the first holds the lock, and on PostgreSQL a holder whose
process dies (or whose connection is cut) no longer blocks the job; what the mirror sync and
the Events API poll build on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine, make_url

import lib.store.singleton
from lib.accounts import demo_account
from lib.config import PROJECT_ROOT
from lib.store import create_db_engine
from lib.store.singleton import JobLock, exclusive, job_running
from lib.sync import SyncJobs, SyncProgress, SyncReport, sync_lock, sync_running_elsewhere
from lib.webhooks.poller import poll_if_due
from tests.conftest import _libpq_conninfo

HOLDER = """
import sys, time
from lib.store import create_db_engine
from lib.store.singleton import JobLock
lock = JobLock(create_db_engine(sys.argv[1]), "nightly-job")
print("held" if lock.acquire() else "refused", flush=True)
time.sleep(120)
"""


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """An engine on this test's PostgreSQL schema."""
    engine = create_db_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def liveness_asked_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """`JobLock.still_held` asks the database on every call."""
    monkeypatch.setattr(lib.store.singleton, "LIVENESS_CHECK_SECONDS", 0.0)


def test_a_second_holder_is_refused_until_the_first_releases(engine: Engine) -> None:
    first, second = JobLock(engine, "nightly-job"), JobLock(engine, "nightly-job")

    assert first.acquire()
    assert job_running(engine, "nightly-job")
    assert not second.acquire()
    assert not second.acquire(timeout=0.2)
    assert JobLock(engine, "another-job").acquire()  # other jobs are not held up
    with exclusive(engine, "nightly-job") as ours:
        assert not ours
    first.release()

    assert not job_running(engine, "nightly-job")
    assert second.acquire()
    second.release()


def test_a_waiting_acquirer_gets_the_lock_when_it_is_released(engine: Engine) -> None:
    holder = JobLock(engine, "nightly-job")
    assert holder.acquire()
    threading.Timer(0.3, holder.release).start()

    waiter = JobLock(engine, "nightly-job")
    assert waiter.acquire(timeout=10)
    waiter.release()


@pytest.mark.postgres
def test_a_lock_held_by_a_killed_process_is_free_again(
    postgres_url: str, postgres_engine: Engine, tmp_path: Path
) -> None:
    engine = postgres_engine
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, postgres_url],
        cwd=PROJECT_ROOT,
        env={**os.environ, "APP_DATA_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert job_running(engine, "nightly-job")
        assert not JobLock(engine, "nightly-job").acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)

    after_crash = JobLock(engine, "nightly-job")
    assert after_crash.acquire(timeout=10)
    after_crash.release()


@pytest.mark.postgres
@pytest.mark.usefixtures("liveness_asked_every_time")
def test_a_holder_whose_connection_was_cut_knows_it_lost_the_lock(
    postgres_url: str, postgres_engine: Engine
) -> None:
    engine = postgres_engine
    lock = JobLock(engine, "nightly-job")
    assert lock.acquire()
    assert lock.still_held()

    _terminate_lock_holders(postgres_url, "nightly-job")

    assert not lock.still_held()
    assert not job_running(engine, "nightly-job")  # free for another process to take
    lock.release()  # the cut connection is dropped, not pooled
    other = JobLock(engine, "nightly-job")
    assert other.acquire()
    other.release()


@pytest.mark.postgres
def test_apps_in_other_schemas_of_one_database_do_not_block_each_other(
    postgres_url: str,
) -> None:
    engine = create_db_engine(postgres_url)
    elsewhere_url = make_url(postgres_url).update_query_dict({"options": "-csearch_path=public"})
    elsewhere = create_db_engine(elsewhere_url.render_as_string(hide_password=False))
    lock = JobLock(engine, "nightly-job")
    assert lock.acquire()

    assert not job_running(elsewhere, "nightly-job")
    with exclusive(elsewhere, "nightly-job") as ours:
        assert ours
    lock.release()
    engine.dispose()
    elsewhere.dispose()


def test_a_sync_holding_the_account_lock_is_not_started_again_by_another_process(
    engine: Engine,
) -> None:
    here, there = SyncJobs(), SyncJobs()  # each app process has its own registry
    finish = threading.Event()

    def run(should_cancel: object, on_progress: object) -> SyncReport:
        finish.wait(10)
        return SyncReport("complete", objects=0, pages=0, requests=0, elapsed=0.0)

    job = here.start("acct_A", run, sync_lock(engine, "acct_A"))
    assert job is not None and job.running

    assert there.start("acct_A", run, sync_lock(engine, "acct_A")) is None
    assert sync_running_elsewhere(engine, there, "acct_A")
    assert not sync_running_elsewhere(engine, here, "acct_A")
    other_account = there.start("acct_B", run, sync_lock(engine, "acct_B"))
    assert other_account is not None

    finish.set()
    assert job.wait(10) and other_account.wait(10)
    assert not sync_running_elsewhere(engine, there, "acct_A")
    again = there.start("acct_A", run, sync_lock(engine, "acct_A"))
    assert again is not None and again.wait(10)


@pytest.mark.postgres
@pytest.mark.usefixtures("liveness_asked_every_time")
def test_a_sync_that_lost_its_lock_stops_before_its_next_request(
    postgres_url: str, postgres_engine: Engine
) -> None:
    engine = postgres_engine
    requests = 0

    def run(should_cancel: object, on_progress: object) -> SyncReport:
        nonlocal requests
        assert callable(should_cancel) and callable(on_progress)
        while not should_cancel():
            requests += 1
            on_progress(SyncProgress("charges", requests, requests, requests, 0.0))
            time.sleep(0.05)
        return SyncReport(
            "cancelled", objects=requests, pages=requests, requests=requests, elapsed=0
        )

    jobs = SyncJobs()
    job = jobs.start("acct_A", run, sync_lock(engine, "acct_A"))
    assert job is not None
    time.sleep(0.3)
    _terminate_lock_holders(postgres_url, "mirror-sync:acct_A")

    assert job.wait(10)
    assert job.report is not None and job.report.outcome == "cancelled"


def test_the_periodic_poll_skips_while_another_process_polled_within_the_interval(
    engine: Engine,
) -> None:
    account = demo_account()
    later = 0.0

    def clock() -> float:
        return time.time() + later

    first = poll_if_due(engine, account, 60, clock=clock)
    assert first is not None and first.error is None
    assert poll_if_due(engine, account, 60, clock=clock) is None  # the other process, too soon
    with exclusive(engine, f"events-poll:{account.key}"):  # a poll running elsewhere
        later = 120.0
        assert poll_if_due(engine, account, 60, clock=clock) is None
    assert poll_if_due(engine, account, 60, clock=clock) is not None


def _terminate_lock_holders(postgres_url: str, job: str) -> None:
    """Cut the connection holding `job`'s lock in this test's schema (a database that restarted,
    a network that dropped), from outside the app."""
    with psycopg.connect(_libpq_conninfo(postgres_url), autocommit=True) as admin:
        cut = admin.execute(
            """
            WITH job AS (
                SELECT (
                    'x' || substr(md5(coalesce(current_schema(), '') || '/' || %s), 1, 16)
                )::bit(64)::bigint AS key
            )
            SELECT pg_terminate_backend(pid) FROM pg_locks, job
            WHERE locktype = 'advisory' AND objsubid = 1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND classid = ((job.key >> 32) & 4294967295)::oid
              AND objid = (job.key & 4294967295)::oid
            """,
            (job,),
        ).fetchall()
    assert cut == [(True,)]
