"""The sync engine: copy an account's customers, charges, refunds and subscriptions locally.

The first sync reads the whole history newest first, in `created` windows fetched side by side
(`concurrency` requests at once, lib.sync.backfill); every page is written together with its
window's cursor, so a cancelled or failed sync resumes each window at its next page. Later
syncs ask only for objects at least as new as the newest stored (one request per resource when
nothing changed), page by page, then apply stored events to the objects already mirrored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import Engine

from lib.providers.stripe import MAX_PAGE_SIZE, StripeAdapter
from lib.providers.types import ApiError, ProviderCredentials
from lib.sync.backfill import Backfill, ResourceListing, SyncCounters, vanished_cursor
from lib.sync.events import EventsApplied, apply_stored_events
from lib.sync.price_tiers import fill_price_tiers
from lib.sync.state import open_run, read_states, record_error, record_page, restart_run
from lib.sync.store import Resource, refresh_planner_statistics, write_objects

SYNC_ORDER: tuple[Resource, ...] = ("customers", "charges", "refunds", "subscriptions")
"""Customers first, so charges find the email and name of their customer."""
ENDPOINTS: dict[Resource, str] = {
    "customers": "/customers",
    "charges": "/charges",
    "refunds": "/refunds",
    "subscriptions": "/subscriptions",
}
# Stripe lists only live subscriptions unless asked; churn needs the canceled ones too.
_LIST_PARAMS: dict[Resource, dict[str, Any]] = {"subscriptions": {"status": "all"}}

SyncOutcome = Literal["complete", "cancelled", "failed"]
STATISTICS_AFTER_OBJECTS = 1_000
"""A sync that stored this many objects refreshes the database's planner statistics (about
2 ms per 1,000 mirrored rows); smaller changes leave the spread of values as it was."""


@dataclass(frozen=True)
class SyncProgress:
    """Where a running sync is: the resource it reads and the totals so far."""

    resource: Resource
    objects: int
    pages: int
    requests: int
    elapsed: float
    share: float | None = None
    """Share of the resource's history (its time range) read, during a first sync."""
    concurrency: int = 1
    """Requests in flight at most right now (lowered after Stripe answered 429)."""


@dataclass(frozen=True)
class SyncReport:
    """How a sync ended; after "cancelled" or "failed" the next sync resumes where it stopped."""

    outcome: SyncOutcome
    objects: int
    pages: int
    requests: int
    elapsed: float
    error: ApiError | None = None
    failed_resource: Resource | None = None
    events: EventsApplied | None = None


def sync_mirror(
    engine: Engine,
    account_key: str,
    adapter: StripeAdapter,
    credentials: ProviderCredentials,
    *,
    resources: tuple[Resource, ...] = SYNC_ORDER,
    should_cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[SyncProgress], None] | None = None,
    clock: Callable[[], float] = time.time,
    page_size: int = MAX_PAGE_SIZE,
    concurrency: int = 1,
) -> SyncReport:
    """Bring the mirror of `account_key` up to date from Stripe, resource by resource.

    `should_cancel` is asked before every request; `on_progress` runs after every stored page.
    A first sync has up to `concurrency` requests in flight (1: page after page). Rate limits
    and transient failures are retried by the adapter (a 429 also lowers the concurrency); a
    failure it gives up on ends the sync as "failed" with the error, and is remembered in the
    sync state.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    started = time.monotonic()
    counters = SyncCounters()
    cancelled = should_cancel or (lambda: False)

    def report(outcome: SyncOutcome, **extra: Any) -> SyncReport:
        return SyncReport(
            outcome,
            counters.objects,
            counters.pages,
            counters.requests,
            time.monotonic() - started,
            **extra,
        )

    def progress(resource: Resource) -> None:
        if on_progress is not None:
            on_progress(
                SyncProgress(
                    resource,
                    counters.objects,
                    counters.pages,
                    counters.requests,
                    time.monotonic() - started,
                    counters.share,
                    counters.concurrency,
                )
            )

    for resource in resources:
        request = ResourceListing(
            engine,
            account_key,
            adapter,
            credentials,
            resource,
            ENDPOINTS[resource],
            dict(_LIST_PARAMS.get(resource, {})),
            page_size,
            clock,
        )
        run = _ResourceRun(request, concurrency)
        outcome, error = run.execute(counters, cancelled, lambda r=resource: progress(r))
        if outcome != "complete":
            if counters.objects >= STATISTICS_AFTER_OBJECTS:
                refresh_planner_statistics(engine)
            if outcome == "cancelled":
                return report("cancelled")
            return report(
                "failed",
                error=error,
                failed_resource=resource,
                events=apply_stored_events(engine, account_key),
            )
    events = apply_stored_events(engine, account_key)
    if "subscriptions" in resources:
        counters.requests += fill_price_tiers(engine, account_key, adapter, credentials)
    if counters.objects >= STATISTICS_AFTER_OBJECTS:
        refresh_planner_statistics(engine)
    return report("complete", events=events)


class _ResourceRun:
    """One resource's pages, from where its state says to start until the list ends."""

    def __init__(self, request: ResourceListing, concurrency: int) -> None:
        self.request = request
        self.concurrency = concurrency

    def execute(
        self,
        counters: SyncCounters,
        cancelled: Callable[[], bool],
        progress: Callable[[], None],
    ) -> tuple[SyncOutcome, ApiError | None]:
        request = self.request
        engine, account_key, resource = request.engine, request.account_key, request.resource
        with engine.begin() as connection:
            floor, cursor = read_states(connection, account_key)[resource].next_run()
            open_run(connection, account_key, resource, floor)
        if floor is None:
            counters.share = 0.0
            return Backfill(request, self.concurrency).run(counters, cancelled, progress)
        counters.share, counters.concurrency = None, 1
        # gte, not gt: objects created later in the same second as the newest stored.
        params = {**request.params, "created": {"gte": floor}}
        restarted = False
        while True:
            outcome, error = self._pages(params, cursor, counters, cancelled, progress)
            if outcome == "failed" and not restarted and cursor and vanished_cursor(error):
                # The object the run stopped at was deleted: redo the run from its floor.
                with engine.begin() as connection:
                    restart_run(connection, account_key, resource)
                cursor, restarted = None, True
                continue
            if outcome == "failed" and error is not None:
                with engine.begin() as connection:
                    record_error(connection, account_key, resource, error.message)
            return outcome, error

    def _pages(
        self,
        params: dict[str, Any],
        cursor: str | None,
        counters: SyncCounters,
        cancelled: Callable[[], bool],
        progress: Callable[[], None],
    ) -> tuple[SyncOutcome, ApiError | None]:
        request = self.request
        pages = request.adapter.iter_pages(
            request.credentials,
            request.endpoint,
            params,
            page_size=request.page_size,
            starting_after=cursor,
        )
        try:
            while True:
                if cancelled():
                    return "cancelled", None
                requested_at = int(request.clock())
                page = next(pages)
                counters.requests += page.attempts
                if not page.success or page.data is None:
                    return "failed", page.error
                objects = sorted(page.data["data"], key=lambda obj: obj["created"])
                finished = not (page.data.get("has_more") and objects)
                with request.engine.begin() as connection:
                    write_objects(
                        connection, request.account_key, request.resource, objects, requested_at
                    )
                    record_page(
                        connection,
                        request.account_key,
                        request.resource,
                        cursor=page.data["data"][-1]["id"] if objects else cursor,
                        newest_created=objects[-1]["created"] if objects else None,
                        finished=finished,
                    )
                counters.objects += len(objects)
                counters.pages += 1
                progress()
                if finished:
                    return "complete", None
        finally:
            pages.close()
