"""Many viewers on one dashboard: several browser sessions (Debian's Chromium) on the real app
(`streamlit run app.py`) reading a slow Stripe stand-in make one upstream request per widget per
refresh interval in total, not one per viewer, even when every session reaches a new interval
while the first request of that interval is still in flight; a stored server event makes them
all refetch, once, within seconds."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from lib.store.db import SQLITE_FILE_NAME
from tests.app_process import AppProcess
from tests.browser_support import chromium_browser, new_session_page, saved_on_failure
from tests.stripe_stand_in import StripeStandIn
from tests.test_browser_e2e import store_payment_event

pytestmark = pytest.mark.browser

KEY = "sk_test_51ManyViewersKey000000000000001"
ACCOUNT = {"id": "acct_1ManyViewers", "object": "account", "settings": {}}
SESSIONS = 4
INTERVAL_SECONDS = 2
# '@now' is resolved to the start of the refresh interval, so each request names its interval.
WIDGET: dict[str, Any] = {
    "type": "viewers-payments",
    "version": 1,
    "name": "Latest payments",
    "provider": "stripe",
    "dataSource": {
        "type": "api",
        "endpoint": "/charges",
        "method": "GET",
        "params": {"limit": 5, "created[lte]": "@now"},
        "refreshInterval": INTERVAL_SECONDS * 1000,
    },
    "transform": {"path": "data", "mapItem": {"id": "id", "amount": "amount"}},
    "display": {"view": "list", "fields": [{"key": "id", "label": "Payment", "type": "text"}]},
}
FIRST_ROW = ".st-key-widget-viewers-payments-rows-row-0"


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def stripe() -> Iterator[StripeStandIn]:
    # Slower than the interval's start is spread over the sessions: they arrive while in flight.
    server = StripeStandIn({KEY}, ACCOUNT, delay=1.0)
    try:
        yield server
    finally:
        server.close()


@dataclass(frozen=True)
class Viewers:
    """The served app on a fresh data folder showing one widget, with sessions open on it."""

    app: AppProcess
    database_url: str


def serve_widget(stripe: StripeStandIn, folder: Path, widget: dict[str, Any]) -> Viewers:
    widgets = folder / "widgets"
    widgets.mkdir()
    (widgets / "viewers-payments.json").write_text(json.dumps(widget), encoding="utf-8")
    data = folder / "app-data"
    env = {
        "APP_DATA_DIR": str(data),
        "WIDGETS_DIR": str(widgets),
        "STRIPE_SECRET_KEY": KEY,
        "STRIPE_API_BASE": stripe.api_base,
        "DATABASE_URL": "",
        "EVENTS_POLL_ENABLED": "false",
    }
    return Viewers(AppProcess(env, folder), f"sqlite:///{data / SQLITE_FILE_NAME}")


def open_sessions(browser: Browser, url: str, name: str) -> list[Page]:
    """SESSIONS pages opened at once, each showing the widget's first row."""
    pages = [new_session_page(browser) for _ in range(SESSIONS)]
    for page in pages:
        page.goto(url, wait_until="commit")
    for page in pages:
        with saved_on_failure(page, name):
            page.locator(FIRST_ROW).wait_for()
    return pages


def test_each_refresh_interval_makes_one_request_for_all_viewers(
    browser: Browser, stripe: StripeStandIn, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    app = serve_widget(stripe, tmp_path, WIDGET).app
    try:
        pages = open_sessions(browser, app.url, request.node.name)
        watched_from = len(stripe.requests_to("/v1/charges"))
        time.sleep(4 * INTERVAL_SECONDS + 1)
        for page in pages:  # every session still shows the list after the intervals turned
            with saved_on_failure(page, request.node.name):
                page.locator(FIRST_ROW).wait_for()
    finally:
        app.stop()

    watched = stripe.requests_to("/v1/charges")[watched_from:]
    per_interval = Counter(charges.param("created[lte]") for charges in watched)
    assert len(per_interval) >= 3, per_interval  # the intervals did turn while watched
    assert set(per_interval.values()) == {1}, per_interval
    assert stripe.keys_used("/v1/charges") == {KEY}


def test_a_stored_payment_event_makes_all_sessions_refetch_once_within_seconds(
    browser: Browser, stripe: StripeStandIn, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    hourly = {**WIDGET, "dataSource": {**WIDGET["dataSource"], "refreshInterval": 3_600_000}}
    viewers = serve_widget(stripe, tmp_path, hourly)
    try:
        open_sessions(browser, viewers.app.url, request.node.name)
        before = len(stripe.requests_to("/v1/charges"))
        store_payment_event(viewers.database_url, "evt_viewers_paid", "ch_viewers_paid")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(stripe.requests_to("/v1/charges")) == before:
            time.sleep(0.2)
        time.sleep(5)  # every session has looked for new events again since
    finally:
        viewers.app.stop()

    assert len(stripe.requests_to("/v1/charges")) == before + 1
