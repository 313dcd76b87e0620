"""`RejectionCounter`: refused deliveries counted in memory, written at most once a second.

A refusal must cost the attacker more than it costs the app: writing one row (or one update)
per refused request would let a flood of bad requests hold the database's write lock that real
deliveries need. The counter adds in memory and a timer thread writes the sums.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

from sqlalchemy.engine import Engine

from lib.webhooks.events_store import record_rejections

_log = logging.getLogger(__name__)


class RejectionCounter:
    """Counts refusals per reason; the counts reach the database and the log within
    `delay_seconds`.

    The first refusal after a quiet spell schedules a write `delay_seconds` later, which takes
    every refusal counted until then: at most one write per `delay_seconds` whatever the rate.
    """

    def __init__(self, engine: Callable[[], Engine], *, delay_seconds: float = 1.0) -> None:
        self._engine = engine
        self._delay_seconds = delay_seconds
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._pending: Counter[str] = Counter()
        self._timer: threading.Timer | None = None

    def add(self, reason: str) -> None:
        """Count one refusal under `reason`; never waits for the database."""
        with self._lock:
            self._pending[reason] += 1
            if self._timer is None:
                self._timer = threading.Timer(self._delay_seconds, self._scheduled_flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Write every count made so far now (tests, shutdown). Storage errors are logged and
        the counts kept for the next write."""
        with self._write_lock:
            with self._lock:
                counts, self._pending = self._pending, Counter()
            if not counts:
                return
            # One line per write, not per request: a flood must not flood the log either.
            summary = ", ".join(f"{reason} x{count}" for reason, count in sorted(counts.items()))
            _log.warning("stripe webhook deliveries refused: %s", summary)
            try:
                record_rejections(self._engine(), counts)
            except Exception as exc:  # counting must never break the endpoint
                _log.warning("stripe webhook refusals not counted: %s", type(exc).__name__)
                with self._lock:
                    self._pending.update(counts)

    def _scheduled_flush(self) -> None:
        with self._lock:
            self._timer = None
        self.flush()
