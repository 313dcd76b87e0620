"""Exact money: Stripe minor-unit integers, currency exponents and locale-aware formatting.

Amounts are never floats here: digits come from integer division, symbols and patterns from
babel (CLDR). The scalar and the vectorised formatter share one derived pattern per currency
and locale, so a table cell and a single figure always read the same. Without a locale, money
is written in the app's (`APP_LOCALE`).

One rule for decimals everywhere (screen, exports, typed amounts): the decimals Stripe charges
in. ISK travels in hundredths but Stripe charges whole krónur only (amounts divisible by 100
since April 2023), so it shows, exports and is typed whole; HUF and TWD are charged with two
decimals (only their payouts are whole) and keep them.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import numpy as np
import pandas as pd
from babel import Locale
from babel.numbers import get_currency_name, get_currency_symbol

from lib.number_format import app_locale, number_symbols

ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
# Stripe sends ISK in hundredths, but charges (and so shows and accepts) whole krónur only.
WHOLE_UNIT_DISPLAY_CURRENCIES = frozenset({"isk"})

_NBSP = "\xa0"
_QUOTED = re.compile(r"'([^']*)'")
# ISO 4217 codes are three letters; `[A-Za-z]` (not `\w` or str.isalpha) keeps them ASCII.
_CURRENCY_CODE = r"[A-Za-z]{3}"
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)
MAX_AMOUNT_DIGITS = 15
"""Digits before the decimal point: with at most 3 currency decimals, the amount in minor units
stays below 10**18, inside the 64-bit INTEGER of SQLite and PostgreSQL."""


class AmountError(ValueError):
    """An amount that the chosen currency cannot express exactly."""


def currency_code(value: object) -> str | None:
    """The lower-case currency code in `value` ('USD' -> 'usd'); None unless 3 ASCII letters."""
    if isinstance(value, str) and re.fullmatch(_CURRENCY_CODE, value):
        return value.lower()
    return None


def currency_codes(values: pd.Series) -> pd.Series:
    """Vectorised `currency_code`: an object Series of lower-case codes, None where invalid."""
    try:
        positions, distinct = pd.factorize(values)
    except TypeError:
        # Unhashable values (lists, dicts) are never codes; check row by row.
        return pd.Series(
            [currency_code(value) for value in values], index=values.index, dtype=object
        )
    # Each distinct value is checked once; position -1 (missing) picks the trailing None.
    codes = np.array([*(currency_code(value) for value in distinct), None], dtype=object)
    return pd.Series(codes[positions], index=values.index, dtype=object)


def minor_unit_amounts(amounts: pd.Series) -> pd.Series:
    """Amounts as nullable Int64: missing where a value is not a whole number within int64."""
    return _integer_amounts(amounts)


def api_exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit as the Stripe API counts them."""
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def display_decimals(currency: str) -> int:
    """Decimal places Stripe charges in, so shown, exported and typed: the API exponent, except
    ISK (whole krónur)."""
    if currency.lower() in WHOLE_UNIT_DISPLAY_CURRENCIES:
        return 0
    return api_exponent(currency)


def to_major(amount: int, currency: str) -> Decimal:
    """The amount in major units (e.g. 1999 usd -> Decimal('19.99')), exactly."""
    return Decimal(_require_int(amount)).scaleb(-api_exponent(currency))


def to_shown_major(amount: int, currency: str) -> Decimal:
    """The amount in major units written with the decimals Stripe charges in (`display_decimals`),
    exactly: (123400, 'isk') -> Decimal('1234'), (1999, 'usd') -> Decimal('19.99'). An amount
    those decimals cannot hold (an ISK charge from before whole krónur) keeps its hundredths."""
    major = to_major(amount, currency)
    shown = major.quantize(Decimal(1).scaleb(-display_decimals(currency)))
    return shown if shown == major else major


def to_minor(amount: Decimal, currency: str) -> int:
    """A typed amount in minor units, exactly: (Decimal('19.99'), 'usd') -> 1999.

    Raises AmountError when the amount has more decimals than Stripe charges the currency in
    (1.5 JPY, 12.50 ISK), or more than MAX_AMOUNT_DIGITS digits before the point (checked
    before any conversion).
    """
    if not amount.is_finite() or (amount and amount.adjusted() >= MAX_AMOUNT_DIGITS):
        raise AmountError(f"too large (at most {MAX_AMOUNT_DIGITS} digits before the point)")
    places = display_decimals(currency)
    if amount.scaleb(places) != amount.scaleb(places).to_integral_value():
        raise AmountError(
            f"{currency.upper()} amounts have {places} decimal place{'s' * (places != 1)}"
        )
    return int(amount.scaleb(api_exponent(currency)))


@dataclass(frozen=True)
class MoneyPattern:
    """Everything needed to write one currency in one locale, derived once from babel."""

    positive_prefix: str
    positive_suffix: str
    negative_prefix: str
    negative_suffix: str
    decimal_symbol: str
    group_symbol: str
    primary_group: int
    secondary_group: int
    rounding_exponent: int
    """Digits dropped (rounded half-to-even) from the API amount before display: 2 for ISK."""
    decimals: int


