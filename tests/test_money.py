"""Money is exact: minor-unit integers formatted per currency, never mixed across currencies."""

from __future__ import annotations

import copy
import unicodedata
from decimal import Decimal

import pandas as pd
import pytest
from babel import Locale
from babel.numbers import get_currency_symbol
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.money import (
    AmountError,
    api_exponent,
    currency_codes,
    display_decimals,
    format_money,
    format_money_series,
    sum_by_currency,
    to_major,
    to_minor,
    to_shown_major,
)

# One currency of every class: two-decimal, zero-decimal, three-decimal, and the API oddities.
CURRENCIES = ["usd", "eur", "gbp", "jpy", "krw", "kwd", "bhd", "isk", "huf", "twd", "chf"]
LOCALES = ["en_US", "de_DE", "fr_FR", "ja_JP", "hi_IN", "nl_NL", "pt_BR", "de_CH"]


@pytest.mark.parametrize(
    ("currency", "api", "shown"),
    [
        ("usd", 2, 2),
        ("eur", 2, 2),
        ("jpy", 0, 0),
        ("krw", 0, 0),
        ("xof", 0, 0),
        ("kwd", 3, 3),
        ("bhd", 3, 3),
        ("tnd", 3, 3),
        ("isk", 2, 0),
        ("huf", 2, 2),
        ("twd", 2, 2),
        ("USD", 2, 2),
    ],
)
def test_exponents_follow_stripe(currency: str, api: int, shown: int) -> None:
    assert api_exponent(currency) == api
    assert display_decimals(currency) == shown


def test_to_major_is_exact() -> None:
    assert to_major(1999, "usd") == Decimal("19.99")
    assert to_major(1999, "jpy") == Decimal("1999")
    assert to_major(1999, "kwd") == Decimal("1.999")
    assert to_major(123456, "isk") == Decimal("1234.56")
    assert to_major(-5, "usd") == Decimal("-0.05")


@settings(max_examples=200, deadline=None)
@given(
    amount=st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
    currency=st.sampled_from(CURRENCIES),
)
def test_to_minor_undoes_to_major(amount: int, currency: str) -> None:
    # ISK is charged in whole krónur: only amounts divisible by 100 can be typed.
    charged = amount - amount % 100 if currency == "isk" else amount
    assert to_minor(to_major(charged, currency), currency) == charged


def test_typed_amounts_have_the_decimals_stripe_charges_in() -> None:
    assert to_minor(Decimal("1234"), "isk") == 123400
    assert to_minor(Decimal("1234.00"), "isk") == 123400
    with pytest.raises(AmountError, match="ISK amounts have 0 decimal places"):
        to_minor(Decimal("123.45"), "isk")
    # HUF and TWD are charged with two decimals (only their payouts are whole).
    assert to_minor(Decimal("123.45"), "huf") == 12345
    assert to_minor(Decimal("123.45"), "twd") == 12345
    with pytest.raises(AmountError, match="HUF amounts have 2 decimal places"):
        to_minor(Decimal("1.234"), "huf")


def test_exports_write_amounts_with_the_decimals_shown() -> None:
    assert str(to_shown_major(123400, "isk")) == "1234"
    assert str(to_shown_major(1234, "huf")) == "12.34"
    assert str(to_shown_major(1234, "twd")) == "12.34"
    assert str(to_shown_major(1500, "kwd")) == "1.500"
    assert str(to_shown_major(1500, "jpy")) == "1500"
    # A fractional ISK charge from before whole krónur keeps its hundredths, never rounded away.
    assert str(to_shown_major(4010, "isk")) == "40.10"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (1999, "usd", "en_US", "$19.99"),
        (-500, "usd", "en_US", "-$5.00"),
        (5, "usd", "en_US", "$0.05"),
        (0, "usd", "en_US", "$0.00"),
        (1999, "jpy", "en_US", "¥1,999"),
        (123450, "eur", "en_US", "€1,234.50"),
        (123450, "eur", "de_DE", "1.234,50\xa0€"),
        (123450, "eur", "fr_FR", "1\u202f234,50\xa0€"),
        (1999, "kwd", "en_US", "KWD\xa01.999"),
        (-1234567, "bhd", "en_US", "-BHD\xa01,234.567"),
        (1999, "kwd", "fr_FR", "1,999\xa0KWD"),
        (123456, "isk", "en_US", "ISK\xa01,235"),
        (1234, "huf", "en_US", "HUF\xa012.34"),
        (1234, "twd", "en_US", "NT$12.34"),
        (123456789, "usd", "hi_IN", "$12,34,567.89"),
        (123456789, "chf", "de_CH", "CHF\xa01'234'567.89"),
        (-2550, "gbp", "en_GB", "-£25.50"),
    ],
)
def test_format_money_reads_like_the_locale(
    amount: int, currency: str, locale: str, expected: str
) -> None:
    assert format_money(amount, currency, locale) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(150, "ISK\xa02"), (250, "ISK\xa02"), (350, "ISK\xa04"), (151, "ISK\xa02"), (-40, "ISK\xa00")],
)
def test_isk_rounds_half_to_even_to_whole_kronur(amount: int, expected: str) -> None:
    assert format_money(amount, "isk") == expected


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        format_money(19.99, "usd")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_money(True, "usd")


