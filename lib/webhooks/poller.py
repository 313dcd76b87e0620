"""Events API catch-up for hosts without a public URL: `GET /v1/events` into the same table.

Polled events are stored like webhook deliveries (same dedupe, so an event that arrives both
ways is stored once) and the cursor, the newest stored event's `created`, lives in the
database per account, so a restart neither re-stores nor skips. `created[gte]` re-reads the
cursor's own second, so events sharing a second with it are not skipped; dedupe drops them.

Several app processes on one PostgreSQL poll once per interval in all, not once each: a poll
holds the account's job lock, and the periodic one skips when the stored cursor says another
process polled less than an interval ago.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from lib.accounts import StripeAccount, resolve_stripe_account, stripe_adapter_for
from lib.config import Settings
from lib.providers.stripe import StripeAdapter
from lib.store import CredentialsStore, EncryptionKeyError, load_secret_box
from lib.store.singleton import exclusive
from lib.webhooks.background import PeriodicLoop
from lib.webhooks.events_store import (
    NewEvent,
    load_cursor,
    new_event,
    record_poll_error,
    record_poll_success,
    store_polled_events,
)

DEFAULT_FIRST_LOOKBACK_SECONDS = 24 * 3600
APP_USER_ID = "local"
"""The user whose account the background poller reads (the app's single local user)."""
MANUAL_POLL_WAIT_SECONDS = 30.0
"""How long "Sync now" waits for a poll of the account running elsewhere to finish."""
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollResult:
    """One catch-up: events newly stored, ones already stored, pages read, and what failed."""

    stored: int
    duplicates: int
    pages: int
    error: str | None = None


def poll_once(
    engine: Engine,
    account: StripeAccount,
    adapter: StripeAdapter,
    *,
    first_lookback_seconds: int = DEFAULT_FIRST_LOOKBACK_SECONDS,
    clock: Callable[[], float] = time.time,
) -> PollResult:
    """Read every event since the account's cursor (or `first_lookback_seconds` back on the
    first poll), store them oldest first and move the cursor, in one transaction.

    Never raises for API or storage failures: they come back in `error` (and are recorded
    with the cursor when storage works). After a failed page nothing is stored and the
    cursor stays, so the next poll reads the same range again.
    """
    try:
        cursor = load_cursor(engine, account.key)
        since = (
            cursor.last_event_created
            if cursor is not None and cursor.last_event_created is not None
            else int(clock()) - first_lookback_seconds
        )
        events, pages, error = _read_events(account, adapter, since)
        if error is not None:
            record_poll_error(engine, account.key, error)
            return PollResult(stored=0, duplicates=0, pages=pages, error=error)
        if not events:
            record_poll_success(engine, account.key)
            return PollResult(stored=0, duplicates=0, pages=pages)
        stored = store_polled_events(engine, account.key, events, advance_cursor=True)
    except SQLAlchemyError as exc:
        _log.warning("events poll not stored: %s", type(exc).__name__)
        return PollResult(
            stored=0,
            duplicates=0,
            pages=0,
            error=f"The events could not be stored: the database is unavailable "
            f"({type(exc).__name__}).",
        )
    return PollResult(stored=stored, duplicates=len(events) - stored, pages=pages)


def _read_events(
    account: StripeAccount, adapter: StripeAdapter, since: int
) -> tuple[list[NewEvent], int, str | None]:
    """Every event created at or after `since`, oldest first; or the error of a failed page."""
    found: dict[str, dict[str, Any]] = {}
    pages = 0
    params = {"created": {"gte": since}}
    for page in adapter.iter_pages(account.credentials, "/events", params):
        if not page.success or page.data is None:
            message = page.error.message if page.error else "Stripe's events could not be read."
            return [], pages, message
        pages += 1
        for item in page.data["data"]:
            if isinstance(item.get("id"), str) and isinstance(item.get("type"), str):
                found[item["id"]] = item
    ordered = sorted(found.values(), key=lambda item: (item.get("created") or 0, item["id"]))
    events = [new_event(item, json.dumps(item, separators=(",", ":")), "poll") for item in ordered]
    return events, pages, None


def app_account(settings: Settings, engine: Engine) -> StripeAccount:
    """The account the app reads for its local user: stored connection, configured key, demo."""
    try:
        box, _origin = load_secret_box(settings)
    except EncryptionKeyError as error:
        # Never another account in place of a stored connection that cannot be read.
        return resolve_stripe_account(settings, APP_USER_ID, None, key_problem=str(error))
    return resolve_stripe_account(settings, APP_USER_ID, CredentialsStore(engine, box))


def poll_job(account: StripeAccount) -> str:
    """The job lock every poll of `account` holds, in whichever process it runs."""
    return f"events-poll:{account.key}"


def catch_up_events(engine: Engine, account: StripeAccount) -> PollResult:
    """Poll `account` now through its process-wide adapter (the page's "Sync now"), after a
    poll of it running in another process (or thread) has finished."""
    with exclusive(engine, poll_job(account), timeout=MANUAL_POLL_WAIT_SECONDS) as ours:
        if not ours:
            return PollResult(
                stored=0, duplicates=0, pages=0, error="Another catch-up is still running."
            )
        return poll_once(engine, account, stripe_adapter_for(account))


def poll_if_due(
    engine: Engine,
    account: StripeAccount,
    interval_seconds: float,
    *,
    clock: Callable[[], float] = time.time,
) -> PollResult | None:
    """The periodic poll: poll `account` unless another process is polling it or polled it
    less than `interval_seconds` ago (then None). Polls by all processes together are at
    least an interval apart, less a little slack for timers that fire early."""
    slack = min(1.0, interval_seconds / 10)
    with exclusive(engine, poll_job(account)) as ours:
        if not ours:
            return None
        cursor = load_cursor(engine, account.key)
        if cursor is not None and cursor.last_polled_at is not None:
            now = datetime.fromtimestamp(clock(), UTC)
            if (now - cursor.last_polled_at).total_seconds() < interval_seconds - slack:
                return None
        return poll_once(engine, account, stripe_adapter_for(account), clock=clock)


class PeriodicPoller(PeriodicLoop):
    """Calls `poll()` at start and then every `interval_seconds` on a background thread.

    `start` polls at once, to catch up after downtime; `stop` lets the poll in progress finish.
    `poll` returns None when it skipped (another process polled).
    """

    def __init__(self, poll: Callable[[], PollResult | None], interval_seconds: float) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"interval_seconds must be positive, got {interval_seconds}")
        super().__init__("events-poller", interval_seconds, pass_name="events poll", log=_log)
        self._poll = poll

    def _pass(self) -> None:
        result = self._poll()
        if result is not None and result.error is not None:
            _log.warning("events poll failed: %s", result.error)
