"""One absolute date-time format across the app, in the viewer's time zone, zone stated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lib.dates import format_datetime, format_relative, viewer_zone

MOMENT = datetime(2026, 11, 27, 14, 5, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        (None, "Nov 27, 2026, 14:05 UTC"),
        ("UTC", "Nov 27, 2026, 14:05 UTC"),
        ("Europe/Berlin", "Nov 27, 2026, 15:05 CET"),
        ("America/New_York", "Nov 27, 2026, 09:05 EST"),
        ("Asia/Kathmandu", "Nov 27, 2026, 19:50 UTC+05:45"),
        ("Pacific/Auckland", "Nov 28, 2026, 03:05 NZDT"),
    ],
)
def test_a_moment_is_shown_in_the_viewers_zone_with_the_zone_named(
    zone: str | None, shown: str
) -> None:
    assert format_datetime(MOMENT, viewer_zone(zone)) == shown


def test_seconds_are_shown_when_asked_and_a_naive_time_is_utc() -> None:
    naive = MOMENT.replace(tzinfo=None)

    assert format_datetime(naive, seconds=True) == "Nov 27, 2026, 14:05:07 UTC"


def test_the_locale_orders_and_names_the_date_its_own_way() -> None:
    assert format_datetime(MOMENT, locale="de_DE") == "27. Nov. 2026, 14:05 UTC"


@pytest.mark.parametrize(
    "name",
    ["../../../etc/passwd", "Nowhere/Atlantis", "", "x" * 200, "Europe/Berlin\n", 42, "/etc/x"],
)
def test_an_unknown_or_hostile_zone_name_falls_back_to_utc(name: object) -> None:
    assert format_datetime(MOMENT, viewer_zone(name)) == "Nov 27, 2026, 14:05 UTC"


def test_the_relative_time_reads_as_words() -> None:
    assert format_relative(MOMENT - timedelta(minutes=3), MOMENT) == "3 minutes ago"
    assert format_relative(MOMENT + timedelta(hours=2), MOMENT) == "in 2 hours"
