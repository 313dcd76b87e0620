"""A link to the Charges page cannot freeze or crash it: every URL parameter is bounded before it
is converted, and what is ignored is named (escaped) in the page's "Ignored ..." warning.

Each issue example is one case below, read as a person sees the page (`shown_text`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from lib.config import PROJECT_ROOT
from lib.finance import ChargeFilters, from_query_params, parse_major_amount, to_minor
from lib.finance.filters import AmountError
from lib.store import get_engine
from lib.sync import write_objects
from tests.apptest_support import shown_text
from tests.markdown_links import links_to
from tests.mirror_support import charge_object, record_synced

PAGE = str(PROJECT_ROOT / "app_pages" / "charges.py")
ACCOUNT = "demo"
IGNORED = "Ignored a value in the link that is not a valid filter"


def charge(charge_id: str, amount: int, currency: str, status: str = "succeeded") -> dict[str, Any]:
    created = int((datetime.now(UTC) - timedelta(hours=1)).timestamp())
    return charge_object(charge_id, amount, currency, created=created, status=status)


@pytest.fixture
def mirror() -> None:
    """The demo account's mirror holds three charges and counts as synced."""
    charges = [
        charge("ch_usd", 1999, "usd"),
        charge("ch_jpy", 1500, "jpy"),
        charge("ch_failed", 500, "usd", "failed"),
    ]
    with get_engine().begin() as connection:
        write_objects(connection, ACCOUNT, "charges", charges, int(datetime.now(UTC).timestamp()))
        record_synced(connection, ACCOUNT)


def open_page(**params: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def warning_text(at: AppTest) -> str:
    return "\n".join(text for text in shown_text(at) if IGNORED in text)


def rows_shown(at: AppTest) -> list[str]:
    return sorted(at.dataframe[1].value["id"]) if len(at.dataframe) > 1 else []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        pytest.param({"currency": "usd", "min": "1e999990"}, "min=1e999990", id="huge-exponent"),
        pytest.param({"currency": "usd", "min": "1e999999999"}, "min=1e999999999", id="overflow"),
        pytest.param(
            {"currency": "usd", "min": "99999999999999999999"},
            "min=99999999999999999999",
            id="past-sqlite-integer",
        ),
        pytest.param({"currency": "usd", "max": "NaN"}, "max=NaN", id="not-a-number"),
        pytest.param({"page": "²"}, "page=²", id="unicode-digit-page"),
        pytest.param({"page": "9" * 5_000}, "page=" + "9" * 40, id="5000-digit-page"),
        pytest.param({"range": "custom", "to": "9999-12-31"}, "to=9999-12-31", id="date-overflow"),
        pytest.param(
            {"range": "custom", "from": "٢٠٢٦-٠١-٠١"}, "from=٢٠٢٦-٠١-٠١", id="arabic-date"
        ),
        pytest.param({"q": "%" * 100_000}, "q=" + "%" * 40, id="100k-search"),
        pytest.param({"status": "bogus"}, "status=bogus", id="unknown-status"),
        pytest.param({"currency": "usd,dollars"}, "currency=dollars", id="bad-currency"),
        pytest.param({"dir": "sideways"}, "dir=sideways", id="bad-direction"),
        pytest.param({"customer": "ana\x00"}, "customer=ana", id="nul-in-text"),
        pytest.param({"colour": "red"}, "colour=red", id="unknown-parameter"),
    ],
)
def test_a_hostile_value_is_ignored_and_named_and_the_page_still_renders(
    mirror: None, params: dict[str, str], named: str
) -> None:
    at = open_page(**params)

    assert not at.exception
    assert named in warning_text(at)
    assert rows_shown(at)  # the rest of the link still applies: the charges are listed


def test_an_unknown_status_is_reported_instead_of_silently_matching_nothing(
    mirror: None,
) -> None:
    at = open_page(status="failed,bogus")

    assert "status=bogus" in warning_text(at)
    assert rows_shown(at) == ["ch_failed"]
    assert at.multiselect(key="charges_status").value == ["failed"]


def test_a_value_with_a_backtick_cannot_break_out_into_a_link(mirror: None) -> None:
    at = open_page(range="`[Your session expired - sign in again](https://evil.example/login)`")

    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1
    assert links_to(warnings[0], "evil.example") == []  # shown as text, never as a link
    assert "range=`[Your session expired - sign in again](https://evil.example/login)`" in (
        warning_text(at)
    )


def test_a_long_value_is_named_but_cut_short_in_the_warning(mirror: None) -> None:
    at = open_page(q="x" * 100_000)

    text = warning_text(at)
    assert "q=" + "x" * 40 in text
    assert "100,000 characters" in text
    assert len(text) < 500


def test_a_search_for_markdown_or_wildcards_is_literal(mirror: None) -> None:
    at = open_page(q="100%_[x](y)")

    assert not at.warning
    assert rows_shown(at) == []
    assert at.text_input(key="charges_q").value == "100%_[x](y)"


def test_a_valid_shared_link_is_unchanged(mirror: None) -> None:
    at = open_page(range="all", currency="jpy", min="1500", max="1,500", sort="amount", page="1")

    assert not at.warning
    assert rows_shown(at) == ["ch_jpy"]


def test_amounts_are_plain_bounded_decimals() -> None:
    assert str(parse_major_amount(" 1,234.50 ")) == "1234.50"
    assert str(parse_major_amount("999999999999999.999999")) == "999999999999999.999999"
    for text in ("1e999990", "1E2", "9" * 16, "1.0000001", "Infinity", "-1", "١٢", "0x10"):
        with pytest.raises(AmountError):
            parse_major_amount(text)


def test_to_minor_refuses_an_amount_too_large_for_the_database_at_once() -> None:
    from decimal import Decimal

    with pytest.raises(AmountError, match="too large"):
        to_minor(Decimal("1e999990"), "usd")
    with pytest.raises(AmountError, match="too large"):
        to_minor(Decimal("99999999999999999999"), "kwd")
    assert to_minor(Decimal("999999999999999.999"), "kwd") == 999_999_999_999_999_999


def test_parsing_keeps_the_good_values_of_a_bad_link() -> None:
    parsed = from_query_params(
        {"status": "failed,bogus", "currency": "USD,€", "page": "²", "to": "9999-12-31"}
    )

    assert parsed.filters == ChargeFilters(statuses=("failed",), currencies=("usd",))
    assert [str(item) for item in parsed.ignored] == [
        "to=9999-12-31",
        "status=bogus",
        "currency=€",
        "page=²",
    ]
