"""Syncs running in the background, at most one per account, shared by every session.

A page starts a sync and returns at once; each rerun reads the job's latest progress, and the
Cancel button sets the flag the sync checks before its next request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lib.sync.mirror import SyncProgress, SyncReport

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

    def start(self, account_key: str, run: SyncRun) -> SyncJob:
        """Start `run` in a thread unless a sync of the account is already running (that
        one is returned instead)."""
        with self._lock:
            current = self._jobs.get(account_key)
            if current is not None and current.running:
                return current
            job = SyncJob(account_key)
            self._jobs[account_key] = job
        thread = threading.Thread(
            target=_run_job, args=(job, run), name=f"sync-{account_key[:40]}", daemon=True
        )
        thread.start()
        return job


def _run_job(job: SyncJob, run: SyncRun) -> None:
    def record(progress: SyncProgress) -> None:
        job.progress = progress

    try:
        job.report = run(job._cancel.is_set, record)
    except Exception as error:  # the page must learn that the sync died, not wait forever
        log.exception("mirror sync of an account crashed")
        job.crashed = type(error).__name__
    finally:
        job._done.set()


sync_jobs = SyncJobs()
"""The process-wide registry the pages use."""
