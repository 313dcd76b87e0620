"""The finance charts as the browser draws them (their Vega-Lite specs): tall enough to read,
money on the axis in each chart's own currency as the app's locale writes it, and what the
time axis shows said once above the charts rather than under each."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import lib.config
from lib.config import PROJECT_ROOT
from lib.render.finance.charts import CHART_HEIGHT
from lib.store import get_engine
from lib.sync import SYNC_ORDER, write_objects
from lib.sync.state import record_page
from tests.apptest_support import shown_text

SUBSCRIPTIONS_PAGE = str(PROJECT_ROOT / "app_pages" / "subscriptions.py")
MRR_CAPTION = "Each point is MRR at the end of its month (UTC); this month's is MRR now."


def subscription(sub_id: str, currency: str, amount: int) -> dict[str, Any]:
    started = int((datetime.now(UTC) - timedelta(days=200)).timestamp())
    price = {"unit_amount": amount, "recurring": {"interval": "month", "interval_count": 1}}
    return {
        "id": sub_id,
        "object": "subscription",
        "status": "active",
        "currency": currency,
        "created": started,
        "start_date": started,
        "trial_end": None,
        "ended_at": None,
        "items": {"object": "list", "data": [{"quantity": 1, "price": price}]},
    }


@pytest.fixture
def subscriptions_mirror() -> None:
    now = int(datetime.now(UTC).timestamp())
    rows = [
        subscription("sub_gbp", "gbp", 123_450),
        subscription("sub_jpy", "jpy", 3000),
        subscription("sub_kwd", "kwd", 12_345),
    ]
    with get_engine().begin() as connection:
        write_objects(connection, "demo", "subscriptions", rows, now)
        for resource in SYNC_ORDER:
            record_page(
                connection, "demo", resource, cursor=None, newest_created=None, finished=True
            )


def mrr_charts(at: AppTest) -> dict[str, dict[str, Any]]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    return {spec["title"]: spec for spec in specs}


@pytest.mark.usefixtures("subscriptions_mirror")
def test_mrr_charts_are_readable_with_money_on_the_axis() -> None:
    at = AppTest.from_file(SUBSCRIPTIONS_PAGE, default_timeout=30).run()

    charts = mrr_charts(at)
    assert sorted(charts) == ["GBP", "JPY", "KWD"]
    for spec in charts.values():
        assert spec["height"] == CHART_HEIGHT
        assert spec["encoding"]["x"]["title"] is None
        assert spec["encoding"]["y"]["title"] is None
    # d3's "$" is the chart's own currency, from its locale: £1,234.50 on the GBP axis.
    assert charts["GBP"]["encoding"]["y"]["axis"]["format"] == "$,.2f"
    assert charts["GBP"]["config"]["locale"]["number"]["currency"] == ["£", ""]
    assert charts["JPY"]["encoding"]["y"]["axis"]["format"] == "$,.0f"
    assert charts["KWD"]["encoding"]["y"]["axis"]["format"] == "$,.3f"
    assert charts["KWD"]["config"]["locale"]["number"]["currency"] == ["KWD\xa0", ""]
    assert shown_text(at).count(MRR_CAPTION) == 1


@pytest.mark.usefixtures("subscriptions_mirror")
def test_chart_axes_follow_the_app_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_LOCALE", "de_DE")
    lib.config.get_settings.cache_clear()

    at = AppTest.from_file(SUBSCRIPTIONS_PAGE, default_timeout=30).run()

    number = mrr_charts(at)["GBP"]["config"]["locale"]["number"]
    assert (number["decimal"], number["thousands"]) == (",", ".")
    assert number["currency"] == ["", "\xa0£"]


def test_a_subscription_without_a_valid_currency_is_left_out_of_the_charts() -> None:
    now = int(datetime.now(UTC).timestamp())
    rows = [subscription("sub_ok", "usd", 2000), subscription("sub_odd", "us$", 2000)]
    with get_engine().begin() as connection:
        write_objects(connection, "demo", "subscriptions", rows, now)
        for resource in SYNC_ORDER:
            record_page(
                connection, "demo", resource, cursor=None, newest_created=None, finished=True
            )

    at = AppTest.from_file(SUBSCRIPTIONS_PAGE, default_timeout=30).run()

    assert not at.exception
    assert sorted(mrr_charts(at)) == ["USD"]
    assert "Amounts without a valid currency code are left out of these charts." in (shown_text(at))
