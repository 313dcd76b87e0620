"""Many viewers on one dashboard: several browser sessions (Debian's Chromium) on the real app
(`streamlit run app.py`) reading a slow Stripe stand-in make one upstream request per widget per
refresh interval in total, not one per viewer, even when every session reaches a new interval
while the first request of that interval is still in flight."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.app_process import AppProcess
from tests.browser_support import chromium_browser, new_session_page, saved_on_failure
from tests.stripe_stand_in import StripeStandIn

pytestmark = pytest.mark.browser

KEY = "sk_test_51ManyViewersKey000000000000001"
ACCOUNT = {"id": "acct_1ManyViewers", "object": "account", "settings": {}}
SESSIONS = 4
INTERVAL_SECONDS = 2
# '@now' is resolved to the start of the refresh interval, so each request names its interval.
WIDGET = {
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


def test_each_refresh_interval_makes_one_request_for_all_viewers(
    browser: Browser, stripe: StripeStandIn, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    widgets = tmp_path / "widgets"
    widgets.mkdir()
    (widgets / "viewers-payments.json").write_text(json.dumps(WIDGET), encoding="utf-8")
    env = {
        "APP_DATA_DIR": str(tmp_path / "app-data"),
        "WIDGETS_DIR": str(widgets),
        "STRIPE_SECRET_KEY": KEY,
        "STRIPE_API_BASE": stripe.api_base,
        "DATABASE_URL": "",
        "EVENTS_POLL_ENABLED": "false",
    }
    app = AppProcess(env, tmp_path)
    try:
        pages = [new_session_page(browser) for _ in range(SESSIONS)]
        for page in pages:
            page.goto(app.url, wait_until="commit")
        for page in pages:
            with saved_on_failure(page, request.node.name):
                page.locator(FIRST_ROW).wait_for()
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
