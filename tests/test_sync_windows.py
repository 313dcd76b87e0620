"""A first sync read in `created` windows side by side, against a loopback server speaking
Stripe's list semantics, on SQLite and PostgreSQL: exactly the account's objects, each read
once; cancel and resume; 429 lowers the requests in flight; the share of the history read, and
the sync panel showing it."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

import lib.render.finance.sync_panel as sync_panel
from lib.config import PROJECT_ROOT
from lib.providers.http import RetryPolicy
from lib.providers.stripe import StripeAdapter
from lib.store.tables import mirror_charges, mirror_sync_windows
from lib.sync import SyncJob, SyncJobs, read_states, sync_mirror
from lib.sync.mirror import SyncProgress
from lib.sync.state import open_run, read_windows, record_page
from lib.sync.windows import (
    HISTORY_FLOOR,
    UNBOUNDED,
    ConcurrencyLimit,
    Window,
    history_share,
    split_rest,
)
from tests.apptest_support import shown_text
from tests.loopback_server import LoopbackServer, RecordedRequest, Reply
from tests.test_sync_mirror import ACCOUNT, CREDENTIALS, T0, FakeStripe, charge, customer
from tests.time_doubles import RecordingSleep

DAY = 86_400
PAGE = 25


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    with LoopbackServer() as server:
        yield FakeStripe(server)


@pytest.fixture
def adapter(stripe: FakeStripe) -> Iterator[StripeAdapter]:
    """Retries at once (the waits are only recorded), three attempts a request."""
    retry = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=20.0)
    base_url = stripe.server.url + "/v1"
    with StripeAdapter(base_url=base_url, retry=retry, sleep=RecordingSleep()) as made:
        yield made


def seed_history(stripe: FakeStripe, charges: int = 600) -> set[str]:
    """Two customers and `charges` charges over three years, most of them recent, some sharing
    the second they were created in; the charge ids."""
    stripe.add(
        "customers",
        customer(1, email="ana@example.com", name="Ana Lima"),
        customer(2, email="kenji@example.jp", name="Kenji Sato"),
    )
    made = []
    for n in range(1, charges + 1):
        age = (charges - n) ** 2 * 3 * 365 * DAY // charges**2  # denser towards today
        made.append(charge(n, created=T0 - age - age % 7, customer_id="cus_0001"))
    stripe.add("charges", *made)
    return {c["id"] for c in made}


def stored_charge_ids(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(mirror_charges.c.id).where(mirror_charges.c.account_key == ACCOUNT)
            ).scalars()
        )


class InFlight:
    """Counts the requests the server is answering at once, and the most seen."""

    def __init__(self, stripe: FakeStripe, answer: Callable[[RecordedRequest, int], Reply]) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0
        self.answer = answer
        stripe.server.on("/v1/charges", self._handle)

    def _handle(self, request: RecordedRequest) -> Reply:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            current = self.now
        try:
            return self.answer(request, current)
        finally:
            with self.lock:
                self.now -= 1


def slow(stripe: FakeStripe, seconds: float = 0.02) -> Callable[[RecordedRequest, int], Reply]:
    def answer(request: RecordedRequest, _: int) -> Reply:
        time.sleep(seconds)
        return stripe._answer(request)

    return answer


def test_a_windowed_first_sync_stores_every_object_once_with_requests_side_by_side(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    expected = seed_history(stripe)
    counter = InFlight(stripe, slow(stripe))
    progress: list[SyncProgress] = []

    report = sync_mirror(
        engine,
        ACCOUNT,
        adapter,
        CREDENTIALS,
        resources=("customers", "charges"),
        on_progress=progress.append,
        page_size=PAGE,
        concurrency=6,
    )

    assert report.outcome == "complete"
    stored = stored_charge_ids(engine)
    assert sorted(stored) == sorted(expected)
    assert report.objects == 2 + len(expected)  # no object was read twice
    assert counter.peak > 1
    windowed = [r for r in stripe.requests("charges") if r.param("created[lt]") is not None]
    assert windowed, "the history was split into created windows"
    # The share of the time range read only grows, and reaches the whole range.
    shares = [p.share for p in progress if p.resource == "charges"]
    assert shares == sorted(shares) and shares[-1] == 1.0
    objects = [p.objects for p in progress]
    assert objects == sorted(objects)
    with engine.connect() as connection:
        state = read_states(connection, ACCOUNT)["charges"]
        left = connection.execute(sa.select(sa.func.count()).select_from(mirror_sync_windows))
        assert left.scalar_one() == 0
    assert state.complete and not state.run_open
    assert state.newest_created == T0


def test_a_cancelled_windowed_sync_resumes_every_window_without_gaps_or_duplicates(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    expected = seed_history(stripe)
    InFlight(stripe, slow(stripe))
    pages: list[SyncProgress] = []

    cancelled = sync_mirror(
        engine,
        ACCOUNT,
        adapter,
        CREDENTIALS,
        resources=("charges",),
        on_progress=pages.append,
        should_cancel=lambda: len(pages) >= 6,
        page_size=PAGE,
        concurrency=4,
    )

    assert cancelled.outcome == "cancelled"
    assert 0 < len(stored_charge_ids(engine)) < len(expected)
    with engine.connect() as connection:
        windows = read_windows(connection, ACCOUNT, "charges")
        assert read_states(connection, ACCOUNT)["charges"].run_open
    assert len(windows) > 1 and not all(w.finished for w in windows)

    resumed = sync_mirror(
        engine,
        ACCOUNT,
        adapter,
        CREDENTIALS,
        resources=("charges",),
        page_size=PAGE,
        concurrency=4,
    )

    assert resumed.outcome == "complete"
    assert sorted(stored_charge_ids(engine)) == sorted(expected)
    assert cancelled.objects + resumed.objects == len(expected)  # nothing read twice


def test_429_answers_lower_the_requests_in_flight(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    expected = seed_history(stripe, charges=2_000)
    limited: list[int] = []

    def at_most_three(request: RecordedRequest, in_flight: int) -> Reply:
        if in_flight > 3:
            limited.append(in_flight)
            error = {"error": {"type": "invalid_request_error", "message": "Too many requests"}}
            return Reply(status=429, json=error, headers={"Retry-After": "0"})
        time.sleep(0.03)
        return stripe._answer(request)

    InFlight(stripe, at_most_three)
    progress: list[SyncProgress] = []

    report = sync_mirror(
        engine,
        ACCOUNT,
        adapter,
        CREDENTIALS,
        resources=("charges",),
        on_progress=progress.append,
        page_size=20,
        concurrency=8,
    )

    assert report.outcome == "complete"
    assert sorted(stored_charge_ids(engine)) == sorted(expected)
    assert limited, "the server did refuse requests beyond three at once"
    assert min(p.concurrency for p in progress) <= 3
    # Had the sync kept 8 requests in flight, five in eight (and their retries) would have been
    # refused; lowered, only the probes for one more request at a time are.
    assert len(limited) < len(stripe.requests("charges")) / 2


def test_a_first_sync_begun_page_by_page_resumes_at_its_cursor_in_windows(
    engine: Engine, stripe: FakeStripe, adapter: StripeAdapter
) -> None:
    expected = seed_history(stripe, charges=300)
    newest_first = sorted(expected, reverse=True)
    with engine.begin() as connection:
        open_run(connection, ACCOUNT, "charges", None)
        record_page(
            connection,
            ACCOUNT,
            "charges",
            cursor=newest_first[99],
            newest_created=T0,
            finished=False,
        )

    report = sync_mirror(
        engine, ACCOUNT, adapter, CREDENTIALS, resources=("charges",), concurrency=4
    )

    assert report.outcome == "complete"
    assert stripe.requests("charges")[0].param("starting_after") == newest_first[99]
    assert sorted(stored_charge_ids(engine)) == sorted(newest_first[100:])


# --- the windows themselves ------------------------------------------------------------------


@given(
    low=st.integers(0, 2_000_000_000),
    width=st.integers(1, 500_000_000),
    back=st.integers(0, 500_000_000),
    parts=st.integers(1, 40),
)
def test_a_split_window_and_its_new_windows_cover_the_rest_exactly_once(
    low: int, width: int, back: int, parts: int
) -> None:
    high = low + width + 1
    top = max(low + 1, high - 1 - back)
    window = Window(low, high, cursor="ch_x", cursor_created=top, objects=5)

    kept, added = split_rest(window, parts)

    assert 1 <= len(added) <= parts
    assert (kept.created_before, kept.cursor, kept.objects) == (high, "ch_x", 5)
    assert kept.created_from <= top  # the cursor object stays inside its window
    spans = sorted((w.created_from, w.created_before) for w in [*added, kept])
    assert spans[0][0] == low and spans[-1][1] == high
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in itertools.pairwise(spans))
    assert all(w.cursor is None and not w.finished for w in added)


def test_windows_are_not_cut_when_nothing_is_left_to_cut() -> None:
    cursor_at_bottom = Window(100, 200, cursor="ch_1", cursor_created=100)
    finished = Window(0, 200, cursor="ch_1", cursor_created=150, finished=True)
    outside = Window(0, 200, cursor="ch_1", cursor_created=500)
    for window in (cursor_at_bottom, finished, outside, Window(0, 200)):
        assert split_rest(window, 4) == (window, [])


def test_cuts_start_at_2010_while_the_lowest_window_still_reaches_back_to_0() -> None:
    top = HISTORY_FLOOR + 1_000_000
    kept, added = split_rest(Window(0, UNBOUNDED, cursor="ch_1", cursor_created=top), 3)
    assert added[0].created_from == 0
    assert added[1].created_from > HISTORY_FLOOR
    assert kept.created_before == UNBOUNDED and kept.created_from < top
    assert Window(0).created_filter() == {}
    assert added[1].created_filter() == {
        "gte": added[1].created_from,
        "lt": added[1].created_before,
    }


def test_the_share_counts_from_the_lowest_window_that_may_hold_objects() -> None:
    start = HISTORY_FLOOR + 1_000
    windows = [
        Window(0, start, finished=True),  # empty: before the history began
        Window(start, start + 100, cursor="ch_2", cursor_created=start + 50, objects=3),
        Window(start + 100, start + 200, finished=True, objects=9),
    ]
    assert history_share(windows, start + 199) == pytest.approx(150 / 200)
    assert history_share([Window(0)], None) == 0.0
    assert history_share([Window(0, finished=True)], None) == 1.0


def test_the_limit_halves_once_per_round_of_429s_and_grows_back_by_one_per_round() -> None:
    limit = ConcurrencyLimit(8)
    sent = [limit.ticket() for _ in range(8)]
    for ticket in sent:
        limit.throttled(ticket)
    assert limit.allowed == 4  # one cut for the whole burst
    limit.throttled(limit.ticket())
    limit.throttled(limit.ticket())
    limit.throttled(limit.ticket())
    assert limit.allowed == 1  # never below one
    for _ in range(2):
        limit.succeeded()
    assert limit.allowed == 2
    for _ in range(200):
        limit.succeeded()
    assert limit.allowed == 8


# --- the sync panel -------------------------------------------------------------------------


def test_the_sync_panel_shows_objects_stored_and_the_share_of_the_history_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs = SyncJobs()
    job = SyncJob("demo")  # running: its thread never started, so it never ends
    job.progress = SyncProgress("charges", 12_345, 130, 140, 12.0, share=0.42, concurrency=6)
    jobs._jobs["demo"] = job
    monkeypatch.setattr(sync_panel, "sync_jobs", jobs)

    at = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "charges.py"), default_timeout=60)
    at.run()

    assert not at.exception
    assert any("12,345 objects stored" in text for text in shown_text(at))
    [bar] = at.get("progress")
    assert bar.proto.text == (
        "Step 2 of 4 · 42% of the charges history's time range · 6 requests at a time"
    )
    assert bar.proto.value == 35  # percent of the whole sync: (1 + 0.42) of 4 steps
