"""Stripe's enum values (`past_due`, `PAST_DUE`, `succeeded`) as the words people read."""

from __future__ import annotations

import re

import pandas as pd

# One identifier in a single case: lower (Stripe's own) or upper (a constant's name).
_ENUM = re.compile(r"^(?:[a-z][a-z0-9]*(?:_[a-z0-9]+)*|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)$")


def enum_words(value: str) -> str:
    """`past_due` and `PAST_DUE` -> 'Past due', `succeeded` -> 'Succeeded'; any other text
    (already words, mixed case, spaces, punctuation) is returned unchanged."""
    if not _ENUM.match(value):
        return value
    words = value.replace("_", " ").lower()
    return words[:1].upper() + words[1:]


def enum_words_series(values: pd.Series) -> pd.Series:
    """`enum_words` of each text; other values unchanged."""
    return values.map(lambda value: enum_words(value) if isinstance(value, str) else value)