def _babel_reference(amount: int, currency: str, locale: str) -> str:
    pattern = copy.copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (display_decimals(currency),) * 2
    return pattern.apply(
        to_major(amount, currency), locale, currency=currency.upper(), currency_digits=False
    )


def _symbol_edges_are_symbols(currency: str, locale: str) -> bool:
    symbol = get_currency_symbol(currency.upper(), locale)
    return all(unicodedata.category(char)[0] in "SZ" for char in (symbol[0], symbol[-1]))


def test_format_money_matches_babel() -> None:
    # babel has no CLDR currency spacing ('KWD1.999') and drops "'" group separators in de_CH
    # negatives; wherever neither applies, the output must be babel's own.
    compared = 0
    for locale in (loc for loc in LOCALES if loc != "de_CH"):
        for currency in CURRENCIES:
            if not _symbol_edges_are_symbols(currency, locale):
                continue
            for amount in (0, 7, 1999, -500, 123456789, -98765432101):
                expected = _babel_reference(amount, currency, locale)
                assert format_money(amount, currency, locale) == expected
                compared += 1
    assert compared >= 150


def test_series_formats_each_row_in_its_own_currency() -> None:
    amounts = pd.Series([1999, 1999, 1999, -500, None, 1999], dtype="Int64")
    currencies = pd.Series(["usd", "jpy", "kwd", "eur", "usd", None])
    assert format_money_series(amounts, currencies).tolist() == [
        "$19.99",
        "¥1,999",
        "KWD\xa01.999",
        "-€5.00",
        "",
        "",
    ]


def test_series_keeps_the_index_and_accepts_plain_objects() -> None:
    amounts = pd.Series([1999, None, 250, 2.5], index=["a", "b", "c", "d"], dtype=object)
    currencies = pd.Series(["USD", "usd", "isk", "usd"], index=["a", "b", "c", "d"])
    result = format_money_series(amounts, currencies)
    assert result.to_dict() == {"a": "$19.99", "b": "", "c": "ISK\xa02", "d": ""}


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-(10**15), 10**15)),
            st.one_of(st.none(), st.sampled_from(CURRENCIES)),
        ),
        min_size=1,
        max_size=40,
    ),
    locale=st.sampled_from(LOCALES),
)
def test_series_is_byte_identical_to_scalar(
    rows: list[tuple[int | None, str | None]], locale: str
) -> None:
    amounts = pd.Series([amount for amount, _ in rows], dtype="Int64")
    currencies = pd.Series([currency for _, currency in rows], dtype=object)
    expected = [
        "" if amount is None or currency is None else format_money(amount, currency, locale)
        for amount, currency in rows
    ]
    assert format_money_series(amounts, currencies, locale).tolist() == expected


def test_sum_by_currency_never_adds_across_currencies() -> None:
    amounts = pd.Series([1000, 250, 5000, None, 700, 1], dtype="Int64")
    currencies = pd.Series(["usd", "USD", "jpy", "usd", "eur", None])
    assert sum_by_currency(amounts, currencies) == {"usd": 1250, "jpy": 5000, "eur": 700}


@pytest.mark.parametrize("currency", ["", "us", "usdx", "u$d", "ÜSD", "usd ", "１２３"])
def test_an_amount_without_a_valid_currency_code_reads_as_empty(currency: str) -> None:
    assert format_money(1999, currency) == ""
    amounts = pd.Series([1999, 1999], dtype="Int64")
    assert format_money_series(amounts, pd.Series(["usd", currency])).tolist() == ["$19.99", ""]


def test_currency_codes_are_three_ascii_letters_in_lower_case() -> None:
    values = pd.Series(["USD", "eur", "", None, 840, "us", "u$d", "ÜSD", ["usd"]], dtype=object)
    assert currency_codes(values).tolist() == [
        "usd",
        "eur",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ]


def test_amounts_beyond_int64_or_not_whole_read_as_empty_not_garbage() -> None:
    amounts = pd.Series([1999, 10**30, 9.3e18, float("inf"), 19.5, True, "x"], dtype=object)
    currencies = pd.Series(["usd"] * len(amounts))
    assert format_money_series(amounts, currencies).tolist() == ["$19.99"] + [""] * 6
    extremes = pd.Series([-(2**63), 2**63 - 1])
    assert format_money_series(extremes, currencies[:2]).tolist() == [
        "",
        "$92,233,720,368,547,758.07",
    ]


def test_sum_by_currency_skips_invalid_codes_and_never_wraps() -> None:
    amounts = pd.Series([2**62, 2**62, 2**62, 5, 7, 9], dtype="Int64")
    currencies = pd.Series(["usd", "USD", "usd", "eur", "", None])
    assert sum_by_currency(amounts, currencies) == {"usd": 3 * 2**62, "eur": 5}
