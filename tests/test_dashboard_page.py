"""The dashboard as a user sees it, run in-process with AppTest against the demo account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lib.accounts import demo_account, stripe_adapter_for
from lib.money import format_money
from lib.providers.types import RequestOptions
from tests.apptest_support import run_app, shown_text, table, unescape
from tests.loopback_server import LoopbackServer, Reply

STATIC_WIDGET = {
    "type": "static-money",
    "version": 1,
    "name": "Money check",
    "provider": "stripe",
    "dataSource": {
        "type": "static",
        "data": {
            "data": [
                {"id": "ch_1", "amount": 1999, "currency": "jpy", "status": "succeeded"},
                {"id": "ch_2", "amount": 1999, "currency": "kwd", "status": "failed"},
                {"id": "ch_3", "amount": -500, "currency": "usd", "status": "pending"},
            ]
        },
    },
    "transform": {
        "path": "data",
        "mapItem": {"id": "id", "amount": "amount", "currency": "currency", "status": "status"},
    },
    "display": {
        "view": "list",
        "fields": [
            {"key": "amount", "label": "Amount", "type": "number", "format": "currency"},
            {"key": "status", "label": "Status", "type": "badge"},
        ],
    },
}


def write_widget(folder: Path, name: str, definition: dict[str, object]) -> None:
    (folder / name).write_text(json.dumps(definition), encoding="utf-8")


def test_recent_payments_show_the_demo_accounts_newest_succeeded_charges() -> None:
    app = run_app()

    assert not app.exception
    texts = shown_text(app)
    assert any("Demo data" in text for text in texts)
    assert "#### Recent Payments" in texts
    listed = demo_adapter_charges()
    newest = max(
        (charge for charge in listed if charge["status"] == "succeeded"),
        key=lambda charge: charge["created"],
    )
    customer = newest["customer"]
    first_row = next(text for text in texts if " · " in text)
    assert first_row.startswith(f"**{format_money(newest['amount'], newest['currency'])}** · ")
    # The customer by name, as the other widgets show them; never by id.
    assert f" · {customer['name']} · " in first_row
    assert not any(customer["id"] in text for text in texts)


def demo_adapter_charges() -> list[dict[str, Any]]:
    account = demo_account()
    params = {"limit": 20, "expand": ["data.customer"]}
    response = stripe_adapter_for(account).request(
        account.credentials, RequestOptions("/charges", params=params)
    )
    assert response.success
    return response.data["data"]


def test_each_row_is_written_in_its_own_currency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_widget(tmp_path, "money.json", STATIC_WIDGET)
    monkeypatch.setenv("WIDGETS_DIR", str(tmp_path))

    texts = shown_text(run_app())

    lines = [text for text in texts if "·" in text or "badge" in text]
    assert any(text.startswith("**¥1,999**") for text in lines)
    assert any(text.startswith("**KWD\xa01.999**") for text in lines)
    assert any(text.startswith("**-$5.00**") for text in lines)
    assert any(":red-badge[Failed]" in text for text in lines)


def test_a_broken_definition_shows_its_error_card_while_the_others_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_widget(tmp_path, "money.json", STATIC_WIDGET)
    broken = json.loads(json.dumps(STATIC_WIDGET))
    broken["display"]["fields"][0]["format"] = "curency"
    write_widget(tmp_path, "broken.json", broken)
    (tmp_path / "not-json.json").write_text("{ nope", encoding="utf-8")
    monkeypatch.setenv("WIDGETS_DIR", str(tmp_path))

    app = run_app()

    assert not app.exception
    errors = [error.value for error in app.error]
    assert any("broken.json: display.fields[0].format" in error for error in errors)
    assert any("curency" in error and "relative-time" in error for error in errors)
    assert any("not-json.json" in error and "invalid JSON" in error for error in errors)
    assert any(text.startswith("**¥1,999**") for text in shown_text(app))


def test_a_rejected_key_asks_to_reconnect_instead_of_an_error_wall(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rejected = Reply(
        401,
        json={"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
    )
    with LoopbackServer() as stripe:
        stripe.on("/v1/charges", lambda _request: rejected)
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_rejected0000000000000000")
        monkeypatch.setenv("STRIPE_API_BASE", f"{stripe.url}/v1")

        app = run_app()

    assert not app.exception
    assert not any("Demo data" in text for text in shown_text(app))
    warnings = [warning.value for warning in app.warning]
    assert any("Stripe rejected the key in STRIPE_SECRET_KEY" in text for text in warnings)
    assert all("sk_test_rejected" not in text for text in shown_text(app))


def test_a_stored_connection_that_starts_failing_asks_to_reconnect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lib.config import get_settings
    from lib.providers.types import ProviderCredentials
    from lib.store import ConnectionInfo, CredentialsStore, get_engine, load_secret_box

    store = CredentialsStore(get_engine(), load_secret_box(get_settings())[0])
    store.save(
        "local",
        "stripe",
        ProviderCredentials(pat="sk_test_revoked00000000000000000"),
        ConnectionInfo(masked_key="sk_test_...0000", account_id="acct_1", mode="test"),
    )
    revoked = Reply(
        401, json={"error": {"type": "invalid_request_error", "message": "Expired API Key"}}
    )
    with LoopbackServer() as stripe:
        stripe.on("/v1/charges", lambda _request: revoked)
        monkeypatch.setenv("STRIPE_API_BASE", f"{stripe.url}/v1")
        get_settings.cache_clear()

        first = run_app()
        assert any("Reconnect Stripe" in w.value for w in first.warning)
        assert store.get("local", "stripe").status == "needs_reconnect"

        second = run_app()

    assert not second.exception
    assert any("Reconnect Stripe" in text for text in shown_text(second))
    assert not any("Demo data" in text for text in shown_text(second))


def test_a_stored_payment_event_makes_recent_payments_refetch_before_its_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lib.store import get_engine
    from lib.webhooks.events_store import new_event, store_event

    def charge(charge_id: str, amount: int) -> dict[str, object]:
        return {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "currency": "usd",
            "customer": "cus_live",
            "status": "succeeded",
            "created": 1_780_000_000,
            "description": charge_id,
        }

    listed = [charge("ch_first", 1000)]
    with LoopbackServer() as stripe:
        stripe.on("/v1/charges", lambda _request: Reply(json={"object": "list", "data": listed}))
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_refetch000000000000000000")
        monkeypatch.setenv("STRIPE_API_BASE", f"{stripe.url}/v1")
        app = run_app()
        assert any(text.startswith("**$10.00**") for text in shown_text(app))

        listed[:] = [charge("ch_second", 2500)]
        app.run()
        assert not any(text.startswith("**$25.00**") for text in shown_text(app)), "cached"

        event = {
            "id": "evt_new",
            "type": "charge.succeeded",
            "created": 1_780_000_001,
            "data": {"object": charge("ch_second", 2500)},
        }
        store_event(get_engine(), new_event(event, json.dumps(event), "webhook"))
        app.run()

    assert any(text.startswith("**$25.00**") for text in shown_text(app))


def test_hostile_widget_files_show_their_error_while_the_others_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_widget(tmp_path, "money.json", STATIC_WIDGET)
    (tmp_path / "deep.json").write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (tmp_path / "huge-number.json").write_text(
        json.dumps({**STATIC_WIDGET, "position": 1}).replace(
            '"position": 1', '"position": ' + "9" * 5000
        )
    )
    far_back = json.loads(json.dumps(STATIC_WIDGET))
    far_back["transform"]["filter"] = [
        {"field": "amount", "operator": ">=", "value": "@now-999999d"}
    ]
    write_widget(tmp_path, "far-back.json", far_back)
    monkeypatch.setenv("WIDGETS_DIR", str(tmp_path))

    app = run_app()

    assert not app.exception
    errors = [error.value for error in app.error]
    assert any("deep.json: a[0]" in e and "nested more than 64 levels" in e for e in errors)
    assert any("huge-number.json: position: number 999999999999" in e for e in errors)
    assert any(
        "far-back.json: transform.filter[0].value: time token '@now-999999d'" in e for e in errors
    )
    assert any(text.startswith("**¥1,999**") for text in shown_text(app))


MISSING_CURRENCY_ROWS = [
    {"id": "ch_ok", "amount": 1999, "currency": "usd"},
    {"id": "ch_upper", "amount": 500, "currency": "USD"},
    {"id": "ch_empty", "amount": 700, "currency": ""},
    {"id": "ch_none", "amount": 300},
    {"id": "ch_odd", "amount": 900, "currency": "u$d"},
]


def money_widget(view: str) -> dict[str, object]:
    return {
        "type": "missing-currency",
        "version": 1,
        "name": "Missing currency",
        "provider": "stripe",
        "dataSource": {"type": "static", "data": {"data": MISSING_CURRENCY_ROWS}},
        "transform": {
            "path": "data",
            "mapItem": {"id": "id", "amount": "amount", "currency": "currency"},
        },
        "display": {
            "view": view,
            "fields": [
                {"key": "id", "label": "Charge"},
                {"key": "amount", "label": "Amount", "type": "number", "format": "currency"},
            ],
            "stat": {"field": "amount", "aggregate": "sum", "groupBy": "currency", "label": "Sum"},
        },
    }


def test_rows_without_a_currency_show_no_amount_and_stay_out_of_money_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_widget(tmp_path, "list.json", money_widget("list"))
    write_widget(tmp_path, "table.json", money_widget("table"))
    monkeypatch.setenv("WIDGETS_DIR", str(tmp_path))

    app = run_app()

    assert not app.exception
    texts = shown_text(app)
    # usd and USD are one currency; the three rows without a valid code are left out.
    assert texts.count("USD: $24.99") == 2
    assert not any(text.startswith(("—:", "700", "300")) for text in texts)
    assert texts.count("3 rows left out: no valid currency code or whole amount") == 2
    lines = [text for text in texts if "ch_" in text]
    assert "**$19.99** · ch_ok" in lines and "**$5.00** · ch_upper" in lines
    assert {"ch_empty", "ch_none", "ch_odd"} <= set(lines)
    [table] = app.dataframe
    amounts = dict(zip(table.value["id"], table.value["amount"], strict=True))
    assert (amounts["ch_ok"], amounts["ch_upper"]) == (19.99, 5.0)
    assert all(pd.isna(amounts[key]) for key in ("ch_empty", "ch_none", "ch_odd"))


def test_statuses_read_as_words_and_captions_do_not_repeat_titles() -> None:
    app = run_app()

    assert not app.exception
    labels = [metric.label for metric in app.metric]
    assert {"Active", "Past due", "Trialing", "Unpaid"} <= set(labels)
    assert not any("_" in label or (label.isupper() and len(label) > 3) for label in labels)
    statuses = set(table(app, "widget-subscriptions-rows").value["status"])
    assert "Past due" in statuses and "past_due" not in statuses
    captions = [unescape(caption.value) for caption in app.caption]
    assert "Recent successful payments from Stripe" in captions
    assert "Display recent successful payments from Stripe" not in captions
    assert "Revenue today" not in captions and "Subscriptions" not in captions
