"""The Charges page under AppTest, over a mirror filled with known charges: filters change the
rows and the per-currency summary, the URL carries the filters (and a link reproduces them),
selecting a row publishes the event and opens the detail, the CSV export link downloads the rows
and the Excel export says when it is too large."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.proto.Block_pb2 import Block as BlockProto
from streamlit.testing.v1 import AppTest

import lib.finance.export
from lib.config import PROJECT_ROOT
from lib.dates import format_datetime, format_relative
from lib.http_routes import build_routes
from lib.render.widgets.views import DATETIME_FORMAT
from lib.store import get_engine
from lib.sync import write_objects
from tests.apptest_support import select_row, shown_text, table, unescape
from tests.mirror_support import record_synced

PAGE = str(PROJECT_ROOT / "app_pages" / "charges.py")
ACCOUNT = "demo"  # no key is configured in tests, so the page reads the demo account


def charge(
    charge_id: str,
    amount: int,
    currency: str,
    hours_ago: float,
    *,
    status: str = "succeeded",
    refunded: int = 0,
    email: str = "ana@example.com",
) -> dict[str, Any]:
    created = int((datetime.now(UTC) - timedelta(hours=hours_ago)).timestamp())
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_refunded": refunded,
        "currency": currency,
        "created": created,
        "status": status,
        "customer": None,
        "description": f"Order {charge_id}",
        "refunded": refunded == amount,
        "disputed": False,
        "livemode": False,
        "failure_code": "card_declined" if status == "failed" else None,
        "failure_message": None,
        "receipt_url": f"https://pay.stripe.com/receipts/{charge_id}",
        "billing_details": {"email": email, "name": None},
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
    }


CHARGES = [
    charge("ch_usd_ok", 1999, "usd", 1, email="ana@example.com"),
    charge("ch_usd_refunded", 5000, "usd", 2, refunded=1250, email="ben@example.org"),
    charge("ch_usd_failed", 2500, "usd", 3, status="failed"),
    charge("ch_jpy_ok", 1500, "jpy", 4, email="kenji@example.jp"),
    charge("ch_kwd_ok", 1500, "kwd", 5, email="fatima@example.com"),
    charge("ch_kwd_big", 12345, "kwd", 6),
    charge("ch_eur_old", 4200, "eur", 24 * 45),
    *(charge(f"ch_bulk_{n:03d}", 100 + n, "usd", 24 + n) for n in range(55)),
]


@pytest.fixture
def mirror() -> None:
    """The demo account's mirror holds CHARGES and counts as synced (no sync starts)."""
    with get_engine().begin() as connection:
        write_objects(connection, ACCOUNT, "charges", CHARGES, int(datetime.now(UTC).timestamp()))
        record_synced(connection, ACCOUNT)


def page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=30)


def summary(at: AppTest) -> dict[str, tuple[str, ...]]:
    frame = at.dataframe[0].value
    return {
        row["Currency"]: (row["Charges"], row["Gross (succeeded)"], row["Refunded"], row["Net"])
        for _, row in frame.iterrows()
    }


def table_ids(at: AppTest) -> list[str]:
    return list(table(at, "charges_table").value["id"])


def test_the_default_view_shows_the_last_30_days_newest_first(mirror: None) -> None:
    at = page().run()

    assert not at.exception
    assert summary(at) == {
        "JPY": ("1", "¥1,500", "¥0", "¥1,500"),
        "KWD": ("2", "KWD\xa013.845", "KWD\xa00.000", "KWD\xa013.845"),
        "USD": ("58", "$139.84", "$12.50", "$127.34"),
    }
    assert table_ids(at)[:3] == ["ch_usd_ok", "ch_usd_refunded", "ch_usd_failed"]
    assert len(table_ids(at)) == 50
    assert "Charges 1–50 of 61" in [caption.value for caption in at.caption]
    assert dict(at.query_params) == {}


def test_filters_change_the_rows_the_summary_and_the_url(mirror: None) -> None:
    at = page().run()

    at.multiselect(key="charges_currency").set_value(["kwd", "jpy"])
    at.run()

    assert sorted(table_ids(at)) == ["ch_jpy_ok", "ch_kwd_big", "ch_kwd_ok"]
    assert set(summary(at)) == {"JPY", "KWD"}
    assert at.query_params["currency"] == "kwd,jpy"

    at.multiselect(key="charges_currency").set_value(["kwd"])
    at.run()
    at.text_input(key="charges_min").input("2")
    at.run()

    assert table_ids(at) == ["ch_kwd_big"]
    assert summary(at) == {"KWD": ("1", "KWD\xa012.345", "KWD\xa00.000", "KWD\xa012.345")}
    assert (at.query_params["currency"], at.query_params["min"]) == ("kwd", "2")

    at.text_input(key="charges_min").input("")
    at.selectbox(key="charges_range").select("all")
    at.text_input(key="charges_q").input("ch_kwd_OK")
    at.run()

    assert table_ids(at) == ["ch_kwd_ok"]
    assert dict(at.query_params) == {"range": "all", "currency": "kwd", "q": "ch_kwd_OK"}


