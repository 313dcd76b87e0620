"""A resource's first sync: its `created` windows (lib.sync.windows) read side by side.

Worker threads only send requests; this thread stores every page in a transaction with its
window's new cursor, any windows cut from it, and on the last page the end of the run, so a
cancelled, failed or crashed sync resumes every window where its last stored page left it.
Pages answered while others were being stored are stored together, in one transaction.
At most `concurrency` requests are in flight, fewer after Stripe answers 429 (the adapter
retries those first). `should_cancel` is asked before each request; pages already asked for
are still stored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import Engine

from lib.providers.stripe import StripeAdapter
from lib.providers.types import ApiError, ApiResponse, ErrorCode, ProviderCredentials
from lib.sync.state import (
    drop_windows,
    read_states,
    read_windows,
    record_error,
    record_page,
    save_windows,
)
from lib.sync.store import Resource, write_objects
from lib.sync.windows import (
    ConcurrencyLimit,
    Ticket,
    Window,
    history_share,
    split_rest,
)

BackfillOutcome = Literal["complete", "cancelled", "failed"]


@dataclass
class SyncCounters:
    """Totals the sync reports while the backfill runs (shared with lib.sync.mirror)."""

    objects: int = 0
    pages: int = 0
    requests: int = 0
    share: float | None = None
    """Share of the resource's time range read so far (None when no backfill runs)."""
    concurrency: int = 1


@dataclass(frozen=True)
class _Answer:
    page: ApiResponse[dict[str, Any]]
    requested_at: int
    ticket: Ticket


@dataclass(frozen=True)
class _Page:
    requested_at: int
    objects: list[Any]
    windows: list[Window]
    """The page's window as it is after the page, and the windows cut from it."""


@dataclass(frozen=True)
class ResourceListing:
    """What to read: one resource of one account, with the list's own parameters."""

    engine: Engine
    account_key: str
    adapter: StripeAdapter
    credentials: ProviderCredentials
    resource: Resource
    endpoint: str
    params: dict[str, Any]
    page_size: int
    clock: Callable[[], float]


