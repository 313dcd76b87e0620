"""The `created` windows of a first sync, and how many of their pages to ask for at once.

Stripe lists newest first and pages only towards older objects (`starting_after`): there is no
way to start at the oldest object, so where an account's history begins is unknown until it
has been read. A first sync therefore plans as it goes:

1. The opening window is the whole list, `created` from 0 with no upper bound, and its first
   request is the first page of the plain list, as a sequential sync sends it (an account that
   fits one page costs one request).
2. When a window's page comes back with more to read while fewer windows are open than
   requests may be in flight, the rest of that window (`created` from its lower bound up to
   the `created` of the page's last object, `c`) is cut into equal spans of time. The window
   keeps the newest span and its cursor: the cursor object was created at `c`, inside that
   span, so the narrowed list resumes exactly after it. Each older span becomes a new window
   without a cursor. Every span below the kept one ends before `c`, so its objects are older
   than the cursor object whatever Stripe's order among objects created in the same second:
   every object of the rest lies in exactly one window, none is read twice or skipped.
3. Nothing says where the objects are, so spans are equal in time, never guessed counts. Cuts
   are made from 2010 (before Stripe existed) at the earliest; the lowest window still reaches
   down to 0. An empty span costs one request; a dense one is cut again whenever a request is
   free, so the requests in flight fill up within a few round trips whatever the spread.

A window is named by its exclusive upper bound, which never changes (the opening window's is
`UNBOUNDED`); splitting only raises a window's lower bound. `ConcurrencyLimit` halves the
requests in flight when Stripe answers 429 and adds one back per round of successful ones.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

UNBOUNDED = 2**62
"""The upper bound of the opening window: no `created[lt]` is sent."""
HISTORY_FLOOR = 1_262_304_000
"""2010-01-01 UTC, before Stripe existed: the lowest point a window is cut at, and the
earliest start of history the progress share counts from."""


def _created(obj: Any) -> int | None:
    value = obj.get("created") if isinstance(obj, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Window:
    """Objects created in [created_from, created_before), newest first after `cursor`."""

    created_from: int
    created_before: int = UNBOUNDED
    cursor: str | None = None
    """The id of the last object read; the next page starts after it."""
    cursor_created: int | None = None
    """When the cursor object was created: everything newer in the window has been read."""
    objects: int = 0
    finished: bool = False

    def created_filter(self) -> dict[str, int]:
        """Stripe's `created` range for this window (empty for the whole list)."""
        bounds: dict[str, int] = {}
        if self.created_from > 0:
            bounds["gte"] = self.created_from
        if self.created_before != UNBOUNDED:
            bounds["lt"] = self.created_before
        return bounds

    def after_page(self, objects: Sequence[Any], has_more: bool) -> Window:
        """This window once a page of `objects` (in Stripe's order) has been stored."""
        last = objects[-1] if objects else None
        cursor = last.get("id") if isinstance(last, dict) else None
        if not isinstance(cursor, str) or not cursor:
            return replace(self, objects=self.objects + len(objects), finished=True)
        return replace(
            self,
            cursor=cursor,
            cursor_created=_created(last),
            objects=self.objects + len(objects),
            finished=not has_more,
        )

    def restarted(self) -> Window:
        """This window read again from its newest object (its cursor object vanished)."""
        return replace(self, cursor=None, cursor_created=None)


def split_rest(window: Window, new_windows: int) -> tuple[Window, list[Window]]:
    """Cut what is left of `window` into up to `new_windows` + 1 equal spans of time: the
    window keeps the newest span with its cursor, the older spans become new windows.

    The window comes back alone when it cannot be cut: finished, no cursor, or a cursor
    `created` outside the window (a list that ignored the window's filter).
    """
    low, top = window.created_from, window.cursor_created
    if window.finished or window.cursor is None or top is None or new_windows < 1:
        return window, []
    if not low < top < window.created_before:
        return window, []
    start = max(low, HISTORY_FLOOR) if top > HISTORY_FLOOR else low
    span = top - start
    parts = min(new_windows, span)
    if parts < 1:
        return window, []
    # ceil(span * i / (parts + 1)) grows by at least 1 per step while parts <= span.
    cuts = [start + -(-span * i // (parts + 1)) for i in range(1, parts + 1)]
    bounds = [low, *cuts]
    added = [Window(created_from=bounds[i], created_before=bounds[i + 1]) for i in range(len(cuts))]
    return replace(window, created_from=cuts[-1]), added


def history_share(windows: Iterable[Window], newest_created: int | None) -> float:
    """The share of the history's time range that has been read, from 0.0 to 1.0.

    The range runs from the lowest window that may still hold objects (windows at the bottom
    that finished empty do not count; never below `HISTORY_FLOOR` unless an object older than
    that was read) up to the newest object read. A window counts as read down to its cursor.
    """
    listed = sorted(windows, key=lambda window: window.created_from)
    if not listed or all(window.finished for window in listed):
        return 1.0
    if newest_created is None:
        return 0.0
    top = newest_created + 1
    while listed and listed[0].finished and listed[0].objects == 0:
        listed.pop(0)
    seen = [w.cursor_created for w in listed if w.cursor_created is not None]
    floor = min([HISTORY_FLOOR, *seen])
    bottom = max(listed[0].created_from, floor) if listed else top
    if bottom >= top:
        return 0.0
    read = 0
    for window in listed:
        high = min(window.created_before, top)
        if window.finished:
            low = window.created_from
        elif window.cursor_created is not None:
            low = window.cursor_created
        else:
            continue
        read += max(0, high - max(low, bottom))
    return min(1.0, read / (top - bottom))


@dataclass(frozen=True)
class Ticket:
    """What the limit was when a request was sent, to judge its answer by."""

    epoch: int
    allowed: int


class ConcurrencyLimit:
    """How many requests may be in flight: additive increase, multiplicative decrease.

    Starts at `ceiling`; a 429 halves it (never below 1), once per round: answers to requests
    sent before the last cut do not cut again. Each answer without a 429 adds 1/limit, about
    one more request per round trip, up to `ceiling` again. Safe to use from several threads.
    """

    def __init__(self, ceiling: int) -> None:
        if ceiling < 1:
            raise ValueError("the concurrency ceiling must be at least 1")
        self.ceiling = ceiling
        self._level = float(ceiling)
        self._epoch = 0
        self._lock = threading.Lock()

    @property
    def allowed(self) -> int:
        """Requests that may be in flight now."""
        with self._lock:
            return max(1, int(self._level))

    def ticket(self) -> Ticket:
        """Taken when a request is sent."""
        with self._lock:
            return Ticket(self._epoch, max(1, int(self._level)))

    def throttled(self, ticket: Ticket) -> None:
        """The request sent with `ticket` was answered 429 at least once."""
        with self._lock:
            if ticket.epoch == self._epoch:
                self._level = max(1.0, self._level / 2)
                self._epoch += 1

    def succeeded(self) -> None:
        """A request was answered without a 429."""
        with self._lock:
            self._level = min(float(self.ceiling), self._level + 1 / self._level)