def test_a_shared_link_reproduces_the_view(mirror: None) -> None:
    at = page()
    at.query_params["range"] = "all"
    at.query_params["status"] = "succeeded"
    at.query_params["currency"] = "usd,eur"
    at.query_params["sort"] = "amount"
    at.run()

    assert table_ids(at)[:3] == ["ch_eur_old", "ch_usd_refunded", "ch_usd_ok"]
    assert set(summary(at)) == {"EUR", "USD"}
    assert at.multiselect(key="charges_status").value == ["succeeded"]
    assert at.selectbox(key="charges_sort").value == "amount"


def test_paging_moves_through_the_rows_and_a_filter_change_starts_over(mirror: None) -> None:
    at = page().run()

    at.pagination[0].select(2)
    at.run()

    assert len(table_ids(at)) == 11
    assert at.query_params["page"] == "2"
    at.multiselect(key="charges_status").set_value(["succeeded"])
    at.run()
    assert "page" not in dict(at.query_params)
    assert table_ids(at)[0] == "ch_usd_ok"


def test_selecting_a_row_publishes_the_payment_and_opens_its_detail(mirror: None) -> None:
    at = page().run()

    select_row(at, "charges_table", 1)

    bus = at.session_state["_event_bus"]
    events = bus.log("stripe.payment.selected")
    assert [entry.event.payload for entry in events] == [
        {
            "id": "ch_usd_refunded",
            "amount": 5000,
            "currency": "usd",
            "customer": None,
            "status": "succeeded",
        }
    ]
    assert events[0].event.source == "charges-explorer"
    markdown = " ".join(block.value for block in at.markdown).replace("\\", "")
    assert "$50.00" in markdown and "$12.50" in markdown
    buttons = at.get("link_button")
    urls = [button.proto.url for button in buttons]
    assert "https://dashboard.stripe.com/test/payments/ch_usd_refunded" in urls
    assert "https://pay.stripe.com/receipts/ch_usd_refunded" in urls
    # Another rerun with the same selection does not publish again.
    at.run()
    assert len(bus.log("stripe.payment.selected")) == 1


def test_a_charges_details_open_in_a_side_panel_with_an_absolute_time(mirror: None) -> None:
    at = page().run()

    select_row(at, "charges_table", 1)

    [panel] = at.get("dialog")
    assert (panel.proto.dialog.title, panel.proto.dialog.is_open) == ("Charge details", True)
    assert panel.proto.dialog.position == BlockProto.Dialog.DialogPosition.RIGHT
    created = datetime.fromtimestamp(CHARGES[1]["created"], UTC)
    when = f"{format_datetime(created)} ({format_relative(created, datetime.now(UTC))})"
    assert f"ch_usd_refunded · {when}" in [unescape(caption.value) for caption in panel.caption]
    assert when.startswith(created.strftime("%b ")) and when.split(" (")[0].endswith(" UTC")
    assert "$50.00" in " ".join(unescape(block.value) for block in panel.markdown)


def test_the_table_shows_the_date_and_time_with_the_relative_time_beside_it(
    mirror: None,
) -> None:
    at = page().run()

    columns = json.loads(table(at, "charges_table").proto.columns)
    assert columns["created"]["label"] == "Date"
    assert columns["created"]["type_config"] == {"type": "datetime", "format": DATETIME_FORMAT}
    assert columns["created_ago"]["label"] == "When"
    assert columns["created_ago"]["type_config"]["format"] == "distance"
    shown = table(at, "charges_table").value
    assert shown["created"].iloc[0] == pd.Timestamp(CHARGES[0]["created"], unit="s", tz="UTC")


def csv_link(at: AppTest) -> Any:
    [button] = [b for b in at.get("link_button") if b.proto.label.endswith("to CSV")]
    return button.proto