class Backfill:
    """One first sync of one resource, from its stored windows (or the opening one)."""

    def __init__(self, request: ResourceListing, concurrency: int) -> None:
        self.request = request
        self.limit = ConcurrencyLimit(concurrency)
        self.concurrency = concurrency
        self.windows: dict[int, Window] = {}
        self.newest_created: int | None = None
        self.share = 0.0
        self._restarted: set[int] = set()

    def run(
        self,
        counters: SyncCounters,
        cancelled: Callable[[], bool],
        progress: Callable[[], None],
    ) -> tuple[BackfillOutcome, ApiError | None]:
        """Read every window to its end, or until cancelled or a page fails for good."""
        self._load()
        waiting = deque(key for key, window in self.windows.items() if not window.finished)
        in_flight: dict[Future[_Answer], int] = {}
        stop: BackfillOutcome | None = None
        error: ApiError | None = None
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="sync-page")
        try:
            while True:
                while stop is None and waiting and len(in_flight) < self.limit.allowed:
                    if cancelled():
                        stop = "cancelled"
                        break
                    key = waiting.popleft()
                    ticket = self.limit.ticket()
                    in_flight[pool.submit(self._fetch, self.windows[key], ticket)] = key
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                pages: list[_Page] = []
                for future in done:
                    key = in_flight.pop(future)
                    answer = future.result()
                    counters.requests += answer.page.attempts
                    taken = self._take(key, answer, waiting, splitting=stop is None)
                    if isinstance(taken, _Page):
                        pages.append(taken)
                    elif taken is not None and stop is None:
                        stop, error = "failed", taken
                if pages:
                    self._store(pages)
                counters.concurrency = self.limit.allowed
                for page in pages:
                    counters.objects += len(page.objects)
                    counters.pages += 1
                    counters.share = self.share
                    progress()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if stop == "failed" and error is not None:
            with self.request.engine.begin() as connection:
                record_error(
                    connection, self.request.account_key, self.request.resource, error.message
                )
        return stop or "complete", error

    def _load(self) -> None:
        request = self.request
        with request.engine.connect() as connection:
            state = read_states(connection, request.account_key)[request.resource]
            stored = read_windows(connection, request.account_key, request.resource)
        self.newest_created = state.newest_created
        if not stored:
            # A first sync begun page by page (before windows) resumes at its cursor.
            stored = [Window(created_from=0, cursor=state.run_cursor)]
        self.windows = {window.created_before: window for window in stored}
        self.share = history_share(self.windows.values(), self.newest_created)

    def _fetch(self, window: Window, ticket: Ticket) -> _Answer:
        request = self.request
        params = dict(request.params)
        created = window.created_filter()
        if created:
            params["created"] = created
        requested_at = int(request.clock())
        page = request.adapter.list_page(
            request.credentials,
            request.endpoint,
            params,
            page_size=request.page_size,
            starting_after=window.cursor,
        )
        return _Answer(page, requested_at, ticket)

    def _take(
        self, key: int, answer: _Answer, waiting: deque[int], *, splitting: bool
    ) -> _Page | ApiError | None:
        """Move an answered page's window on (cutting it when requests are free) and return
        the page to store; for a failure, the error that ends the sync, else None."""
        page = answer.page
        if page.rate_limited:
            self.limit.throttled(answer.ticket)
        elif page.success:
            self.limit.succeeded()
        if not page.success or page.data is None:
            return self._failed(key, page.error, answer.ticket, waiting)
        objects = page.data["data"]
        window = self.windows[key].after_page(objects, bool(page.data.get("has_more")))
        added: list[Window] = []
        if splitting:
            open_windows = sum(not w.finished for w in self.windows.values())
            window, added = split_rest(window, self.limit.allowed - open_windows)
        self.windows[key] = window
        for new in added:
            self.windows[new.created_before] = new
        if not window.finished:
            waiting.append(key)
        waiting.extend(new.created_before for new in added)
        return _Page(answer.requested_at, objects, [window, *added])

    def _store(self, pages: list[_Page]) -> None:
        """Store the pages answered meanwhile in one transaction, each with its window's new
        cursor (several at once when storing is slower than the answers arrive)."""
        request = self.request
        ordered = sorted(
            (obj for page in pages for obj in page.objects), key=lambda obj: obj["created"]
        )
        if ordered:
            newest = ordered[-1]["created"]
            self.newest_created = max(newest, self.newest_created or newest)
        complete = all(window.finished for window in self.windows.values())
        # The earliest moment asked: an event newer than any of these pages still wins.
        state_at = min(page.requested_at for page in pages)
        with request.engine.begin() as connection:
            write_objects(connection, request.account_key, request.resource, ordered, state_at)
            if complete:
                drop_windows(connection, request.account_key, request.resource)
            else:
                changed = [window for page in pages for window in page.windows]
                save_windows(connection, request.account_key, request.resource, changed)
            record_page(
                connection,
                request.account_key,
                request.resource,
                cursor=None,
                newest_created=ordered[-1]["created"] if ordered else None,
                finished=complete,
            )
        share = 1.0 if complete else history_share(self.windows.values(), self.newest_created)
        self.share = max(self.share, share)

    def _failed(
        self, key: int, error: ApiError | None, ticket: Ticket, waiting: deque[int]
    ) -> ApiError | None:
        window = self.windows[key]
        if error is not None and error.code == ErrorCode.RATE_LIMITED and ticket.allowed > 1:
            # Still limited after the adapter's retries: ask again at the lowered level.
            waiting.append(key)
            return None
        if vanished_cursor(error) and window.cursor is not None and key not in self._restarted:
            # The object the window stopped at was deleted: read the window again from its top.
            self._restarted.add(key)
            self.windows[key] = window.restarted()
            request = self.request
            with request.engine.begin() as connection:
                save_windows(connection, request.account_key, request.resource, [self.windows[key]])
            waiting.append(key)
            return None
        return error


def vanished_cursor(error: ApiError | None) -> bool:
    """Stripe refused the `starting_after` cursor: its object no longer exists."""
    return (
        error is not None
        and error.code == ErrorCode.INVALID_REQUEST
        and error.details.get("param") == "starting_after"
    )
