"""Hostile values in every text field the pages show (from Stripe, a connected account, a widget
file, the URL) are shown literally: no link, image or HTML to the attacker's host, and links only
where the app means one (a widget's link field, to its own http(s) URL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import lib.config
from lib.config import PROJECT_ROOT, get_settings
from lib.providers import ProviderCredentials
from lib.store import ConnectionInfo, get_engine
from lib.sync import write_objects
from lib.webhooks.events_store import list_server_events, new_event, record_outcomes, store_event
from lib.webhooks.events_store.cursor import record_poll_error
from lib.widgets.customer_names import MAX_NAME_CHARS
from tests.apptest_support import markdown_sources, run_app, select_row, shown_text, unescape
from tests.credentials_support import (
    GOOD_KEY,
    app_credentials_store,
    connect_state_in_browser,
    offer_stripe_connect,
)
from tests.loopback_server import LoopbackServer, Reply
from tests.markdown_links import link_targets, links_to
from tests.mirror_support import charge_object, record_synced

EVIL = "evil.example"
PHISH = "[Your session expired - sign in again](https://evil.example/login)"
BEACON = "![pixel](https://evil.example/pixel.png)"
TAG = '<img src="https://evil.example/tag.png">'
BARE = "https://evil.example/bare"
WWW = "www.evil.example"
MAIL = "help@evil.example"


def hostile(field: str) -> str:
    """A value for `field` carrying every way markdown could link, load or format."""
    return (
        f"{field} {PHISH} {BEACON} {TAG} see {BARE} or {WWW} or {MAIL} "
        f":red[{field}] :material/warning: $x$ **bold** `tick"
    )


def assert_no_link_to_evil(app: AppTest) -> None:
    """Nothing the page renders as markdown links to, or loads from, the evil host."""
    assert not app.exception
    offending = {
        source: links_to(source, EVIL) for source in markdown_sources(app) if links_to(source, EVIL)
    }
    assert offending == {}
    urls = [button.proto.url for button in app.get("link_button")]
    assert not [url for url in urls if EVIL in url]


def assert_shown_literally(app: AppTest, field: str) -> None:
    """The hostile value of `field` is on the page, character for character."""
    texts = shown_text(app) + [unescape(source) for source in markdown_sources(app)]
    assert any(hostile(field) in text for text in texts), f"{field} not shown literally"


# --- Dashboard: widget rows, card, table, stat and the widget's own texts -------------------

ROWS = [
    {
        "id": "ch_1",
        "amount": 1999,
        "currency": "usd",
        "status": "succeeded",
        "customer_name": hostile("name"),
        "customer_email": f"ana{MAIL}",
        "description": hostile("description"),
        "metadata": {"order": hostile("metadata")},
        "failure_message": hostile("failure"),
        "receipt_url": "https://ok.example/receipt/1",
        "other_url": "https://ok.example/r?a=1) [click](https://evil.example/x) ![p](https://evil.example/p.png",
    },
    {
        "id": "ch_2",
        "amount": 500,
        "currency": "usd",
        "status": hostile("status"),
        "customer_name": hostile("name"),
        "customer_email": MAIL,
        "description": "second",
        "metadata": {"order": "2"},
        "failure_message": "",
        "receipt_url": "javascript:alert(document.cookie)",
        "other_url": "data:text/html,<script>alert(1)</script>",
    },
]
MAP_ITEM = {
    "id": "id",
    "amount": "amount",
    "currency": "currency",
    "status": "status",
    "customer_name": "customer_name",
    "customer_email": "customer_email",
    "description": "description",
    "order": "metadata.order",
    "failure_message": "failure_message",
    "receipt": "receipt_url",
    "other": "other_url",
}
FIELDS = [
    {"key": "amount", "label": "Amount", "type": "number", "format": "currency"},
    {"key": "status", "label": "Status", "type": "badge"},
    {"key": "customer_name", "label": "Name"},
    {"key": "customer_email", "label": "Email"},
    {"key": "description", "label": "Description"},
    {"key": "order", "label": "Order"},
    {"key": "failure_message", "label": "Failure"},
    {"key": "receipt", "label": "Receipt", "type": "link", "linkText": "Receipt"},
    {"key": "other", "label": "Other", "type": "link"},
]


def widget(view: str, name: str, **display: Any) -> dict[str, Any]:
    return {
        "type": f"hostile-{view}",
        "version": 1,
        "name": name,
        "description": hostile("widget description"),
        "provider": "stripe",
        "dataSource": {"type": "static", "data": {"data": ROWS}},
        "transform": {"path": "data", "mapItem": MAP_ITEM},
        "display": {
            "view": view,
            "layout": {"emptyState": hostile("empty state")},
            "fields": FIELDS,
            **display,
        },
    }


@pytest.fixture
def hostile_widgets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    definitions = {
        "list.json": widget("list", hostile("widget name")),
        "card.json": widget("card", "Card"),
        "table.json": widget("table", "Table"),
        "summary.json": widget(
            "list",
            "Summary",
            summaryFields=["customer_name", "receipt"],
            stat={"field": "id", "aggregate": "count", "groupBy": "customer_name", "label": "By"},
        ),
    }
    for file_name, definition in definitions.items():
        (tmp_path / file_name).write_text(json.dumps(definition), encoding="utf-8")
    monkeypatch.setenv("WIDGETS_DIR", str(tmp_path))
    lib.config.get_settings.cache_clear()
    return run_app()


def test_hostile_rows_and_definitions_render_as_text_on_the_dashboard(
    hostile_widgets: AppTest,
) -> None:
    app = hostile_widgets

    assert_no_link_to_evil(app)
    for field in ("name", "description", "metadata", "failure", "widget name"):
        assert_shown_literally(app, field)
    assert_shown_literally(app, "widget description")
    metric_labels = [unescape(metric.label) for metric in app.metric]
    assert hostile("name") in metric_labels  # a group label that is not an enum stays as it is


def test_a_link_field_links_its_text_to_its_own_http_url_only(hostile_widgets: AppTest) -> None:
    lines = [source for source in markdown_sources(hostile_widgets) if "Receipt" in source]
    first_rows = [line for line in lines if "ana" in line]
    assert first_rows, lines

    for line in first_rows:
        targets = link_targets(line)
        assert "https://ok.example/receipt/1" in targets
        assert "Receipt" not in targets  # the old `[Receipt](Receipt)`
        assert (
            "https://ok.example/r?a=1%29%20%5Bclick%5D%28https://evil.example/x%29%20!%5Bp%5D"
            "%28https://evil.example/p.png"
        ) in targets
        assert links_to(line, EVIL) == []


def test_a_link_field_that_is_not_http_is_plain_text(hostile_widgets: AppTest) -> None:
    second_rows = [
        source
        for source in markdown_sources(hostile_widgets)
        if "javascript" in source and "·" in source
    ]

    assert second_rows
    for line in second_rows:
        assert link_targets(line) == []
        assert "javascript:alert(document.cookie)" in unescape(line)
        assert "data:text/html,<script>alert(1)</script>" in unescape(line)


def test_a_table_link_column_keeps_only_http_urls(hostile_widgets: AppTest) -> None:
    [table] = [frame.value for frame in hostile_widgets.dataframe if "receipt" in frame.value]

    assert table["receipt"].iloc[0] == "https://ok.example/receipt/1"
    assert pd.isna(table["receipt"].iloc[1]) and pd.isna(table["other"].iloc[1])
    assert " " not in str(table["other"].iloc[0])


# --- The connected account's name: banner, card, flash messages -----------------------------

ACCOUNT_NAME = hostile("account")


def test_a_connected_accounts_name_is_shown_literally_on_every_page() -> None:
    store = app_credentials_store()
    store.save(
        "local",
        "stripe",
        ProviderCredentials(pat=GOOD_KEY),
        ConnectionInfo(
            masked_key="sk_test_...4242",
            account_id="acct_1`[x](https://evil.example)",
            account_name=ACCOUNT_NAME,
            mode="test",
        ),
    )

    app = run_app("app_pages/credentials.py")

    assert_no_link_to_evil(app)
    assert any(ACCOUNT_NAME in unescape(source) for source in markdown_sources(app))
    card = next(text for text in shown_text(app) if text.startswith("**Account:**"))
    assert f"**Account:** {ACCOUNT_NAME}" in card
    assert "**Account id:** acct_1`[x](https://evil.example)" in card

    store.mark_needs_reconnect("local", "stripe", hostile("reason"))
    app.run()

    assert_no_link_to_evil(app)
    assert_shown_literally(app, "reason")


def test_connecting_an_account_with_a_hostile_name_flashes_it_literally(
    stripe_fake: LoopbackServer,
) -> None:
    stripe_fake.queue(
        "/v1/account",
        Reply(json={"id": "acct_1Hostile", "business_profile": {"name": ACCOUNT_NAME}}),
    )
    app = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "credentials.py"), default_timeout=30)
    app.run()

    app.text_input(key="key_stripe_pat").input(GOOD_KEY)
    app.button(key="save_stripe").click().run()

    assert_no_link_to_evil(app)
    [flash] = [unescape(element.value) for element in app.success]
    assert flash == f"Connected Stripe: {ACCOUNT_NAME} (acct_1Hostile, test mode)."


def test_a_hostile_error_description_on_the_oauth_return_is_shown_literally(
    stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer_stripe_connect(monkeypatch)
    state = connect_state_in_browser(monkeypatch)
    app = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "credentials.py"), default_timeout=30)
    app.query_params["error"] = "access_denied"
    app.query_params["error_description"] = hostile("description")
    app.query_params["state"] = state

    app.run()

    assert_no_link_to_evil(app)
    assert_shown_literally(app, "description")


# --- Charges: the detail of a mirrored charge and its customer ------------------------------


def mirrored_charge(charge_id: str, customer: str | None, receipt_url: str) -> dict[str, Any]:
    return charge_object(
        charge_id,
        1999,
        "usd",
        created=int((datetime.now(UTC) - timedelta(hours=1)).timestamp()),
        status="failed",
        customer=customer,
        description=hostile("description"),
        failure_code="card_declined",
        failure_message=hostile("failure"),
        receipt_url=receipt_url,
        receipt_email=None,
        metadata={"order": hostile("metadata")},
        billing_details={"email": f"ana{MAIL}", "name": hostile("billing name")},
        payment_method_details={
            "type": "card",
            "card": {"brand": hostile("brand"), "last4": "4242", "country": "US"},
        },
    )


@pytest.fixture
def hostile_mirror() -> None:
    now = int(datetime.now(UTC).timestamp())
    customer = {
        "id": "cus_hostile",
        "object": "customer",
        "name": hostile("customer name"),
        "email": MAIL,
        "created": now - 86_400,
    }
    charges = [
        mirrored_charge("ch_with_customer", "cus_hostile", "javascript:alert(1)"),
        mirrored_charge("ch_billing_only", None, "https://pay.stripe.com/receipts/x y)"),
    ]
    with get_engine().begin() as connection:
        write_objects(connection, "demo", "customers", [customer], now)
        write_objects(connection, "demo", "charges", charges, now)
        record_synced(connection, "demo")


def open_charge(row: int) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "charges.py"), default_timeout=30)
    app.run()
    select_row(app, "charges_table", row)
    return app


@pytest.mark.usefixtures("hostile_mirror")
def test_a_charges_detail_shows_hostile_fields_literally() -> None:
    ids = list(open_charge(0).dataframe[1].value["id"])
    with_customer = open_charge(ids.index("ch_with_customer"))

    assert_no_link_to_evil(with_customer)
    for field in ("description", "failure", "customer name", "brand"):
        assert any(hostile(field) in text for text in shown_text(with_customer)), field
    assert any(MAIL in text for text in shown_text(with_customer))
    buttons = {button.proto.label: button.proto.url for button in with_customer.get("link_button")}
    assert "Receipt" not in buttons  # a javascript: receipt URL gets no button

    billing_only = open_charge(ids.index("ch_billing_only"))

    assert_no_link_to_evil(billing_only)
    assert any(hostile("billing name") in text for text in shown_text(billing_only))
    buttons = {button.proto.label: button.proto.url for button in billing_only.get("link_button")}
    assert buttons["Receipt"] == "https://pay.stripe.com/receipts/x%20y%29"


def test_an_amount_that_is_not_a_number_is_named_literally() -> None:
    app = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "charges.py"), default_timeout=30)
    app.query_params["currency"] = "usd"
    app.run()

    typed = "[Sign in](https://evil.example/x)"  # fits the box's 40 characters
    app.text_input(key="charges_min").input(typed).run()

    assert_no_link_to_evil(app)
    assert any(typed in unescape(warning.value) for warning in app.warning)


# --- Event Debugger and Webhooks: stored events and their errors -----------------------------


def store_hostile_event() -> int:
    event = {
        "id": f"evt_{PHISH}",
        "type": "charge.failed",
        "created": int(datetime.now(UTC).timestamp()),
        "data": {"object": {"id": "ch_x", "description": hostile("payload")}},
    }
    engine = get_engine()
    assert store_event(engine, new_event(event, json.dumps(event), "webhook"))
    [stored] = list_server_events(engine, limit=1)
    record_outcomes(engine, {stored.id: hostile("processing error")})
    return stored.id


def test_a_hostile_stored_event_is_shown_literally_in_the_debugger() -> None:
    event_id = store_hostile_event()
    app = run_app("app_pages/event_debugger.py")
    select_row(app, "debugger-events-", 0)
    assert any(f"Stored event #{event_id}" in text for text in map(unescape, markdown_sources(app)))

    assert_no_link_to_evil(app)
    assert_shown_literally(app, "processing error")

    app.text_input(key="debugger-pattern").input(f"stripe.{PHISH}").run()

    assert_no_link_to_evil(app)


def test_a_hostile_event_and_sync_error_are_shown_literally_on_the_webhooks_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_hostile_event()
    record_poll_error(get_engine(), "demo", hostile("poll error"))
    app = run_app("app_pages/webhooks.py")

    assert_no_link_to_evil(app)
    assert_shown_literally(app, "poll error")

    select_row(app, "webhook-events-", 0)
    assert_no_link_to_evil(app)
    assert_shown_literally(app, "processing error")
    next(button for button in app.button if button.label == "Show on the dashboard again").click()
    app.run()

    assert_no_link_to_evil(app)
    assert any(f"(evt_{PHISH})" in unescape(element.value) for element in app.success)

    with LoopbackServer() as stripe_api:
        stripe_api.on(
            "/v1/events",
            lambda _request: Reply(status=400, json={"error": {"message": hostile("api")}}),
        )
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_" + "k" * 24)
        monkeypatch.setenv("STRIPE_API_BASE", stripe_api.url + "/v1")
        lib.config.get_settings.cache_clear()
        app = run_app("app_pages/webhooks.py")
        next(button for button in app.button if button.label == "Sync now").click()
        app.run()

    assert_no_link_to_evil(app)
    assert any(EVIL in unescape(element.value) for element in app.error)


def test_a_hostile_customer_name_from_stripe_is_shown_literally_in_rows_and_chips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = hostile("customer")[:MAX_NAME_CHARS]  # as long as Stripe allows
    who = {"id": "cus_hostile", "object": "customer", "name": name, "email": MAIL}

    def charges(request: Any) -> Reply:
        expanded = request.param("expand[]") == "data.customer"
        item = {
            "id": "ch_hostile",
            "object": "charge",
            "amount": 1999,
            "currency": "usd",
            "customer": who if expanded else who["id"],
            "status": "succeeded",
            "created": 1_790_000_000,
            "description": "Beans",
        }
        return Reply(json={"object": "list", "data": [item], "has_more": False})

    with LoopbackServer() as stripe:
        stripe.on("/v1/charges", charges)
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_hostilename0000000000000")
        monkeypatch.setenv("STRIPE_API_BASE", f"{stripe.url}/v1")
        get_settings.cache_clear()
        app = run_app()
        app.button(key="widget-stripe-payments-rows-0").click().run()
        recent = [r for r in stripe.requests_to("/v1/charges") if r.param("limit") == "20"]

    # One request per refresh, asking Stripe to expand the customer the row shows.
    assert recent and all(r.param("expand[]") == "data.customer" for r in recent)
    assert_no_link_to_evil(app)
    assert any(f"**$19.99** · {name} · Beans · " in text for text in shown_text(app))
    chip = app.button(key="widget-customer-chip-0")
    assert unescape(chip.label) == f"Customer: {name}  ✕"
