"""`python -m lib.widgets preview`: a widget's rows as the dashboard shows them, as text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lib.accounts import demo_account, settings_account, stripe_adapter_for
from lib.config import PROJECT_ROOT, get_settings
from lib.money import format_money
from lib.providers.types import RequestOptions
from lib.widgets.__main__ import main
from lib.widgets.loader import load_widget_file
from lib.widgets.preview import PreviewError, preview_text
from tests.loopback_server import LoopbackServer, Reply

SEED = PROJECT_ROOT / "widgets" / "stripe-payments.json"


def test_preview_prints_the_demo_accounts_rows_with_money_in_each_currency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    account = demo_account()
    listed = stripe_adapter_for(account).request(
        account.credentials,
        RequestOptions("/charges", params={"limit": 20, "expand": ["data.customer"]}),
    )
    succeeded = sorted(
        (c for c in listed.data["data"] if c["status"] == "succeeded"),
        key=lambda c: c["created"],
        reverse=True,
    )

    assert main(["preview", str(SEED), "--rows", "3"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Recent Payments (Demo data)"
    assert out[1].split() == ["Amount", "Customer", "Description", "Status", "Date"]
    for line, charge in zip(out[2:5], succeeded[:3], strict=True):
        assert line.split()[0] == format_money(charge["amount"], charge["currency"]).split()[0]
        # The customer by name, as on the dashboard, not by id.
        assert charge["customer"]["name"] in line and charge["customer"]["id"] not in line
    assert out[5] == f"3 of {len(succeeded)} rows"


def test_preview_of_a_rejected_key_says_so_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rejected = Reply(401, json={"error": {"type": "invalid_request_error", "message": "bad key"}})
    with LoopbackServer() as stripe:
        stripe.on("/v1/charges", lambda _request: rejected)
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_previewrejected000000")
        monkeypatch.setenv("STRIPE_API_BASE", f"{stripe.url}/v1")
        get_settings.cache_clear()

        status = main(["preview", str(SEED)])

    out = capsys.readouterr().out
    assert status == 1
    assert "rejected" in out.lower() or "reconnect" in out.lower()
    assert "sk_test_previewrejected" not in out


@pytest.mark.usefixtures("demo_at_noon")
def test_preview_of_a_stat_widget_prints_one_figure_per_currency() -> None:
    definition = load_widget_file(PROJECT_ROOT / "widgets" / "revenue-today.json")
    text = preview_text(definition, demo_account(), rows=5, now=datetime.now(UTC))
    figures = text.splitlines()[1:]
    assert figures, text
    assert all(line.startswith("Net revenue today ") for line in figures)
    currencies = [line.split(":")[0].split()[-1] for line in figures]
    assert len(currencies) == len(set(currencies))


def test_preview_refuses_what_it_cannot_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_x")
    get_settings.cache_clear()
    account = settings_account(get_settings())
    assert account is not None
    definition = load_widget_file(SEED).model_copy(update={"provider": "github"})
    with pytest.raises(PreviewError, match="reads github"):
        preview_text(definition, account, rows=1)


def test_preview_names_rows_left_out_of_money_figures() -> None:
    from lib.widgets.loader import parse_widget_data

    definition = parse_widget_data(
        {
            "type": "missing-currency",
            "version": 1,
            "name": "Missing currency",
            "provider": "stripe",
            "dataSource": {
                "type": "static",
                "data": [
                    {"amount": 1999, "currency": "usd"},
                    {"amount": 500, "currency": "USD"},
                    {"amount": 700, "currency": ""},
                ],
            },
            "display": {
                "view": "stat",
                "fields": [{"key": "amount", "label": "Amount", "format": "currency"}],
                "stat": {
                    "field": "amount",
                    "aggregate": "sum",
                    "groupBy": "currency",
                    "label": "Total",
                },
            },
        }
    )

    text = preview_text(definition, demo_account(), rows=5)

    assert text.splitlines()[1:] == [
        "Total USD: $24.99",
        "1 row left out: no valid currency code or whole amount",
    ]