@lru_cache(maxsize=512)
def money_pattern(currency: str, locale: str) -> MoneyPattern:
    """The locale's standard currency pattern with this currency's symbol filled in, its digits
    grouped as the locale groups every number (`lib.number_format`).

    Raises ValueError when `currency` is not a three-letter code.
    """
    code = currency_code(currency)
    if code is None:
        raise ValueError(f"not a currency code: {str(currency)[:16]!r}")
    babel_locale = Locale.parse(locale)
    pattern = babel_locale.currency_formats["standard"]
    symbol = get_currency_symbol(code.upper(), babel_locale)
    name = get_currency_name(code.upper(), locale=babel_locale)

    def fill(affix: str, before_number: bool) -> str:
        text = _QUOTED.sub(lambda match: match.group(1) or "'", affix)
        # CLDR currency spacing: a symbol ending in a letter never touches the digits.
        touches_number = text.endswith("¤") if before_number else text.startswith("¤")
        edge = symbol[-1] if before_number else symbol[0]
        if touches_number and unicodedata.category(edge)[0] not in "SZ":
            text = text + _NBSP if before_number else _NBSP + text
        return text.replace("¤¤¤", name).replace("¤¤", code.upper()).replace("¤", symbol)

    decimals = display_decimals(code)
    symbols = number_symbols(locale)
    return MoneyPattern(
        positive_prefix=fill(pattern.prefix[0], before_number=True),
        positive_suffix=fill(pattern.suffix[0], before_number=False),
        negative_prefix=fill(pattern.prefix[1], before_number=True),
        negative_suffix=fill(pattern.suffix[1], before_number=False),
        decimal_symbol=symbols.decimal,
        group_symbol=symbols.group,
        primary_group=symbols.primary_group,
        secondary_group=symbols.secondary_group,
        rounding_exponent=api_exponent(code) - decimals,
        decimals=decimals,
    )


def format_money(amount: int, currency: str, locale: str | None = None) -> str:
    """Format a minor-unit amount, e.g. (1999, 'usd') -> '$19.99', (-500, 'usd') -> '-$5.00'.

    `locale` defaults to the app's (`APP_LOCALE`). Symbols and sign placement follow the
    locale's CLDR currency pattern, grouping its number pattern; a symbol
    that ends in a letter is kept apart from the digits by a no-break space ('KWD\\xa01.999').
    ISK is rounded half-to-even to whole krónur; an amount that rounds to zero has no sign.
    A missing or malformed currency (not three letters) gives "": the amount cannot be read.
    """
    value = _require_int(amount)
    if currency_code(currency) is None:
        return ""
    pattern = money_pattern(currency, locale or app_locale())
    magnitude = _round_half_even(abs(value), pattern.rounding_exponent)
    major, minor = divmod(magnitude, 10**pattern.decimals)
    number = group_digits(
        str(major), pattern.group_symbol, pattern.primary_group, pattern.secondary_group
    )
    if pattern.decimals:
        number += pattern.decimal_symbol + str(minor).zfill(pattern.decimals)
    # An amount that rounds to zero (ISK) shows no sign.
    if value < 0 and magnitude > 0:
        return pattern.negative_prefix + number + pattern.negative_suffix
    return pattern.positive_prefix + number + pattern.positive_suffix


def format_money_series(
    amounts: pd.Series, currencies: pd.Series, locale: str | None = None
) -> pd.Series:
    """Vectorised `format_money`: each row in its own currency, byte-identical to the scalar.

    Rows with a missing amount, a missing or malformed currency code, or an amount that is not
    a whole number, give "".
    """
    values = _integer_amounts(amounts)
    row_codes = currency_codes(currencies).set_axis(amounts.index)
    valid = (values.notna() & row_codes.notna()).to_numpy()
    if not valid.any():
        return pd.Series("", index=amounts.index, dtype="str")
    code_index, codes = pd.factorize(row_codes.where(valid, row_codes[valid].iloc[0]))
    # Rows left out get the first currency and amount 0, and are blanked at the end.
    code_index = np.where(valid, code_index, 0)
    chosen_locale = locale or app_locale()
    patterns = [money_pattern(code, chosen_locale) for code in codes]

    def per_row(attribute: str) -> np.ndarray:
        return np.array([getattr(pattern, attribute) for pattern in patterns])[code_index]

    rows = values.fillna(0).to_numpy(dtype="int64")
    decimals = per_row("decimals").astype("int64")
    magnitude = _round_half_even_array(np.abs(rows), per_row("rounding_exponent").astype("int64"))
    major, minor = np.divmod(magnitude, 10**decimals)
    negative = (rows < 0) & (magnitude > 0)
    # Decimal and group symbols and grouping sizes depend on the locale only.
    first = patterns[0]
    number = group_digit_series(
        pd.Series(major).astype("str"),
        first.group_symbol,
        first.primary_group,
        first.secondary_group,
    )
    # 10**d + minor written out and cut after its leading 1 is minor zero-padded to d digits.
    fraction = pd.Series(minor + 10**decimals).astype("str").str.slice(1)
    separator = choose_text(["", first.decimal_symbol], (decimals > 0).astype("int64"))
    affix = code_index * 2 + negative
    prefixes = [text for p in patterns for text in (p.positive_prefix, p.negative_prefix)]
    suffixes = [text for p in patterns for text in (p.positive_suffix, p.negative_suffix)]
    prefix, suffix = choose_text(prefixes, affix), choose_text(suffixes, affix)
    text = prefix + number + separator + fraction + suffix
    if not valid.all():
        text = text.where(valid, "")
    return text.set_axis(amounts.index)


