"""Style conditions: a tiny language that is parsed, never executed as Python."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.widgets.conditions import ConditionSyntaxError, parse_condition

ROWS: list[dict[str, Any]] = [
    {"status": "succeeded", "amount": 5000, "refunded": False, "card": {"brand": "visa"}},
    {"status": "failed", "amount": None, "refunded": True, "card": None},
    {"status": None, "amount": 10, "refunded": None, "card": {"brand": "amex"}},
    {"status": "pending", "amount": 2.5, "refunded": False, "card": "card_1"},
]


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS)
    frame["status"] = frame["status"].astype("str")
    return frame


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status === 'succeeded'", [True, False, False, False]),
        ('status == "failed"', [False, True, False, False]),
        ("status !== 'succeeded'", [False, True, True, True]),
        ("amount > 1000", [True, False, False, False]),
        ("amount >= 10 && amount <= 5000", [True, False, True, False]),
        ("amount < 3", [False, False, False, True]),
        ("amount != 10", [True, True, False, True]),
        ("amount == null", [False, True, False, False]),
        ("status != null", [True, True, False, True]),
        ("!refunded", [True, False, True, True]),
        ("refunded === true", [False, True, False, False]),
        ("status === 'failed' || amount < 20", [False, True, True, True]),
        ("!(status === 'succeeded' || status === 'pending')", [False, True, True, False]),
        ("card.brand === 'amex'", [False, False, True, False]),
        ("missing_field == null", [True, True, True, True]),
        ("missing_field === 'x'", [False, False, False, False]),
        ("amount > '100'", [False, False, False, False]),
        ("status > 'p'", [True, False, False, True]),
        ("amount", [True, False, True, True]),
        ("-1 < 0", [True, True, True, True]),
    ],
)
def test_evaluation_per_row_and_per_frame(text: str, expected: list[bool]) -> None:
    condition = parse_condition(text)
    assert [condition.evaluate_row(row) for row in ROWS] == expected
    assert condition.evaluate_frame(_frame()).tolist() == expected


def test_fields_lists_the_names_read() -> None:
    condition = parse_condition("status === 'failed' && (amount > 10 || card.brand == status)")
    assert condition.fields == ("status", "amount", "card.brand")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("status = 'x'", "unexpected '=', did you mean '===' or '=='? at character 8"),
        ("status === 'x", "unterminated string starting with ' at character 12"),
        (
            "status ===",
            "expected a value, a field name or '(', found end of condition at character 11",
        ),
        (
            "(a == 1",
            "expected ')' to close the '(' at character 1, found end of condition at character 8",
        ),
        ("a < b < c", "comparisons cannot be chained; join them with '&&' at character 7"),
        ("a & b", "unexpected '&', did you mean '&&'? at character 3"),
        ("a b", "unexpected 'b'; expected '&&', '||', a comparison or the end at character 3"),
        ("f(x)", "unexpected '('; expected '&&', '||', a comparison or the end at character 2"),
        ("a + 1", "unexpected character '+' at character 3"),
        ("", "empty condition at character 1"),
        ("(" * 100 + "a" + ")" * 100, "nested more than 64 levels deep at character 65"),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse_condition(text)
    assert str(caught.value) == message


def test_python_code_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    attacks = [
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w')",
        "().__class__.__bases__[0].__subclasses__()",
        "lambda: 1",
        "status if 1 else 2",
    ]
    for attack in attacks:
        with pytest.raises(ConditionSyntaxError):
            parse_condition(attack)
    assert not marker.exists()


def test_dunder_paths_are_plain_field_lookups() -> None:
    condition = parse_condition("status.__class__ == null")
    assert condition.evaluate_row({"status": "x"}) is True
    assert condition.evaluate_frame(_frame()).tolist() == [True, True, True, True]


_LANGUAGE_TOKENS = [
    "===", "!==", "==", "!=", ">", "<", ">=", "<=", "&&", "||", "!", "(", ")",
    "'a'", '"b"', "'", '"', "1", "-2.5", "0", "true", "false", "null",
    "status", "amount", "card.brand", ".", "=", "&", "|", "__import__", "eval", "[", "]", "\\",
]  # fmt: skip


def _parse_or_syntax_error(text: str) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the condition language must never call eval/exec/compile")

    with (
        mock.patch.object(builtins, "eval", forbidden),
        mock.patch.object(builtins, "exec", forbidden),
        mock.patch.object(builtins, "compile", forbidden),
    ):
        try:
            condition = parse_condition(text)
        except ConditionSyntaxError as error:
            assert error.position >= 1
            return
        row_results = [condition.evaluate_row(row) for row in ROWS]
    assert all(isinstance(result, bool) for result in row_results)
    assert condition.evaluate_frame(_frame()).tolist() == row_results


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_text_parses_or_raises_syntax_error(text: str) -> None:
    _parse_or_syntax_error(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_LANGUAGE_TOKENS), max_size=14),
    st.sampled_from([" ", ""]),
)
def test_token_soup_parses_or_raises_syntax_error(tokens: list[str], separator: str) -> None:
    _parse_or_syntax_error(separator.join(tokens))
