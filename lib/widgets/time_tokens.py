"""Time tokens in widget parameters: '@now', '@today' and '@now-<number><m|h|d>'."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")

_TIME_TOKEN = re.compile(r"@(now|today)(?:-(\d{1,6})([mhd]))?")
_TIME_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
# How far back a time token may reach; further would leave the range datetimes can hold.
MAX_TIME_TOKEN_DAYS = 36_500


def is_time_token_like(value: Any) -> bool:
    """True for strings that are meant as time tokens (they start with '@now' or '@today')."""
    return isinstance(value, str) and value.startswith(("@now", "@today"))


def time_token_problem(value: str) -> str | None:
    """What is wrong with a string meant as a time token (see `is_time_token_like`), or None."""
    match = _TIME_TOKEN.fullmatch(value)
    if match is None:
        return (
            f"invalid time token {value[:40]!r}; use @now, @today, or @now-<number><m|h|d> "
            "such as @now-24h, @now-7d, @now-30m"
        )
    if match.group(2) and int(match.group(2)) * _TIME_UNITS[match.group(3)] > timedelta(
        days=MAX_TIME_TOKEN_DAYS
    ):
        return (
            f"time token {value!r} reaches back more than {MAX_TIME_TOKEN_DAYS:,} days "
            "(100 years); use a smaller number"
        )
    return None


def resolve_time_tokens(value: T, now: datetime) -> T:
    """Replace time tokens with unix seconds: '@now', '@today' (00:00 UTC), '@now-24h', '@now-7d'.

    Lists and dicts are resolved recursively; everything else is returned unchanged. A naive
    `now` is taken as UTC.
    """
    if isinstance(value, list):
        return [resolve_time_tokens(item, now) for item in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {key: resolve_time_tokens(item, now) for key, item in value.items()}  # type: ignore[return-value]
    if not isinstance(value, str):
        return value
    match = _TIME_TOKEN.fullmatch(value)
    if match is None:
        return value
    moment = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    if match.group(1) == "today":
        moment = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if match.group(2):
        moment -= int(match.group(2)) * _TIME_UNITS[match.group(3)]
    return int(moment.timestamp())  # type: ignore[return-value]
