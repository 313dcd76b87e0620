"""Dates and times as the app shows them: one absolute format, in the viewer's time zone, with
the zone named ("Nov 27, 2026, 14:05 UTC"), and the relative time ("3 minutes ago") beside it.

No Streamlit here: pages pass the zone the browser reports (`st.context.timezone`), which is
checked before use, so an unknown or hostile zone name falls back to UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_skeleton, format_timedelta, get_datetime_format

DEFAULT_LOCALE = "en_US"
MAX_ZONE_NAME = 64
# IANA names are ASCII words joined by "/" ("America/Argentina/Buenos_Aires", "Etc/GMT+5"); no
# dots, so a name can never climb out of the zoneinfo directory.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,3}")
_ABBREVIATION = re.compile(r"[A-Z]{2,5}")


def viewer_zone(name: object) -> tzinfo:
    """The time zone called `name` (an IANA name such as "Europe/Berlin"), or UTC when `name`
    is missing, too long, malformed or unknown to this machine."""
    if not isinstance(name, str) or len(name) > MAX_ZONE_NAME or not _ZONE_NAME.fullmatch(name):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return UTC


def format_datetime(
    at: datetime,
    zone: tzinfo = UTC,
    *,
    seconds: bool = False,
    locale: str = DEFAULT_LOCALE,
) -> str:
    """`at` in `zone` as date, 24-hour time and zone: "Nov 27, 2026, 14:05 UTC" (en_US), with
    seconds when asked ("14:05:07", for event logs). A naive `at` is taken as UTC, the store's
    convention. The zone is its abbreviation when it has one ("CET", "EST"), else its offset
    from UTC ("UTC+04:00")."""
    local = (at.replace(tzinfo=UTC) if at.tzinfo is None else at).astimezone(zone)
    date = format_skeleton("yMMMd", local, locale=locale)
    clock = format_skeleton("Hms" if seconds else "Hm", local, locale=locale)
    pattern = get_datetime_format("medium", locale=locale)
    return f"{pattern.replace('{1}', date).replace('{0}', clock)} {zone_label(local)}"


def zone_label(local: datetime) -> str:
    """The zone of an aware datetime as shown after a time: "UTC", "CET", or "UTC+05:45"."""
    offset = local.utcoffset()
    if offset is None or not offset:
        return "UTC"
    name = local.tzname() or ""
    if _ABBREVIATION.fullmatch(name):
        return name
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def format_relative(at: datetime, now: datetime, *, locale: str = DEFAULT_LOCALE) -> str:
    """How long before (or after) `now` the moment `at` is, in words: "3 minutes ago"."""
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    now_aware = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    return format_timedelta(aware - now_aware, add_direction=True, threshold=1.0, locale=locale)