def sum_by_currency(amounts: pd.Series, currencies: pd.Series) -> dict[str, int]:
    """Total minor units per lower-case currency code; amounts are never added across currencies.

    Rows with a missing amount or a missing or malformed currency code are left out; totals
    are exact however large (Python integers when int64 could overflow).
    """
    values = _integer_amounts(amounts)
    row_codes = currency_codes(currencies).set_axis(amounts.index)
    valid = values.notna() & row_codes.notna()
    kept = values[valid].astype("int64")
    if not exact_in_int64(kept):
        kept = kept.astype(object)
    totals = kept.groupby(row_codes[valid].to_numpy()).sum()
    return {str(code): int(total) for code, total in totals.items()}


def exact_in_int64(values: pd.Series) -> bool:
    """True when any sum of these int64 values fits int64 (numpy sums wrap silently)."""
    if values.empty:
        return True
    largest = max(abs(int(values.min())), abs(int(values.max())))
    return largest <= _INT64_MAX // len(values)


def group_digits(digits: str, separator: str, primary: int = 3, secondary: int = 3) -> str:
    """Insert `separator` into a string of digits: the last `primary`, then every `secondary`."""
    if len(digits) <= primary:
        return digits
    head, groups = digits[:-primary], [digits[-primary:]]
    while len(head) > secondary:
        head, groups = head[:-secondary], [head[-secondary:], *groups]
    return separator.join([head, *groups])


def choose_text(options: list[str], choice: np.ndarray) -> pd.Series:
    """A string column (default index) whose row i is `options[choice[i]]`."""
    # One arrow take over a few options, not a Python call per row.
    return pd.Series(pd.array(options, dtype="str").take(np.asarray(choice, dtype="int64")))


def group_digit_series(
    digits: pd.Series, separator: str, primary: int = 3, secondary: int = 3
) -> pd.Series:
    """Vectorised `group_digits` for a string Series of non-negative whole numbers."""
    lengths = digits.str.len()
    width = int(lengths.max()) if len(digits) else 0
    if width <= primary:
        return digits
    padded = digits.str.zfill(width)
    cuts = [width - primary]
    while cuts[0] > secondary:
        cuts.insert(0, cuts[0] - secondary)
    bounds = [0, *cuts, width]
    text = padded.str.slice(bounds[0], bounds[1])
    for start, end in itertools.pairwise(bounds[1:]):
        text = text + separator + padded.str.slice(start, end)
    # The zero padding and the separators between padding zeros are stripped back off.
    stripped = text.str.lstrip("0" + separator)
    return stripped.mask(stripped == "", "0")


def _require_int(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int | np.integer):
        raise TypeError(f"money amounts are whole minor units (int), got {type(amount).__name__}")
    return int(amount)


def _round_half_even(value: int, exponent: int) -> int:
    if exponent == 0:
        return value
    quotient, remainder = divmod(value, 10**exponent)
    half = 5 * 10 ** (exponent - 1)
    if remainder > half or (remainder == half and quotient % 2 == 1):
        quotient += 1
    return quotient


def _round_half_even_array(values: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    divisor = 10**exponents
    quotient, remainder = np.divmod(values, divisor)
    twice = remainder * 2
    round_up = (twice > divisor) | ((twice == divisor) & (quotient % 2 == 1) & (exponents > 0))
    return quotient + round_up


def _integer_amounts(amounts: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(amounts.dtype):
        return pd.Series(pd.NA, index=amounts.index, dtype="Int64")
    numbers = amounts
    if not pd.api.types.is_integer_dtype(amounts.dtype):
        booleans = amounts.map(type).isin([bool, np.bool_])
        numbers = pd.to_numeric(amounts.mask(booleans), errors="coerce")
    if pd.api.types.is_integer_dtype(numbers.dtype):
        values = numbers.astype("Int64")
        # -2**63 is left out, so abs() and negation never overflow.
        return values.mask(values == _INT64_MIN)
    floats = numbers.astype("float64")
    # A float from 2**63 up cannot become an int64.
    whole = numbers.notna() & (floats == np.floor(floats)) & (floats.abs() < 2.0**63)
    return numbers.where(whole).astype("Int64")
