"""Syncs running in the background, at most one per account, shared by every session.

A page starts a sync and returns at once; each rerun reads the job's latest progress, and the
Cancel button sets the flag the sync checks before its next request.

Across app processes on one PostgreSQL a sync holds the account's job lock (`sync_lock`) for
its whole run: a process whose start finds it held starts nothing, and its pages learn from
`sync_running_elsewhere` that another process syncs the account (progress: `sync_position`).
A sync whose lock's connection is lost stops before its next request, as if cancelled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.store.singleton import JobLock, job_running
from lib.store.tables import mirror_sync_state
from lib.sync.mirror import SYNC_ORDER, SyncProgress, SyncReport
from lib.sync.state import read_states
from lib.sync.store import Resource

log = logging.getLogger(__name__)

SyncRun = Callable[[Callable[[], bool], Callable[[SyncProgress], None]], SyncReport]
"""Runs one sync given `should_cancel` and `on_progress` (see `sync_mirror`)."""


@dataclass
class SyncJob:
    """One background sync of an account: its latest progress, and its report once done."""

    account_key: str
    started_at: float = field(default_factory=time.time)
    progress: SyncProgress | None = None
    report: SyncReport | None = None
    crashed: str | None = None
    """The exception type when the sync raised instead of reporting (details are logged)."""
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the sync to stop before its next request (it keeps every stored page)."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the sync has ended; False on timeout."""
        return self._done.wait(timeout)


class SyncJobs:
    """The process's background syncs by account key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, SyncJob] = {}

    def get(self, account_key: str) -> SyncJob | None:
        """The running or most recent sync of the account, if any since the process started."""
        with self._lock:
            return self._jobs.get(account_key)

    def start(self, account_key: str, run: SyncRun, lock: JobLock | None = None) -> SyncJob | None:
        """Start `run` in a thread unless a sync of the account is already running here (that
        one is returned instead). With `lock` (the account's `sync_lock`), the sync holds it
        for its run; None, and nothing started, when another process holds it."""
        with self._lock:
            current = self._jobs.get(account_key)
            if current is not None and current.running:
                return current
            if lock is not None and not lock.acquire():
                return None
            job = SyncJob(account_key)
            self._jobs[account_key] = job
        thread = threading.Thread(
            target=_run_job, args=(job, run, lock), name=f"sync-{account_key[:40]}", daemon=True
        )
        thread.start()
        return job


def _run_job(job: SyncJob, run: SyncRun, lock: JobLock | None) -> None:
    def record(progress: SyncProgress) -> None:
        job.progress = progress

    def should_stop() -> bool:
        return job._cancel.is_set() or (lock is not None and not lock.still_held())

    try:
        job.report = run(should_stop, record)
    except Exception as error:  # the page must learn that the sync died, not wait forever
        log.exception("mirror sync of an account crashed")
        job.crashed = type(error).__name__
    finally:
        try:
            if lock is not None:
                lock.release()
        finally:
            job._done.set()


def sync_job_name(account_key: str) -> str:
    """The job lock a sync of the account holds, in whichever process it runs."""
    return f"mirror-sync:{account_key}"


def sync_lock(engine: Engine, account_key: str) -> JobLock:
    """The lock to pass to `SyncJobs.start` for a sync of the account."""
    return JobLock(engine, sync_job_name(account_key))


def sync_running_elsewhere(engine: Engine, jobs: SyncJobs, account_key: str) -> bool:
    """Whether a sync of the account runs in another app process (one running in this process
    is in `jobs`)."""
    job = jobs.get(account_key)
    if job is not None and job.running:
        return False
    return job_running(engine, sync_job_name(account_key))


@dataclass(frozen=True)
class SyncPosition:
    """What the stored sync state says about a sync running elsewhere: the resource it reads
    (None when no run is open) and when it last stored a page."""

    resource: Resource | None
    last_page_at: datetime | None


def sync_position(engine: Engine, account_key: str) -> SyncPosition:
    """Where the account's sync is, as far as its stored state tells (progress of a sync in
    another process, whose counters live in that process)."""
    with engine.connect() as connection:
        states = read_states(connection, account_key)
        last_page_at = connection.execute(
            sa.select(sa.func.max(mirror_sync_state.c.updated_at)).where(
                mirror_sync_state.c.account_key == account_key
            )
        ).scalar_one()
    open_runs = [resource for resource in SYNC_ORDER if states[resource].run_open]
    return SyncPosition(open_runs[0] if open_runs else None, last_page_at)


sync_jobs = SyncJobs()
"""The process-wide registry the pages use."""
