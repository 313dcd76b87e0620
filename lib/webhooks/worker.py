"""Processing after the 200: a thread that runs the reactions to committed, unprocessed events.

The receiver only stores and wakes this worker, so a slow reaction never makes Stripe time
out. Rows a crash left pending are processed when the next worker starts. Reactions must be
idempotent: a crash between a reaction and its outcome being stored runs it again.

Several app processes on one PostgreSQL each run a worker, but a pass (claim, react, record)
holds the job lock WORKER_JOB, so one worker at a time works on the queue and each stored
event is claimed once. (The claim alone reads pending rows without locking them: two passes at
once would both take, and react to, the same rows.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.config import get_settings
from lib.events import pattern_matches, validate_pattern
from lib.store import CredentialsStore, load_secret_box
from lib.store.singleton import JobLock
from lib.webhooks.background import BackgroundLoop
from lib.webhooks.events_store import ServerEvent, claim_pending, record_outcomes
from lib.webhooks.mapping import DEAUTHORIZED_EVENT

Reaction = Callable[[Engine, ServerEvent], None]
"""Runs once per stored event whose mesh name matches its pattern; raise to mark it failed."""

DEAUTHORIZED_REASON = (
    "Stripe reports that this app was disconnected from the account. Connect Stripe again."
)
MAX_ATTEMPTS = 5
WORKER_JOB = "webhook-worker"
"""The job lock a worker's pass holds: one pass at a time across the app's processes."""
LOCK_WAIT_SECONDS = 0.5
_log = logging.getLogger(__name__)


def mark_connection_deauthorized(engine: Engine, event: ServerEvent) -> None:
    """Flag this app's Stripe Connect (OAuth) connections to the event's account as needing a
    reconnect, when the deauthorized application is ours (STRIPE_CLIENT_ID) and the event is
    newer than the connection. Pasted keys to that account keep working and are left alone.
    """
    if not event.account_ref:
        raise ValueError("the deauthorization names no account")
    settings = get_settings()
    ours = (settings.stripe_client_id or "").strip()
    application = event.payload.get("application")
    if not ours or application != ours:
        _log.info("deauthorization of another application ignored: %.80r", application)
        return
    if event.created_at is None:
        raise ValueError("the deauthorization carries no time")
    box, _origin = load_secret_box(settings)
    CredentialsStore(engine, box).mark_oauth_deauthorized(
        "stripe", event.account_ref, DEAUTHORIZED_REASON, deauthorized_at=event.created_at
    )


DEFAULT_REACTIONS: tuple[tuple[str, Reaction], ...] = (
    (DEAUTHORIZED_EVENT, mark_connection_deauthorized),
)


class WebhookWorker(BackgroundLoop):
    """Processes pending events in storage order on a background thread.

    `engine` is called on every pass, so a database that is down at start is picked up
    later. The thread wakes on `wake()` (after a commit) and every `idle_seconds` (events
    stored by another process). Its first pass processes whatever earlier runs left pending;
    `stop` lets the batch in hand finish, and pending rows stay for the next start.
    """

    def __init__(
        self,
        engine: Callable[[], Engine],
        *,
        reactions: Sequence[tuple[str, Reaction]] = DEFAULT_REACTIONS,
        batch_size: int = 200,
        idle_seconds: float = 5.0,
        coalesce_seconds: float = 0.2,
    ) -> None:
        for pattern, _reaction in reactions:
            validate_pattern(pattern)
        self._wakeup = threading.Event()
        super().__init__("webhook-worker", wakeup=self._wakeup)
        self._engine = engine
        self._reactions = tuple(reactions)
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._coalesce_seconds = coalesce_seconds

    def add_reaction(self, pattern: str, reaction: Reaction) -> None:
        """Also run `reaction` for events matching `pattern` (call before `start`); adding the
        same pair again changes nothing (app.py runs again on every page run)."""
        validate_pattern(pattern)
        if (pattern, reaction) in self._reactions:
            return
        self._reactions = (*self._reactions, (pattern, reaction))

    def wake(self) -> None:
        """Ask the thread to look for pending events now (cheap; call after every commit)."""
        self._wakeup.set()

    def process_pending(self) -> int:
        """Process every pending event, oldest first; returns how many were processed or failed.

        Waits while another worker (of this or another process) holds the queue, then takes
        whatever it left. Events no reaction matches are settled in the transaction that
        claims them. Storage errors propagate and leave the events pending.
        """
        engine = self._engine()
        lock = JobLock(engine, WORKER_JOB)
        while not lock.acquire(LOCK_WAIT_SECONDS):
            if self._stopping.is_set():
                return 0
        try:
            return self._process_claims(engine)
        finally:
            lock.release()

    def _process_claims(self, engine: Engine) -> int:
        done = 0
        while not self._stopping.is_set():
            claimed = claim_pending(engine, self._batch_size, self._has_reaction)
            if not claimed.size:
                break
            record_outcomes(
                engine, {event.id: self._react(engine, event) for event in claimed.to_react}
            )
            done += claimed.size
        return done

    def _has_reaction(self, event: ServerEvent) -> bool:
        return any(pattern_matches(pattern, event.name) for pattern, _ in self._reactions)

    def _react(self, engine: Engine, event: ServerEvent) -> str | None:
        """None when every matching reaction succeeded, else the error text."""
        if event.attempts + 1 > MAX_ATTEMPTS:
            return f"gave up after {MAX_ATTEMPTS} attempts"
        for pattern, reaction in self._reactions:
            if not pattern_matches(pattern, event.name):
                continue
            try:
                reaction(engine, event)
            except sa.exc.OperationalError:
                raise
            except Exception as exc:
                _log.warning("reaction to %s failed: %s", event.stripe_event_id, type(exc).__name__)
                return f"{type(exc).__name__}: {exc}"
        return None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.process_pending()
            except Exception as exc:  # storage down: keep the rows pending and try again later
                _log.warning("webhook worker pass failed: %s", type(exc).__name__)
            self._wakeup.wait(self._idle_seconds)
            self._wakeup.clear()
            # Let a burst of deliveries commit so one pass handles them together.
            self._stopping.wait(self._coalesce_seconds)
