"""Two real app processes (`streamlit run app.py`) on one PostgreSQL database, as a team behind
a load balancer runs them: the Events API is polled once per interval in all, a webhook event
delivered to both is processed once, and a mirror sync opened in both runs once (counted at a
loopback Stripe stand-in)."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlalchemy.engine import Engine

from lib.store import create_db_engine
from lib.store.tables import webhook_events
from lib.webhooks import WEBHOOK_PATH
from tests.app_process import AppProcess
from tests.browser_support import chromium_page, saved_on_failure
from tests.loopback_server import RecordedRequest, Reply
from tests.postgres_apps import fresh_schema, polling_app_env
from tests.stripe_stand_in import StripeStandIn
from tests.test_webhook_receiver import signed, stripe_event
from tests.test_webhook_worker import wait_until

pytestmark = pytest.mark.postgres

STRIPE_KEY = "sk_test_51TwoProcessesSharedKey000000001"
ACCOUNT = {"id": "acct_1TwoProcesses", "object": "account", "business_profile": {"name": "Two"}}
POLL_INTERVAL = 2.0
WAIT = 90_000
HOLD_SECONDS = 15
LIST_PATHS = ("/v1/customers", "/v1/charges", "/v1/refunds", "/v1/subscriptions")


class HeldStripe(StripeStandIn):
    """The stand-in, where each request for a page of a mirrored list waits until `released` is
    set (at most HOLD_SECONDS, less than the app's 20 s read timeout, so nothing is retried): a
    sync stays running while the test looks, however slowly a busy machine shows the pages;
    and when each Events API poll began (its first page), in arrival order."""

    def __init__(self) -> None:
        super().__init__({STRIPE_KEY}, ACCOUNT)
        self.released = threading.Event()
        self.poll_starts: list[float] = []
        for path in LIST_PATHS:
            self.on(path, self._held)
        self.on("/v1/events", self._timed)

    def _held(self, request: RecordedRequest) -> Reply:
        self.released.wait(HOLD_SECONDS)
        return self._answer_as_stripe(request)

    def _timed(self, request: RecordedRequest) -> Reply:
        if request.param("starting_after") is None:
            self.poll_starts.append(time.monotonic())
        return self._answer_as_stripe(request)


@dataclass
class TwoApps:
    first: AppProcess
    second: AppProcess
    stripe: HeldStripe
    engine: Engine


@pytest.fixture(scope="module")
def two_apps(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoApps]:
    """Two app processes on one fresh schema, one Stripe stand-in, one encryption key and
    webhook secret, polling every POLL_INTERVAL seconds."""
    stripe = HeldStripe()
    apps: list[AppProcess] = []
    try:
        with fresh_schema(postgres_server_url, "t") as database_url:
            engine = create_db_engine(database_url)
            try:
                env = polling_app_env(database_url, STRIPE_KEY, stripe.api_base, POLL_INTERVAL)
                for number in (1, 2):
                    data_dir = tmp_path_factory.mktemp(f"app-{number}")
                    apps.append(AppProcess({**env, "APP_DATA_DIR": str(data_dir)}, data_dir))
                yield TwoApps(apps[0], apps[1], stripe, engine)
            finally:
                stripe.released.set()
                for app in apps:
                    app.stop()
                engine.dispose()
    finally:
        stripe.close()


def test_the_events_api_is_polled_once_per_interval_across_both_processes(
    two_apps: TwoApps,
) -> None:
    # Both processes have polled at start, and each polls every interval from then on.
    wait_until(lambda: len(two_apps.stripe.poll_starts) >= 6, timeout=120)

    starts = list(two_apps.stripe.poll_starts)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # Uncoordinated, the two would poll twice per interval, often moments apart; together they
    # poll once per interval (less a tenth of slack for timers).
    assert min(gaps) > POLL_INTERVAL * 0.75, gaps


def test_an_event_delivered_to_both_processes_is_processed_once(two_apps: TwoApps) -> None:
    bodies = [stripe_event(f"evt_both_{number:03d}") for number in range(150)]
    deliveries = [(app, body) for body in bodies for app in (two_apps.first, two_apps.second)]

    def deliver(delivery: tuple[AppProcess, str]) -> int:
        app, body = delivery
        return httpx.post(
            app.url + WEBHOOK_PATH, content=body, headers=signed(body), timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(deliver, deliveries)) == {200}

    def both_rows() -> list[sa.Row[object]]:
        with two_apps.engine.connect() as connection:
            return connection.execute(
                sa.select(webhook_events.c.status, webhook_events.c.attempts).where(
                    webhook_events.c.event_id.like("evt_both_%")
                )
            ).all()

    wait_until(lambda: {row.status for row in both_rows()} == {"processed"}, timeout=60)
    assert Counter(row.attempts for row in both_rows()) == {1: len(bodies)}


@pytest.mark.browser
def test_a_sync_opened_in_both_processes_runs_once(two_apps: TwoApps) -> None:
    stripe = two_apps.stripe
    with chromium_page(1200, 900) as page, saved_on_failure(page, "two-processes-sync"):
        page.goto(two_apps.first.url + "/charges")
        expect(page.get_by_text(re.compile("Syncing .* from Stripe"))).to_be_visible(timeout=WAIT)
        browser = page.context.browser
        assert browser is not None
        other = browser.new_page()
        other.goto(two_apps.second.url + "/charges")
        expect(other.get_by_text("in another app process")).to_be_visible(timeout=WAIT)
        expect(other.get_by_role("button", name="Sync now")).to_have_count(0)
        expect(other.get_by_role("button", name="Resume sync")).to_have_count(0)

        stripe.released.set()
        for shown in (page, other):
            expect(shown.get_by_text("last synced")).to_be_visible(timeout=WAIT)

    lists = [request for request in stripe.requests if request.path in LIST_PATHS]
    asked = Counter((request.path, tuple(sorted(request.query))) for request in lists)
    assert {path for path, _ in asked} == set(LIST_PATHS)
    assert [query for query, times in asked.items() if times > 1] == []
