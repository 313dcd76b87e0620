"""Fuzzing the Charges page with generated hostile links: long values, huge numbers, non-ASCII
digits, markdown and control characters, on every query parameter and on unknown ones.

Whatever the link, the page renders without an exception, still lists the charges, and names
every value it ignored in its warning. (Time is measured in `bench/bench_hostile_query.py`.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from lib.config import PROJECT_ROOT
from lib.finance.filters import has_control_characters
from lib.store import get_engine
from lib.sync import write_objects
from tests.apptest_support import shown_text
from tests.markdown_links import link_targets
from tests.mirror_support import record_synced
from tests.test_charges_link_bounds import ACCOUNT, IGNORED, charge

PAGE = str(PROJECT_ROOT / "app_pages" / "charges.py")
CHOICE_KEYS = ("range", "refunded", "disputed", "sort", "dir", "from", "to", "page")
LIST_KEYS = ("status", "currency", "brand")
AMOUNT_KEYS = ("min", "max")
TEXT_KEYS = ("q", "customer")

MARKDOWN = st.sampled_from(
    [
        "`[Your session expired - sign in again](https://evil.example/login)`",
        "![beacon](https://evil.example/t.png)",
        "<img src=x onerror=alert(1)>",
        "**bold** _it_ ~~gone~~ $x^2$",
        ":red[alarm] :material/warning:",
        "# Heading",
        "| a | b |",
        "[x](javascript:alert(1))",
        "https://evil.example/path",
    ]
)
UNICODE_DIGITS = st.text(alphabet="²³¹١٢٣۴५०๓", min_size=1, max_size=12)
CONTROL = st.builds(
    lambda head, control, tail: head + control + tail,
    st.text(alphabet="abc", max_size=5),
    st.sampled_from(["\x00", "\n", "\r", "\t", "\x1b[31m", "\x7f", "\u0085"]),
    st.text(alphabet="abc", max_size=5),
)
HUGE_NUMBER = st.one_of(
    st.integers(16, 400).map(lambda digits: "9" * digits),
    st.integers(5, 999_999_999).map(lambda exponent: f"1e+{exponent}"),
    st.sampled_from(["1e999990", "-1", "NaN", "Infinity", "0x10", "1.0000001"]),
)
LONG = st.builds(lambda char, size: char * size, st.sampled_from("x9%_`"), st.integers(201, 20_000))
# Each hostile value has something no filter accepts: a markdown or non-ASCII character, a
# control character, too many characters, or a number out of bounds.
POISON = st.one_of(MARKDOWN, UNICODE_DIGITS, CONTROL, LONG)


def bad_values(key: str) -> st.SearchStrategy[str]:
    """Values that `key` must refuse (list values have no comma: one item each)."""
    if key in TEXT_KEYS:
        return st.one_of(CONTROL, LONG)
    if key in AMOUNT_KEYS or key == "page":
        return st.one_of(POISON, HUGE_NUMBER)
    if key in LIST_KEYS:
        return POISON.filter(lambda value: "," not in value and value.strip() != "")
    return POISON


HOSTILE_LINKS = st.lists(
    st.sampled_from((*CHOICE_KEYS, *LIST_KEYS, *AMOUNT_KEYS, *TEXT_KEYS, "colour", "utm_source")),
    min_size=1,
    max_size=5,
    unique=True,
).flatmap(
    lambda keys: st.fixed_dictionaries({key: bad_values(key) for key in keys}),
)


def visible(text: str) -> str:
    """How the warning writes a value: characters that do not print as \\uXXXX."""
    return "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)


@pytest.fixture
def mirror() -> None:
    charges = [charge("ch_usd", 1999, "usd"), charge("ch_jpy", 1500, "jpy")]
    with get_engine().begin() as connection:
        write_objects(connection, ACCOUNT, "charges", charges, int(datetime.now(UTC).timestamp()))
        record_synced(connection, ACCOUNT)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(link=HOSTILE_LINKS)
@example(link={"status": "\na"})  # a list value with a control character is refused whole
def test_any_hostile_link_renders_the_page_and_names_every_ignored_value(
    mirror: None, link: dict[str, str]
) -> None:
    at = AppTest.from_file(PAGE, default_timeout=30)
    for key, value in link.items():
        at.query_params[key] = value
    at.run()

    assert not at.exception
    assert sorted(at.dataframe[1].value["id"]) == ["ch_jpy", "ch_usd"]
    warned = "\n".join(text for text in shown_text(at) if IGNORED in text)
    for key, value in link.items():
        # A list item is named trimmed, unless a control character got the whole value refused.
        listed = key in LIST_KEYS and not has_control_characters(value)
        shown = value.strip().lower() if listed else value
        assert f"{key}={visible(shown[:20])}" in warned, (key, value)
    for warning in at.warning:
        # Nothing in a warning can become a link, image, autolink or HTML tag.
        assert link_targets(warning.value) == [], warning.value
