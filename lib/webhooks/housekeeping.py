"""`Housekeeping`: the periodic purge that keeps the tables anyone can fill from growing forever.

Each pass deletes expired OAuth states, settled events received more than
WEBHOOK_EVENTS_RETENTION_DAYS ago (pending ones stay until processed), and refusal counts of
hours older than that. With several app processes on one PostgreSQL a pass holds the job lock
HOUSEKEEPING_JOB, so one purge runs at a time (a process that finds it held skips its pass).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from lib.config import Settings, get_settings
from lib.store import OAuthStateStore, get_engine
from lib.store.singleton import exclusive
from lib.webhooks.background import PeriodicLoop
from lib.webhooks.events_store import purge_rejection_counts, purge_settled_events

DEFAULT_INTERVAL_SECONDS = 60.0
HOUSEKEEPING_JOB = "housekeeping"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purged:
    """Rows one pass deleted, per table."""

    oauth_states: int
    events: int
    rejection_counts: int


def purge_once(engine: Engine, retention_days: int, now: datetime | None = None) -> Purged:
    """Delete expired OAuth states, and events and refusal counts older than `retention_days`
    (events only once processed or failed)."""
    at = now or datetime.now(UTC)
    cutoff = at - timedelta(days=retention_days)
    return Purged(
        oauth_states=OAuthStateStore(engine).purge_expired(at),
        events=purge_settled_events(engine, cutoff),
        rejection_counts=purge_rejection_counts(engine, cutoff),
    )


class Housekeeping(PeriodicLoop):
    """Runs `purge_once` at start and then every `interval_seconds` on a daemon thread.

    `engine` and `settings` are called on every pass, so a database that is down at start is
    purged later and a changed retention applies at the next pass.
    """

    def __init__(
        self,
        *,
        engine: Callable[[], Engine] = get_engine,
        settings: Callable[[], Settings] = get_settings,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    ) -> None:
        super().__init__("housekeeping", interval_seconds, pass_name="housekeeping pass", log=_log)
        self._engine = engine
        self._settings = settings

    def _pass(self) -> None:
        engine = self._engine()
        with exclusive(engine, HOUSEKEEPING_JOB) as ours:
            if not ours:
                return
            purged = purge_once(engine, self._settings().webhook_events_retention_days)
        if purged.events or purged.rejection_counts:
            _log.info("housekeeping purged %s", purged)