def test_the_csv_export_link_downloads_the_filtered_rows(mirror: None) -> None:
    at = page()
    at.query_params["currency"] = "kwd,jpy"
    at.run()

    link = csv_link(at)
    target = urlsplit(link.url)
    client = TestClient(Starlette(routes=build_routes()))
    response = client.get(f"{target.path}?{target.query}")
    rows = list(csv.DictReader(io.StringIO(response.text)))

    assert (link.label, link.disabled) == ("Export 3 charges to CSV", False)
    assert target.path == "/api/exports/charges.csv"
    assert response.status_code == 200
    assert [(r["id"], r["amount"], r["currency"]) for r in rows] == [
        ("ch_jpy_ok", "1500", "JPY"),
        ("ch_kwd_ok", "1.500", "KWD"),
        ("ch_kwd_big", "12.345", "KWD"),
    ]
    assert all(r["created_utc"].endswith("Z") for r in rows)
    assert not at.download_button(key="charges_export_xlsx").disabled


def test_the_excel_export_says_when_it_is_too_large_and_offers_csv(
    mirror: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lib.finance.export, "XLSX_EXPORT_MAX_CHARGES", 2)
    at = page()
    at.query_params["currency"] = "kwd,jpy"
    at.run()

    assert at.download_button(key="charges_export_xlsx").disabled
    assert (
        "The Excel export holds at most 2 charges and these filters match 3. Export CSV "
        "instead: it holds every charge and starts downloading at once. Or narrow the filters."
    ) in [caption.value for caption in at.caption]
    assert not csv_link(at).disabled

    monkeypatch.setattr(lib.finance.export, "EXCEL_MAX_ROWS", 3)
    at.run()

    assert at.download_button(key="charges_export_xlsx").disabled
    assert any(
        caption.value.startswith(
            "Excel opens at most 2 rows of data in a sheet and these filters match 3 charges, "
            "so there is no Excel file for them. Export CSV instead"
        )
        for caption in at.caption
    )


def test_an_amount_the_view_cannot_apply_is_left_out_and_explained(mirror: None) -> None:
    at = page()
    at.query_params["min"] = "10"
    at.run()

    assert at.text_input(key="charges_min").disabled
    assert len(table_ids(at)) == 50
    assert "Choose exactly one currency to filter by amount." in [c.value for c in at.caption]

    at = page()
    at.query_params["currency"] = "jpy"
    at.query_params["min"] = "1.5"
    at.run()

    assert table_ids(at) == ["ch_jpy_ok"]
    assert [w.value for w in at.warning] == [
        "Min amount ignored: JPY amounts have 0 decimal places."
    ]


def test_the_subscriptions_page_shows_mrr_churn_and_how_they_are_defined(mirror: None) -> None:
    started = int((datetime.now(UTC) - timedelta(days=90)).timestamp())

    def subscription(sub_id: str, status: str, amount: int, interval: str) -> dict[str, Any]:
        price = {"unit_amount": amount, "recurring": {"interval": interval, "interval_count": 1}}
        return {
            "id": sub_id,
            "object": "subscription",
            "status": status,
            "currency": "usd",
            "created": started,
            "start_date": started,
            "trial_end": None,
            "ended_at": None,
            "items": {"object": "list", "data": [{"quantity": 1, "price": price}]},
        }

    with get_engine().begin() as connection:
        write_objects(
            connection,
            ACCOUNT,
            "subscriptions",
            [
                subscription("sub_month", "active", 2400, "month"),
                subscription("sub_year", "past_due", 24000, "year"),
                subscription("sub_trial", "trialing", 2400, "month"),
            ],
            int(datetime.now(UTC).timestamp()),
        )

    at = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "subscriptions.py"), default_timeout=30)
    at.run()

    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert (metrics["Active"], metrics["Past due"], metrics["Trialing"]) == ("1", "1", "1")
    assert "MRR counts active and past-due subscriptions: 2 now." in shown_text(at)
    mrr = at.dataframe[0].value.iloc[0]
    assert (mrr["Currency"], mrr["MRR"]) == ("USD", "$44.00")  # 24.00 + 240.00 / 12
    assert "Subscriber churn" in at.expander[0].markdown[0].value


def test_the_charts_tab_plots_volume_per_currency_and_failures_by_code(mirror: None) -> None:
    at = page().run()

    at.session_state["charges_view"] = "Charts"
    at.run()

    assert not at.exception
    charts = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    # One volume chart per currency with succeeded charges (own scale each), then failures.
    titles = [chart.get("title") for chart in charts]
    assert sorted(titles[:3]) == ["JPY", "KWD", "USD"] and titles[3] is None
    assert charts[3]["encoding"]["y"]["field"] == "failure_code"
    assert len(at.dataframe) == 1  # the summary only: the hidden table tab did not run
