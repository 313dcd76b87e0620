"""APP_LOCALE: one setting for how money, numbers and typed amounts read, checked at start, and a
German finance team's Charges page (1.234,50 €, typed back the same way)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError
from streamlit.testing.v1 import AppTest

import lib.config
from lib.config import PROJECT_ROOT, get_settings, settings_or_exit
from lib.finance import AmountError, parse_major_amount
from lib.money import format_money
from lib.store import get_engine
from lib.sync import write_objects
from lib.widgets.formatting import format_number, format_percent_series
from tests.apptest_support import select_row, shown_text, table, unescape
from tests.mirror_support import charge_object, record_synced

CHARGES_PAGE = str(PROJECT_ROOT / "app_pages" / "charges.py")
LOCALES = ["en_US", "en_IN", "hi_IN", "de_DE", "de_CH", "fr_FR", "sv_SE", "ja_JP", "pt_BR"]


def use_locale(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("APP_LOCALE", name)
    lib.config.get_settings.cache_clear()


def test_the_default_is_en_us_and_a_name_with_a_hyphen_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert get_settings().app_locale == "en_US"
    use_locale(monkeypatch, "de-DE")
    assert get_settings().app_locale == "de_DE"


@pytest.mark.parametrize("name", ["xx_YY", "english", "de_DE;rm -rf", "a" * 200])
def test_an_unknown_locale_stops_the_start_with_a_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    use_locale(monkeypatch, name)
    with pytest.raises(ValidationError):
        get_settings()

    with pytest.raises(SystemExit) as stopped:
        settings_or_exit()

    assert stopped.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("Invalid setting APP_LOCALE: ")
    assert line.endswith("(for example en_US or de_DE)")
    assert len(line) < 160


def test_the_start_names_a_bad_setting_without_echoing_its_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEBHOOK_BODY_TIMEOUT_SECONDS", "sk_live_not_a_number")
    lib.config.get_settings.cache_clear()

    with pytest.raises(SystemExit):
        settings_or_exit()

    error = capsys.readouterr().err
    assert error.startswith("Invalid setting WEBHOOK_BODY_TIMEOUT_SECONDS: ")
    assert "sk_live" not in error


@pytest.mark.parametrize("locale", LOCALES)
def test_numbers_and_money_group_digits_the_same_way(locale: str) -> None:
    for major in (0, 999, 1234, 12345678, 1234567890123):
        digits = format_money(major * 100, "usd", locale)
        assert format_number(major, locale) in digits, (locale, digits)


def test_indian_grouping_for_counts_as_for_money() -> None:
    assert format_number(12345678, "en_IN") == "1,23,45,678"
    assert format_money(1234567800, "usd", "en_IN") == "$1,23,45,678.00"


def test_german_money_numbers_and_percentages(monkeypatch: pytest.MonkeyPatch) -> None:
    use_locale(monkeypatch, "de_DE")
    assert format_money(123450, "eur") == "1.234,50\xa0€"
    assert format_number(1234567) == "1.234.567"
    assert format_percent_series(pd.Series([0.125])).tolist() == ["12,5\xa0%"]
    assert parse_major_amount("1.234,50") == Decimal("1234.50")
    assert parse_major_amount("1234,5") == Decimal("1234.5")
    with pytest.raises(AmountError, match=re.escape("did you mean '1.250' or '12,5'")):
        parse_major_amount("12.50")


def test_typed_amounts_follow_the_locale_links_do_not() -> None:
    assert parse_major_amount("1 234,50", "fr_FR") == Decimal("1234.50")
    assert parse_major_amount("1,23,456.5", "en_IN") == Decimal("123456.5")
    assert parse_major_amount("1,234.50", "en_US") == Decimal("1234.50")
    with pytest.raises(AmountError):
        parse_major_amount("1,23", "en_US")


def charge(charge_id: str, amount: int, currency: str) -> dict[str, Any]:
    created = int((datetime.now(UTC) - timedelta(hours=2)).timestamp())
    return charge_object(charge_id, amount, currency, created=created)


@pytest.fixture
def euro_mirror() -> None:
    now = int(datetime.now(UTC).timestamp())
    rows = [charge("ch_big", 123450, "eur"), charge("ch_small", 5000, "eur")]
    with get_engine().begin() as connection:
        write_objects(connection, "demo", "charges", rows, now)
        record_synced(connection, "demo")


@pytest.mark.usefixtures("euro_mirror")
def test_a_german_finance_team_reads_and_types_amounts_their_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_locale(monkeypatch, "de_DE")
    at = AppTest.from_file(CHARGES_PAGE, default_timeout=30).run()

    summary = at.dataframe[0].value.iloc[0]
    assert (summary["Gross (succeeded)"], summary["Net"]) == ("1.284,50\xa0€", "1.284,50\xa0€")

    at.multiselect(key="charges_currency").set_value(["eur"]).run()
    at.text_input(key="charges_min").input("1.000,50").run()

    assert list(table(at, "charges_table").value["id"]) == ["ch_big"]
    assert at.query_params["min"] == "1000.50"  # links read the same for everyone

    select_row(at, "charges_table", 0)
    [panel] = at.get("dialog")
    assert "1.234,50\xa0€" in unescape(panel.markdown[0].value)

    at.text_input(key="charges_min").input("12.50").run()
    assert "Min amount ignored: '12.50' is not an amount; did you mean '1.250' or '12,5'?" in (
        shown_text(at)
    )
