"""The app's locale (`APP_LOCALE`) and what every number written in it shares: one decimal
symbol, one group symbol and one digit grouping for plain numbers and money alike.

CLDR gives some locales a grouping for money and another for plain numbers (en_IN once wrote
money 1,23,45,678 and counts 12,345,678 here); the locale's number pattern decides both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from babel import Locale
from babel.numbers import get_decimal_symbol, get_group_symbol

from lib.config import get_settings

URL_LOCALE = "en_US"
"""Amounts in links are written one way for everyone ("1234.5"), whatever APP_LOCALE is."""


def app_locale() -> str:
    """The locale money, numbers and typed amounts follow: the `APP_LOCALE` setting."""
    return get_settings().app_locale


@dataclass(frozen=True)
class NumberSymbols:
    """How a locale writes the parts of a number (Latin digits)."""

    decimal: str
    group: str
    primary_group: int
    """Digits in the last group before the decimal symbol (3 almost everywhere)."""
    secondary_group: int
    """Digits in each group further left (2 in en_IN: 1,23,45,678)."""
    percent_prefix: str
    percent_suffix: str
    """What stands before and after a percentage's digits ("" and "%"; de_DE: "" and "\xa0%")."""


@lru_cache(maxsize=64)
def number_symbols(locale: str) -> NumberSymbols:
    """The decimal and group symbols and the digit grouping of `locale`'s number pattern."""
    parsed = Locale.parse(locale)
    primary, secondary = parsed.decimal_formats[None].grouping
    percent = parsed.percent_formats[None]
    sign = parsed.number_symbols["latn"]["percentSign"]
    return NumberSymbols(
        decimal=get_decimal_symbol(parsed, numbering_system="latn"),
        group=get_group_symbol(parsed, numbering_system="latn"),
        primary_group=primary,
        secondary_group=secondary,
        percent_prefix=percent.prefix[0].replace("%", sign),
        percent_suffix=percent.suffix[0].replace("%", sign),
    )
