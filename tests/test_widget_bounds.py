"""Widget files past every bound are refused with file and JSON path, never with a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.config import PROJECT_ROOT
from lib.widgets import WidgetDefinitionError, load_widget_file, resolve_time_tokens
from lib.widgets.bounded_json import MAX_TEXT_CHARS
from lib.widgets.loader import parse_widget_data, parse_widget_text

SEED = PROJECT_ROOT / "widgets" / "stripe-payments.json"


def _seed() -> dict[str, Any]:
    return json.loads(SEED.read_text())


def _problems_of_text(text: str) -> list[str]:
    with pytest.raises(WidgetDefinitionError) as caught:
        parse_widget_text(text, "w.json")
    return [line.removeprefix("w.json: ") for line in str(caught.value).splitlines()]


def _static(data: str) -> str:
    definition = _seed()
    definition["dataSource"] = {"type": "static", "data": "PLACEHOLDER"}
    return json.dumps(definition).replace('"PLACEHOLDER"', data)


@pytest.mark.parametrize(
    ("literal", "shown"),
    [
        ("9" * 5000, "999999999999... (5,000 characters)"),
        ("-" + "1" * 41, "-11111111111... (42 characters)"),
        ("9223372036854775808", "9223372036854775808"),
        ("1e999", "1e999"),
        ("-1e400", "-1e400"),
        ("0." + "1" * 60, "0.1111111111... (62 characters)"),
    ],
)
def test_numbers_out_of_range_are_named_with_their_path(literal: str, shown: str) -> None:
    problems = _problems_of_text(_static('{"data": [{"amount": 1}, {"amount": ' + literal + "}]}"))
    assert problems == [
        f"dataSource.data.data[1].amount: number {shown} is out of range; use a finite number "
        "of at most 40 characters (whole numbers within ±9,223,372,036,854,775,807)"
    ]


def test_numbers_within_range_still_load() -> None:
    text = _static('{"data": [{"amount": 9223372036854775807, "rate": 1.5e300, "n": -7}]}')
    definition = parse_widget_text(text)
    assert definition.data_source.data == {
        "data": [{"amount": 9223372036854775807, "rate": 1.5e300, "n": -7}]
    }


def test_nesting_is_bounded_with_the_path_to_the_deepest_allowed_level() -> None:
    inner = '{"k": ' * 70 + "1" + "}" * 70
    problems = _problems_of_text(_static('{"data": [0, ' + inner + "]}"))
    # dataSource, data, data, [1] are 4 levels; 60 levels of "k" make 64.
    assert problems == [
        "dataSource.data.data[1]" + ".k" * 60 + ": nested more than 64 levels deep; "
        "flatten this value"
    ]
    assert parse_widget_text(_static('{"data": [' + "[" * 50 + "]" * 50 + "]}"))


def test_already_parsed_data_is_bounded_too() -> None:
    deep: Any = 1
    for _ in range(10_000):
        deep = [deep]
    definition = _seed()
    definition["dataSource"] = {"type": "static", "data": {"data": deep}}
    with pytest.raises(WidgetDefinitionError) as caught:
        parse_widget_data(definition, "w.json")
    assert str(caught.value).startswith("w.json: dataSource.data.data[0][0]")
    definition["dataSource"]["data"] = {"data": [2**70]}
    with pytest.raises(WidgetDefinitionError, match=r"data\[0\]: number is out of range"):
        parse_widget_data(definition, "w.json")


def test_a_file_past_the_size_limit_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    file = tmp_path / "big.json"
    file.write_text('{"description": "' + "x" * MAX_TEXT_CHARS + '"}')
    with pytest.raises(WidgetDefinitionError) as caught:
        load_widget_file(file)
    assert str(caught.value) == f"{file}: file too large: more than 524,288 bytes"
    assert _problems_of_text(" " * (MAX_TEXT_CHARS + 1)) == [
        "too large: more than 524,288 characters"
    ]


@pytest.mark.parametrize(
    ("token", "allowed"),
    [
        ("@now-36500d", True),
        ("@now-876000h", True),
        ("@now-36501d", False),
        ("@now-999999d", False),
        ("@now-876001h", False),
        ("@today-999999d", False),
    ],
)
def test_time_tokens_are_bounded_at_100_years(token: str, allowed: bool) -> None:
    definition = _seed()
    definition["transform"]["filter"][0] = {"field": "created", "operator": ">=", "value": token}
    if allowed:
        loaded = parse_widget_data(definition)
        now = datetime(2026, 11, 27, tzinfo=UTC)
        assert isinstance(resolve_time_tokens(loaded.transform.filter[0].value, now), int)
        return
    with pytest.raises(WidgetDefinitionError) as caught:
        parse_widget_data(definition, "w.json")
    assert str(caught.value) == (
        f"w.json: transform.filter[0].value: time token {token!r} reaches back more than "
        "36,500 days (100 years); use a smaller number"
    )


JSON_PIECES = st.sampled_from(
    ["[", "]", "{", "}", '"', "\\", ":", ",", "1", "9" * 50, "e999", "-", ".", '"k"', "null"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(JSON_PIECES, max_size=200),
    repeat=st.integers(1, 2000),
    position=st.integers(0, 200),
)
def test_any_text_is_a_definition_or_a_widget_definition_error(
    pieces: list[str], repeat: int, position: int
) -> None:
    # One piece repeated many times reaches deep nesting, long numbers and runs of quotes.
    if pieces:
        index = position % len(pieces)
        pieces[index] = pieces[index] * repeat
    text = _static("".join(pieces))
    try:
        parse_widget_text(text, "w.json")
    except WidgetDefinitionError as exc:
        assert str(exc).startswith("w.json: ")
